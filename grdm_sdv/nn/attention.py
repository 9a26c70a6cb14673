"""Attention over a row's neighbours: :class:`HeteroAttentionLayer` (``aggregation='attention'``).

The mean of :class:`~grdm_sdv.nn.hetero.HeteroSAGELayer` weighs every neighbour alike; here
each destination weighs its neighbours along one edge type by a softmax over scaled dot
products of its own query and their keys, per head (the transformer's attention, as PyG's
``TransformerConv``). The queries start at zero, so a fresh layer is the mean layer. A row
with one neighbour along a key (a child hearing its parent) gets the same message either
way: attention matters where a row hears many (a parent its children, a link table's rows).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data.graph import EdgeType
from .hetero import HeteroSAGELayer, _key


class HeteroAttentionLayer(HeteroSAGELayer):
    """:class:`HeteroSAGELayer` with a per-destination softmax attention instead of the mean.

    Args:
        node_types: node type ids.
        edge_types: edge types ``(src, rel, dst)``.
        hidden: hidden width.
        heads: attention heads (``hidden`` must divide by it). (default: ``4``)
    """

    def __init__(self, node_types: list[str], edge_types: list[EdgeType], hidden: int,
                 heads: int = 4) -> None:
        super().__init__(node_types, edge_types, hidden)
        if hidden % heads:
            raise ValueError(f'hidden width {hidden} does not divide into {heads} heads')
        self.heads = heads
        self.key = nn.ModuleDict({_key(et): nn.Linear(hidden, hidden, bias=False) for et in edge_types})
        self.query = nn.ModuleDict({_key(et): nn.Linear(hidden, hidden, bias=False) for et in edge_types})
        for q in self.query.values():
            nn.init.zeros_(q.weight)  # equal weights at the start: the mean layer

    def sources(self, et: EdgeType, h_src: torch.Tensor, n_dst: int) -> torch.Tensor:
        """Every source's projected state (the value) and key, side by side: the weights
        differ per head, so the projection no longer commutes with the aggregation."""
        k = _key(et)
        return torch.cat([nn.functional.linear(h_src, self.lin[k].weight), self.key[k](h_src)], 1)

    def aggregate(self, et: EdgeType, messages: torch.Tensor, deg: torch.Tensor,
                  projected: bool, h_dst: torch.Tensor) -> torch.Tensor:
        """Per destination and head: the softmax-weighted sum of its ``deg`` values."""
        n, heads, d = len(deg), self.heads, self.hidden // self.heads
        value, key = messages.split(self.hidden, 1)
        dst = torch.repeat_interleave(torch.arange(n, device=deg.device), deg,
                                      output_size=len(messages))
        query = self.query[_key(et)](h_dst)
        score = (query.index_select(0, dst) * key).view(-1, heads, d).sum(-1) / math.sqrt(d)
        index = dst[:, None].expand(-1, heads)
        top = score.new_full((n, heads), -torch.inf).scatter_reduce_(0, index, score, 'amax')
        weight = (score - top.index_select(0, dst)).exp()
        total = weight.new_zeros(n, heads).index_add_(0, dst, weight)
        weight = weight / total.index_select(0, dst)
        out = value.new_zeros(n, self.hidden).index_add_(
            0, dst, (value.view(-1, heads, d) * weight[..., None]).view(-1, self.hidden))
        return out + self.lin[_key(et)].bias


__all__ = ['HeteroAttentionLayer']
