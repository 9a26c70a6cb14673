"""Sharded sampling: databases larger than memory, generated shard by shard over workers.

:meth:`GRDMSynthesizer.sample_sharded <grdm_sdv.synthesizer.GRDMSynthesizer.sample_sharded>`
is the entry point; :mod:`.plan` cuts a sampled structure into stages and shards,
:mod:`.keys` computes primary keys by row position, :mod:`.store` writes part files, commit
markers and the manifest, and :func:`read_sharded` reads a finished sample back.
"""

from .plan import ShardPlan, plan_shards, stages, tree_keys
from .store import ShardStore, read_sharded

__all__ = ['ShardPlan', 'ShardStore', 'plan_shards', 'read_sharded', 'stages', 'tree_keys']
