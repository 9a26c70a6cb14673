"""The one message-passing layer of the model (PyG's message/aggregate/update split).

:class:`HeteroSAGELayer`: training (K-hop subgraph batches) and full-graph sampling (row
chunk by row chunk) both call it, on edges held as a CSR sorted by destination
(:func:`grdm_sdv.sampling.csr.csr_by_destination`), so the two paths cannot drift apart.
:meth:`~HeteroSAGELayer.message` gathers the sources' states, projected;
:meth:`~HeteroSAGELayer.aggregate` takes the mean per destination and edge type, summed
over edge types as ``HeteroConv(aggr='sum')``; :meth:`~HeteroSAGELayer.update` applies
the root weight, the time FiLM and the residual feed-forward block.

A new aggregation goes in :meth:`~HeteroSAGELayer.aggregate` (or a subclass overriding it).
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.graph import EdgeType
from ..sampling.csr import CSR
from .layers import FeedForward, TimeRows, chunked


class HeteroSAGELayer(nn.Module):
    """One heterogeneous GraphSAGE layer with a time FiLM and a residual feed-forward block.

    For destination rows ``i`` of node type ``k``:
    ``h_i' = h_i + FF_k(W_k h_i + FiLM(t_i) + sum_r AGG_{j in N_r(i)} W_r h_j)``.

    Mean aggregation, as GraphSAGE: a sum (the GRDM reference code's choice), a
    mean-and-spread aggregation (PNA-style) and a softmax attention per destination
    (``TransformerConv``-style, after 0.2.26) were measured and lost (``docs/fidelity.md``).

    Args:
        node_types: node type ids.
        edge_types: edge types ``(src, rel, dst)``.
        hidden: hidden width.

    Shapes: ``h`` node type -> ``(n, hidden)``; ``csr`` edge type -> ``(rowptr (n_dst + 1,),
    src (E,))``; ``time`` node type -> :class:`TimeRows`.
    """

    def __init__(self, node_types: list[str], edge_types: list[EdgeType], hidden: int) -> None:
        super().__init__()
        self.node_types, self.edge_types = list(node_types), list(edge_types)
        self.hidden = hidden
        self.lin = nn.ModuleDict({_key(et): nn.Linear(hidden, hidden) for et in edge_types})
        # The root weight; it also keeps tables without relationships in the network.
        self.root = nn.ModuleDict({t: nn.Linear(hidden, hidden) for t in node_types})
        self.ff = nn.ModuleDict({t: FeedForward(hidden) for t in node_types})
        self.film = nn.Linear(hidden, hidden)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tables={len(self.node_types)}, '
                f'edge_types={len(self.edge_types)}, hidden={self.hidden})')

    def message(self, et: EdgeType, x_src: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """The states of the sources of each edge (``x_src`` already projected or not)."""
        return x_src.index_select(0, src)

    def aggregate(self, et: EdgeType, messages: torch.Tensor, deg: torch.Tensor,
                  projected: bool) -> torch.Tensor:
        """Per destination: the mean of its ``deg`` messages (edges sorted by destination), projected."""
        n = len(deg)
        dst = torch.repeat_interleave(torch.arange(n, device=deg.device), deg,
                                      output_size=len(messages))
        total = messages.new_zeros(n, messages.size(1)).index_add_(0, dst, messages)
        out = total / deg.clamp(min=1).to(total.dtype)[:, None]
        lin = self.lin[_key(et)]
        if not projected:
            out = nn.functional.linear(out, lin.weight)
        return out + lin.bias

    def update(self, k: str, h: torch.Tensor, agg: torch.Tensor | None, film: torch.Tensor,
               compiled=None) -> torch.Tensor:
        """Residual update of node type ``k``'s rows (``film``: their projected times)."""
        z = self.root[k](h) + film
        if agg is not None:
            z = z + agg
        return h + self.ff[k](z, compiled)

    def forward(
        self,
        h: dict[str, torch.Tensor],
        csr: dict[EdgeType, CSR],
        time: dict[str, TimeRows],
        n_out: dict[str, int] | None = None,
        chunk_size: int | None = None,
        compiled=None,
    ) -> dict[str, torch.Tensor]:
        """Update the first ``n_out[k]`` rows of every node type of ``h`` (all rows by default).

        ``chunk_size`` destination rows are updated at a time (all at once by default):
        sampling's full-graph pass then holds two ``(rows, hidden)`` buffers per table
        instead of every intermediate of every row.
        """
        if not h:  # no table wanted (a sampling step that moves none)
            return {}
        dev = next(iter(h.values())).device
        n = {k: len(v) for k, v in h.items()}
        n_out = n if n_out is None else n_out
        into = {k: [et for et in self.edge_types
                    if et[2] == k and et in csr and len(csr[et][1]) and n.get(et[0]) and n_out[k]]
                for k in self.node_types if k in h}
        chunk = chunk_size or max(1, max(n_out.values(), default=1))
        # Project the smaller side first (the projection commutes with the mean):
        # parent rows before their gather to many children; a child -> parent mean after.
        proj = {et: nn.functional.linear(h[et[0]], self.lin[_key(et)].weight)
                for ets in into.values() for et in ets if n[et[0]] < n_out[et[2]]}
        # Edge ranges of each chunk, read from the device once per call, not once per chunk.
        bounds = {et: csr[et][0][torch.arange(0, n_out[et[2]] + chunk, chunk, device=dev)
                                 .clamp_(max=n_out[et[2]])].tolist()
                  for ets in into.values() for et in ets}
        film = {k: self.film(v.emb) for k, v in time.items()}
        new = {}
        for k in into:  # the node types of ``h``, in model order
            def update(a: int, b: int, k: str = k) -> torch.Tensor:
                agg = None
                for et in into[k]:
                    rowptr, src = csr[et]
                    e0, e1 = bounds[et][a // chunk], bounds[et][a // chunk + 1]
                    x = proj.get(et, h[et[0]])
                    m = self.aggregate(et, self.message(et, x, src[e0:e1]),
                                       rowptr[a + 1:b + 1] - rowptr[a:b], et in proj)
                    agg = m if agg is None else agg + m
                return self.update(k, h[k][a:b], agg, time[k].gather(film[k], a, b), compiled)

            new[k] = chunked(n_out[k], self.hidden, chunk, dev, update)
        return new


def _key(edge_type: EdgeType) -> str:
    return '__'.join(edge_type)


__all__ = ['HeteroSAGELayer']
