"""Neighbourhoods: K-hop subgraph batches for training (``neighbors``) and the per-step
neighbour cap of full-graph sampling (``csr``), one rule for both."""
