"""The denoiser's building blocks: the per-row feed-forward block and one hetero layer.

:class:`HeteroSAGELayer` is the one message-passing layer of the model. Training (K-hop
subgraph batches) and full-graph sampling (row chunk by row chunk) both call it, on edges
held as a CSR sorted by destination, so the two paths cannot drift apart. It follows PyG's
split: :meth:`~HeteroSAGELayer.message` (gather the sources' states, projected),
:meth:`~HeteroSAGELayer.aggregate` (the mean per destination and edge type, summed over
edge types as ``HeteroConv(aggr='sum')``) and
:meth:`~HeteroSAGELayer.update` (root weight, time FiLM, residual feed-forward block).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

EdgeType = tuple[str, str, str]
CSR = tuple[torch.Tensor, torch.Tensor]

def csr_by_destination(edge_index: torch.Tensor, n_dst: int) -> CSR:
    """``(rowptr, src)`` with the sources of destination ``i`` at ``src[rowptr[i]:rowptr[i+1]]``.

    Repeated edges are kept (a neighbour drawn twice counts twice, in training and sampling).
    """
    dst = edge_index[1]
    order = torch.argsort(dst, stable=True)
    rowptr = torch.zeros(n_dst + 1, dtype=torch.long, device=dst.device)
    rowptr[1:] = torch.cumsum(torch.bincount(dst, minlength=n_dst), 0)
    return rowptr, edge_index[0][order].contiguous()


def chunked(n: int, width: int, chunk: int, device, fn) -> torch.Tensor:
    """Fill an ``(n, width)`` tensor with ``fn(a, b)`` for consecutive row ranges of ``chunk`` rows."""
    if chunk >= n:
        return fn(0, n) if n else torch.zeros((0, width), device=device)
    out = None
    for a in range(0, n, chunk):
        part = fn(a, min(n, a + chunk))
        if out is None:
            out = torch.empty((n, part.size(1)), dtype=part.dtype, device=device)
        out[a:a + len(part)] = part
    return out


class TimeRows:
    """The time embedding of a node type's rows: distinct embeddings and each row's index.

    Rows share few distinct times (one per table in sampling, one per subgraph in
    training), so per-time work (the FiLM projections) is done once per distinct time and
    gathered. ``index=None``: every row has ``emb[0]``.
    """

    def __init__(self, emb: torch.Tensor, index: torch.Tensor | None = None) -> None:
        self.emb, self.index = emb, index

    def gather(self, values: torch.Tensor, a: int, b: int) -> torch.Tensor:
        """``values`` (one row per distinct time) for rows ``a:b``, broadcastable."""
        return values[:1] if self.index is None else values[self.index[a:b]]


class FeedForward(nn.Module):
    """``LayerNorm -> Linear(d, d) -> SiLU -> Linear(d, d)``: the per-row block.

    No width expansion: full-graph sampling is bound by these elementwise passes over every
    row, and a 2x expansion measured no better on the demo's planted dependencies.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.SiLU(),
                                 nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor, compiled=None) -> torch.Tensor:
        norm, lin1, _, lin2 = self.net
        fn = compiled if compiled is not None else _feed_forward
        return fn(x, norm.weight, norm.bias, lin1.weight, lin1.bias, lin2.weight, lin2.bias)


def _feed_forward(x, ln_w, ln_b, w1, b1, w2, b2):
    x = nn.functional.layer_norm(x, (x.size(-1),), ln_w, ln_b)
    return nn.functional.linear(nn.functional.silu(nn.functional.linear(x, w1, b1)), w2, b2)


_COMPILED: dict[str, object] = {}


@contextlib.contextmanager
def compiled_blocks(enabled: bool = True):
    """Yield the compiled per-row block (``torch.compile``, dynamic rows), or ``None``.

    Weights are arguments, so one compiled kernel serves every block of every table; the
    caller passes it down (nothing compiled is stored on a model, so it still pickles).
    The first call compiles (seconds to a minute).
    """
    if not enabled:
        yield None
        return
    if 'ff' not in _COMPILED:  # a cache of a pure function: same kernel for every caller
        _COMPILED['ff'] = torch.compile(_feed_forward, dynamic=True)
    yield _COMPILED['ff']


class HeteroSAGELayer(nn.Module):
    """One heterogeneous GraphSAGE layer with a time FiLM and a residual feed-forward block.

    For destination rows ``i`` of node type ``k``:
    ``h_i' = h_i + FF_k(W_k h_i + FiLM(t_i) + sum_r AGG_{j in N_r(i)} W_r h_j)``.

    Mean aggregation, as GraphSAGE: a sum (the GRDM reference code's choice) and a
    mean-and-spread aggregation (PNA-style) were measured and lost (``docs/fidelity.md``).

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
        """Update the first ``n_out[k]`` rows of every node type (all rows by default).

        ``chunk_size`` destination rows are updated at a time (all at once by default):
        sampling's full-graph pass then holds two ``(rows, hidden)`` buffers per table
        instead of every intermediate of every row.
        """
        dev = next(iter(h.values())).device
        n = {k: len(v) for k, v in h.items()}
        n_out = n if n_out is None else n_out
        into = {k: [et for et in self.edge_types
                    if et[2] == k and et in csr and len(csr[et][1]) and n[et[0]] and n_out[k]]
                for k in self.node_types}
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
        for k in self.node_types:
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


__all__ = ['FeedForward', 'HeteroSAGELayer', 'TimeRows', 'chunked',
           'compiled_blocks', 'csr_by_destination']
