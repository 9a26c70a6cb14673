"""K-hop subgraph batches for training, vectorized in torch (no per-node Python loops).

PyG's ``NeighborLoader`` needs pyg-lib or torch-sparse, which are not always installable, so
this module carries its own sampler. It samples *disjoint* subgraphs: every seed node gets
its own copy of its K-hop neighbourhood (as ``NeighborLoader(disjoint=True)``), so each
subgraph can be noised at its own diffusion time, exactly as one training example of GRDM.

Nodes are identified by ``(batch id, node id)``; the layout of a batch is: for each node type,
``node_ids`` (global row index), ``batch`` (seed index), and a local ``edge_index`` per edge
type. Seeds come first in their node type, in the order given.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data.graph import EdgeType
from .csr import CSR, csr_by_destination


@dataclass
class SubgraphBatch:
    """Disjoint K-hop subgraphs around a set of seed nodes.

    Attributes:
        node_ids: node type -> global row index of each sampled node.
        batch: node type -> index of the seed whose subgraph the node belongs to.
        edge_index: edge type -> local ``2 x E`` edges (source, destination).
        num_seeds: node type -> number of seed nodes (the first rows of that type).
        hop_ptr: node type -> ``K + 2`` offsets: rows ``hop_ptr[h]:hop_ptr[h + 1]`` are the
            nodes first reached at hop ``h`` (rows are ordered by hop), so layer ``l`` of a
            K-layer network only has to update the first ``hop_ptr[K - l]`` rows.
    """

    node_ids: dict[str, torch.Tensor]
    batch: dict[str, torch.Tensor]
    edge_index: dict[EdgeType, torch.Tensor]
    num_seeds: dict[str, int]
    hop_ptr: dict[str, list[int]]


def _first_occurrences(key: torch.Tensor) -> torch.Tensor:
    """Mask of the first occurrence of each value of ``key`` (the order of ``key`` kept)."""
    uniq, inv = torch.unique(key, return_inverse=True)
    first = torch.full((len(uniq),), len(key), dtype=torch.long, device=key.device)
    first.scatter_reduce_(0, inv, torch.arange(len(key), device=key.device), reduce='amin')
    mask = torch.zeros(len(key), dtype=torch.bool, device=key.device)
    mask[first] = True
    return mask


class NeighborSampler:
    """Uniform K-hop neighbour sampler over a heterogeneous graph held as CSR.

    Args:
        num_nodes: node type -> number of nodes.
        edge_index: edge type -> global ``2 x E`` edge index (source, destination).
        num_hops: K, the number of message-passing layers of the denoiser.
        fanout: neighbours per node and edge type at each hop: all of them when a node has
            at most ``fanout``, else ``fanout`` uniform draws with replacement, repeats kept
            (the rule full-graph sampling applies at every reverse step). Every node of a
            subgraph is expanded once, however often it is reached, so each row but the last
            hop's hears exactly as many neighbours as at sampling. (default: ``10``)
    """

    def __init__(
        self,
        num_nodes: dict[str, int],
        edge_index: dict[EdgeType, torch.Tensor],
        num_hops: int,
        fanout: int = 10,
    ) -> None:
        self.num_nodes = dict(num_nodes)
        self.num_hops = int(num_hops)
        self.fanout = int(fanout)
        # CSR keyed by destination: messages flow src -> dst, so we expand from dst to src.
        self.csr: dict[EdgeType, CSR] = {
            et: csr_by_destination(ei, self.num_nodes[et[2]]) for et, ei in edge_index.items()}

    def to(self, device: torch.device) -> 'NeighborSampler':
        """Move the CSR arrays to ``device`` (batches are then built there)."""
        self.csr = {et: (r.to(device), c.to(device)) for et, (r, c) in self.csr.items()}
        return self

    def sample(
        self, seeds: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> SubgraphBatch:
        """Sample disjoint K-hop subgraphs around ``seeds`` (node type -> global ids).

        Seeds across all node types are numbered in the order of ``seeds``' keys: the
        ``i``-th seed overall has batch id ``i``.
        """
        device = next(iter(self.csr.values()))[0].device if self.csr else torch.device('cpu')
        nodes: dict[str, list[torch.Tensor]] = {t: [] for t in self.num_nodes}
        bids: dict[str, list[torch.Tensor]] = {t: [] for t in self.num_nodes}
        hops: dict[str, list[int]] = {t: [] for t in self.num_nodes}
        frontier: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        # (seed, node) keys already in each subgraph: a node is expanded once, however often
        # it is reached (as PyG's samplers). Reached again at a later hop, a seed met at hop 2
        # would take in-edges from hop 3, rows the trimmed layers have already dropped
        # (n_hops >= 3 failed); drawn twice within one hop (children drawn with
        # replacement), it would average 2 x fanout draws of its own neighbours where
        # full-graph sampling gives every row fanout.
        seen = {t: torch.zeros(0, dtype=torch.long, device=device) for t in self.num_nodes}
        offset = 0
        num_seeds = {t: 0 for t in self.num_nodes}
        for t, ids in seeds.items():
            ids = ids.to(device)
            b = torch.arange(offset, offset + len(ids), device=device)
            offset += len(ids)
            nodes[t].append(ids)
            bids[t].append(b)
            hops[t].append(0)
            frontier[t] = (ids, b)
            seen[t] = b * self.num_nodes[t] + ids
            num_seeds[t] = len(ids)
        raw_edges: dict[EdgeType, list[tuple[torch.Tensor, ...]]] = {et: [] for et in self.csr}
        for hop in range(1, self.num_hops + 1):
            nxt: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
            for et, (rowptr, col) in self.csr.items():
                src_t, _, dst_t = et
                if dst_t not in frontier or len(frontier[dst_t][0]) == 0:
                    continue
                f_nodes, f_b = frontier[dst_t]
                start = rowptr[f_nodes]
                deg = rowptr[f_nodes + 1] - start
                take = deg.clamp(max=self.fanout)
                rep = torch.repeat_interleave(torch.arange(len(f_nodes), device=device), take)
                if len(rep) == 0:
                    continue
                # Position of each taken neighbour inside its row: all of them when the
                # degree fits the fanout, else ``fanout`` uniform draws with replacement
                # (repeats kept, as at sampling).
                first = torch.cumsum(take, 0) - take
                pos = torch.arange(len(rep), device=device) - first[rep]
                big = deg[rep] > self.fanout
                if big.any():
                    r = torch.rand(int(big.sum()), generator=generator, device=device)
                    pos[big] = (r * deg[rep][big]).long()
                nb = col[start[rep] + pos]
                raw_edges[et].append((nb, f_nodes[rep], f_b[rep]))
                nxt.setdefault(src_t, []).append((nb, f_b[rep]))
            frontier = {t: (torch.cat([a for a, _ in v]), torch.cat([b for _, b in v]))
                        for t, v in nxt.items()}
            for t, (a, b) in frontier.items():
                nodes[t].append(a)
                bids[t].append(b)
                hops[t].append(hop)
            if hop < self.num_hops:  # the last hop's nodes are never expanded
                for t, (a, b) in list(frontier.items()):
                    key = b * self.num_nodes[t] + a
                    # The first meeting of a (seed, node) pair, in this hop or any before.
                    new = _first_occurrences(torch.cat([seen[t], key]))[len(seen[t]):]
                    frontier[t] = (a[new], b[new])
                    seen[t] = torch.cat([seen[t], key[new]])
        return self._relabel(nodes, bids, hops, raw_edges, num_seeds, device)

    def _relabel(self, nodes, bids, hops, raw_edges, num_seeds, device) -> SubgraphBatch:
        node_ids, batch, local, hop_ptr = {}, {}, {}, {}
        k_max = self.num_hops + 1
        for t in self.num_nodes:
            if not nodes[t]:
                node_ids[t] = torch.zeros(0, dtype=torch.long, device=device)
                batch[t] = torch.zeros(0, dtype=torch.long, device=device)
                local[t] = None
                hop_ptr[t] = [0] * (k_max + 1)
                continue
            n = self.num_nodes[t]
            key = torch.cat(nodes[t]) + torch.cat(bids[t]) * n
            hop = torch.cat([torch.full((len(a),), h, dtype=torch.long, device=device)
                             for a, h in zip(nodes[t], hops[t])])
            # Each (seed, node) pair once, at the first hop that reached it.
            comp = torch.unique(key * k_max + hop)
            uk = torch.div(comp, k_max, rounding_mode='floor')
            first = torch.ones(len(uk), dtype=torch.bool, device=device)
            first[1:] = uk[1:] != uk[:-1]
            uk, uh = uk[first], (comp % k_max)[first]
            k = num_seeds[t]
            # Seeds (hop 0) keep their given order; the rest follow ordered by hop.
            rest = uh > 0
            rk, rh = uk[rest], uh[rest]
            order = torch.argsort(rh * (int(uk.max()) + 1) + rk)
            all_key = torch.cat([key[:k], rk[order]])
            counts = torch.bincount(rh, minlength=k_max).tolist()
            ptr = [0, k]
            for h in range(1, k_max):
                ptr.append(ptr[-1] + counts[h])
            hop_ptr[t] = ptr
            sorted_key, perm = torch.sort(all_key)
            local[t] = (sorted_key, perm)
            node_ids[t] = all_key % n
            batch[t] = torch.div(all_key, n, rounding_mode='floor')
        edge_index = {}
        for et, parts in raw_edges.items():
            src_t, _, dst_t = et
            if not parts or local[src_t] is None or local[dst_t] is None:
                edge_index[et] = torch.zeros(2, 0, dtype=torch.long, device=device)
                continue
            nb = torch.cat([p[0] for p in parts])
            dn = torch.cat([p[1] for p in parts])
            b = torch.cat([p[2] for p in parts])
            s_key = b * self.num_nodes[src_t] + nb
            d_key = b * self.num_nodes[dst_t] + dn
            s_sorted, s_perm = local[src_t]
            d_sorted, d_perm = local[dst_t]
            s = s_perm[torch.searchsorted(s_sorted, s_key)]
            d = d_perm[torch.searchsorted(d_sorted, d_key)]
            # Repeated draws are kept, as full-graph sampling keeps them
            # (``sampling.csr.CappedNeighbours``): one neighbour rule for training and sampling.
            edge_index[et] = torch.stack([s, d])
        return SubgraphBatch(node_ids, batch, edge_index, num_seeds, hop_ptr)
