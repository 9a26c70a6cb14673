"""Heterogeneous GNN denoiser: per-table input/output layers around K GraphSAGE layers.

The network is blind to the noise schedule: it gets the noisy numerical block, the
(partly masked) category tokens, the structural features and the diffusion time of every
node, and returns for each table the predicted noise of the numerical block and the logits
of every categorical column. With K layers a node sees its K-hop neighbourhood.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import SAGEConv

from .graph import EdgeType


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding of ``t`` in ``[0, 1]`` followed by a 2-layer MLP.

    Shapes: ``t``: ``(n,)`` -> ``(n, dim)``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        ang = 1000.0 * t.float()[:, None] * freqs[None]
        emb = torch.cat([ang.sin(), ang.cos()], dim=1)
        if self.dim % 2:
            emb = nn.functional.pad(emb, (0, 1))
        return self.mlp(emb)


class TableIO(nn.Module):
    """Input and output layers of one table.

    Args:
        d_num: width of the numerical block.
        num_classes: classes of each categorical column (a mask token is added to each).
        d_struct: width of the structural features.
        hidden: hidden width.
    """

    def __init__(self, d_num: int, num_classes: list[int], d_struct: int, hidden: int) -> None:
        super().__init__()
        self.d_num, self.num_classes, self.d_struct = d_num, list(num_classes), d_struct
        emb = max(4, min(32, hidden // 4))
        # One embedding table for all columns: column j uses rows offset[j] .. offset[j]+K_j
        # (K_j classes plus the mask token).
        sizes = torch.tensor([k + 1 for k in num_classes], dtype=torch.long)
        self.register_buffer('offsets', torch.cumsum(sizes, 0) - sizes, persistent=False)
        self.cat_emb = nn.Embedding(int(sizes.sum()) if len(sizes) else 1, emb)
        d_in = d_num + emb * len(num_classes) + d_struct
        self.type_emb = nn.Parameter(torch.zeros(hidden))
        self.inp = nn.Linear(d_in, hidden) if d_in else None
        d_out = d_num + sum(num_classes)
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, d_out)) \
            if d_out else None

    def encode(self, x_num: torch.Tensor, x_cat: torch.Tensor, struct: torch.Tensor) -> torch.Tensor:
        parts = [x_num]
        if self.num_classes:
            parts.append(self.cat_emb(x_cat + self.offsets).flatten(1))
        parts.append(struct)
        h = self.type_emb.expand(len(x_num), -1)
        if self.inp is not None:
            h = h + self.inp(torch.cat(parts, dim=1))
        return h

    def decode_lazy(self, h: torch.Tensor):
        """``(eps, logits_of)``: the noise now, column ``j``'s logits for chosen rows on demand.

        ``logits_of(j, rows)`` applies only that column's slice of the output layer to those
        rows. A reverse step reveals a few % of the masked tokens, so full-graph sampling
        skips almost all of the (rows x classes) product a 1000-category column costs.
        """
        if self.out is None:
            return h.new_zeros(len(h), 0), None
        norm, act, lin = self.out
        feats = act(norm(h))
        eps = nn.functional.linear(feats, lin.weight[: self.d_num], lin.bias[: self.d_num])
        bounds = np.cumsum([self.d_num, *self.num_classes]).tolist()

        def logits_of(j: int, rows: torch.Tensor) -> torch.Tensor:
            a, b = bounds[j], bounds[j + 1]
            return nn.functional.linear(feats[rows], lin.weight[a:b], lin.bias[a:b])

        return eps, logits_of

    def decode(self, h: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.out is None:
            return h.new_zeros(len(h), 0), []
        y = self.out(h)
        eps = y[:, : self.d_num]
        logits = list(torch.split(y[:, self.d_num:], self.num_classes, dim=1)) if self.num_classes else []
        return eps, logits


class HeteroDenoiser(nn.Module):
    """GRDM denoiser.

    Args:
        node_types: node type ids.
        edge_types: edge types ``(src, rel, dst)``.
        d_num: node type -> width of the numerical block.
        num_classes: node type -> classes of each categorical column.
        d_struct: node type -> width of the structural features.
        hidden: hidden width. (default: ``128``)
        num_layers: K, message-passing layers (= hops seen). (default: ``2``)
        mlp_layers: per-table residual MLP blocks after message passing; the per-row
            network needs depth of its own, as TabDDPM's MLP has. (default: ``2``)
        dropout: dropout after each layer. (default: ``0.0``)

    Shapes: ``forward`` takes per node type ``x_num (n, d_num)``, ``x_cat (n, c)`` long,
    ``struct (n, s)``, ``t (n,)`` and per edge type ``(2, E)``; returns per node type
    ``eps (n, d_num)`` and a list of ``(n, K_j)`` logits.
    """

    def __init__(
        self,
        node_types: list[str],
        edge_types: list[EdgeType],
        d_num: dict[str, int],
        num_classes: dict[str, list[int]],
        d_struct: dict[str, int],
        hidden: int = 128,
        num_layers: int = 2,
        mlp_layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.node_types, self.edge_types = list(node_types), list(edge_types)
        self.hidden, self.num_layers, self.mlp_layers = hidden, num_layers, mlp_layers
        self.time = TimeEmbedding(hidden)
        self.io = nn.ModuleDict({
            t: TableIO(d_num[t], num_classes[t], d_struct[t], hidden) for t in node_types
        })
        self.convs = nn.ModuleList()
        self.selfs = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.films = nn.ModuleList()
        # One SAGEConv per edge type, summed per destination (as HeteroConv(aggr='sum')),
        # held directly so each layer can update only the rows it must (see ``forward``).
        for _ in range(num_layers):
            self.convs.append(nn.ModuleDict({
                _key(et): SAGEConv((hidden, hidden), hidden, aggr='mean', root_weight=False)
                for et in edge_types
            }))
            # The self path keeps tables without relationships in the network.
            self.selfs.append(nn.ModuleDict({t: nn.Linear(hidden, hidden) for t in node_types}))
            self.norms.append(nn.ModuleDict({t: _FeedForward(hidden) for t in node_types}))
            self.films.append(nn.Linear(hidden, hidden))
        self.post = nn.ModuleList(
            nn.ModuleDict({t: _FeedForward(hidden) for t in node_types}) for _ in range(mlp_layers)
        )
        self.post_films = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(mlp_layers))
        self.dropout = nn.Dropout(dropout)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tables={len(self.node_types)}, '
                f'edge_types={len(self.edge_types)}, hidden={self.hidden}, layers={self.num_layers}, '
                f'mlp_layers={self.mlp_layers})')

    def forward(
        self,
        x_num: dict[str, torch.Tensor],
        x_cat: dict[str, torch.Tensor],
        struct: dict[str, torch.Tensor],
        t: dict[str, torch.Tensor],
        edge_index: dict[EdgeType, torch.Tensor],
        hop_ptr: dict[str, list[int]] | None = None,
    ) -> dict[str, tuple[torch.Tensor, list[torch.Tensor]]]:
        """Predict noise and logits.

        Args:
            hop_ptr: for K-hop subgraph batches whose rows are ordered by hop (see
                ``neighbors.SubgraphBatch``): layer ``l`` then updates only the rows within
                ``K - 1 - l`` hops of the seeds and the output covers the seeds only, as
                PyG's ``trim_to_layer``. ``None`` (full graph): every row, every layer.
        """
        n_layers = self.num_layers
        # Rows share few distinct times (one in sampling, one per subgraph in training):
        # embed each distinct time once and gather.
        t_inv, t_emb = {}, {}
        for k, v in t.items():
            u, t_inv[k] = torch.unique(v, return_inverse=True)
            t_emb[k] = self.time(u)
        h = {k: self.io[k].encode(x_num[k], x_cat[k], struct[k]) + t_emb[k][t_inv[k]]
             for k in self.node_types}
        for layer in range(n_layers):
            keep = {k: (hop_ptr[k][n_layers - layer] if hop_ptr is not None else len(h[k]))
                    for k in self.node_types}
            msg: dict[str, torch.Tensor] = {}
            for et in self.edge_types:
                e = edge_index.get(et)
                src, _, dst = et
                if e is None or not e.numel() or not keep[dst]:
                    continue
                if keep[dst] < len(h[dst]):
                    e = e[:, e[1] < keep[dst]]
                m = _sage_mean(self.convs[layer][_key(et)], h[src], keep[dst], e)
                msg[dst] = msg[dst] + m if dst in msg else m
            new = {}
            for k in self.node_types:
                hk = h[k][: keep[k]]
                z = self.selfs[layer][k](hk) + self.films[layer](t_emb[k])[t_inv[k][: keep[k]]]
                if k in msg:
                    z = z + msg[k]
                new[k] = hk + self.dropout(self.norms[layer][k](z))
            h = new
        if hop_ptr is not None and n_layers == 0:
            h = {k: v[: hop_ptr[k][1]] for k, v in h.items()}
        for block, film in zip(self.post, self.post_films):
            h = {k: v + self.dropout(block[k](v + film(t_emb[k])[t_inv[k][: len(v)]]))
                 for k, v in h.items()}
        return {k: self.io[k].decode(h[k]) for k in self.node_types}

    # --- full-graph inference, row chunk by row chunk ------------------------------------------
    def propagate(
        self,
        x_num: dict[str, torch.Tensor],
        x_cat: dict[str, torch.Tensor],
        struct: dict[str, torch.Tensor],
        t: float | dict[str, float],
        csr: dict[EdgeType, tuple[torch.Tensor, torch.Tensor]],
        chunk_size: int = 32768,
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Message passing over a whole graph whose rows of one table share one time.

        The same function as ``forward`` without ``hop_ptr`` (a test checks it), computed
        layer by layer and ``chunk_size`` destination rows at a time: the working set of each
        chunk stays in cache and the peak memory is two ``(rows, hidden)`` buffers instead of
        every intermediate of every row, so sampling time and memory grow linearly with the
        database.

        Args:
            t: the diffusion time of every row, or node type -> time (e.g. ``0`` for a
                table held clean while the others are denoised).
            csr: edge type -> ``(rowptr, src)``: the sources of destination row ``i`` are
                ``src[rowptr[i]:rowptr[i + 1]]`` (edges sorted by destination).
            chunk_size: destination rows per chunk.

        Returns:
            ``(h, t_emb)``: per node type the hidden rows after the K layers and the
            ``(1, hidden)`` time embedding :meth:`head` takes.
        """
        dev = next(self.parameters()).device
        times = t if isinstance(t, dict) else {k: t for k in self.node_types}
        levels = sorted(set(float(v) for v in times.values()))
        emb = self.time(torch.tensor(levels, device=dev))
        t_emb = {k: emb[levels.index(float(times[k]))][None] for k in self.node_types}
        h = {}
        for k in self.node_types:
            io = self.io[k]
            h[k] = _chunked(len(x_num[k]), self.hidden, chunk_size, dev, lambda a, b, io=io, k=k: (
                io.encode(x_num[k][a:b], x_cat[k][a:b], struct[k][a:b]) + t_emb[k]))
        n = {k: len(v) for k, v in h.items()}
        into = {k: [et for et in self.edge_types
                    if et[2] == k and et in csr and len(csr[et][1]) and n[et[0]]]
                for k in self.node_types}
        # Edge ranges of each chunk, read from the device once per call, not once per chunk.
        bounds = {et: csr[et][0][torch.arange(0, n[et[2]] + chunk_size, chunk_size, device=dev)
                                  .clamp_(max=n[et[2]])].tolist()
                  for ets in into.values() for et in ets}
        for layer in range(self.num_layers):
            film = {k: self.films[layer](v) for k, v in t_emb.items()}
            # Project the smaller side first (see _sage_mean): parent rows before a gather
            # to their many children; a child -> parent mean is projected after it.
            proj = {}
            for k, ets in into.items():
                for et in ets:
                    if n[et[0]] < n[k]:
                        w = self.convs[layer][_key(et)].lin_l.weight
                        proj[et] = _chunked(n[et[0]], self.hidden, chunk_size, dev,
                                            lambda a, b, src=et[0], w=w: nn.functional.linear(h[src][a:b], w))
            new = {}
            for k in self.node_types:
                def update(a: int, b: int, k: str = k) -> torch.Tensor:
                    hk = h[k][a:b]
                    z = self.selfs[layer][k](hk) + film[k]
                    for et in into[k]:
                        rowptr, src = csr[et]
                        deg = rowptr[a + 1:b + 1] - rowptr[a:b]
                        e0, e1 = bounds[et][a // chunk_size], bounds[et][a // chunk_size + 1]
                        s = src[e0:e1]
                        lin = self.convs[layer][_key(et)].lin_l
                        x = proj[et] if et in proj else h[et[0]]
                        dst = torch.repeat_interleave(torch.arange(b - a, device=dev), deg,
                                                      output_size=e1 - e0)
                        m = x.new_zeros(b - a, x.size(1)).index_add_(0, dst, x.index_select(0, s))
                        m = m / deg.clamp(min=1).to(m.dtype)[:, None]
                        if et not in proj:
                            m = nn.functional.linear(m, lin.weight)
                        z = z + (m + lin.bias if lin.bias is not None else m)
                    return hk + self.norms[layer][k](z)

                new[k] = _chunked(n[k], self.hidden, chunk_size, dev, update)
            h = new
        return h, t_emb

    def head(self, node_type: str, h: torch.Tensor, t_emb: dict[str, torch.Tensor]):
        """Per-row blocks and output layer of ``propagate``'s rows: ``(eps, logits_of)``."""
        t_emb = t_emb[node_type]
        for block, film in zip(self.post, self.post_films):
            h = h + block[node_type](h + film(t_emb))
        return self.io[node_type].decode_lazy(h)


def _chunked(n: int, width: int, chunk: int, device, fn) -> torch.Tensor:
    """Fill an ``(n, width)`` tensor with ``fn(a, b)`` for consecutive row ranges."""
    out = None
    for a in range(0, n, chunk):
        part = fn(a, min(n, a + chunk))
        if out is None:
            out = torch.empty((n, part.size(1)), dtype=part.dtype, device=device)
        out[a:a + len(part)] = part
    return out if out is not None else torch.zeros((0, width), device=device)


class _FeedForward(nn.Module):
    """``LayerNorm -> Linear(d, d) -> SiLU -> Linear(d, d)``: the per-row block.

    No width expansion: full-graph sampling is bound by these elementwise passes over every
    row, and a 2x expansion measured no better on the demo's planted dependencies.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.SiLU(),
                                 nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm, lin1, _, lin2 = self.net
        return _FF_IMPL[0](x, norm.weight, norm.bias, lin1.weight, lin1.bias, lin2.weight, lin2.bias)


def _feed_forward(x, ln_w, ln_b, w1, b1, w2, b2):
    x = nn.functional.layer_norm(x, (x.size(-1),), ln_w, ln_b)
    return nn.functional.linear(nn.functional.silu(nn.functional.linear(x, w1, b1)), w2, b2)


# The implementation every _FeedForward calls; `compiled_blocks` swaps in a compiled one.
# Weights are arguments, so one compiled kernel serves every block of every table.
_FF_IMPL = [_feed_forward]
_FF_COMPILED: list = []


@contextlib.contextmanager
def compiled_blocks(enabled: bool = True):
    """Run the per-row blocks through ``torch.compile`` (inductor, dynamic row counts).

    Optional: the first call compiles (seconds to a minute); then LayerNorm, both linear
    layers and SiLU run as fused kernels. Nothing compiled is stored on the model, so it
    still pickles.
    """
    if not enabled:
        yield
        return
    if not _FF_COMPILED:
        _FF_COMPILED.append(torch.compile(_feed_forward, dynamic=True))
    previous = _FF_IMPL[0]
    _FF_IMPL[0] = _FF_COMPILED[0]
    try:
        yield
    finally:
        _FF_IMPL[0] = previous


def _key(edge_type: EdgeType) -> str:
    return '__'.join(edge_type)


def _sage_mean(conv: SAGEConv, x_src: torch.Tensor, n_dst: int, edge_index: torch.Tensor) -> torch.Tensor:
    """``conv((x_src, x_dst), edge_index)`` for a mean-aggregating SAGEConv without root weight.

    Same result, cheaper: the linear map commutes with the mean, so it is applied on the
    smaller side. A parent -> child edge type (one parent per child) then costs a gather of
    already projected parent rows instead of a matrix product per child row.
    """
    lin = conv.lin_l
    src, dst = edge_index[0], edge_index[1]
    project_first = x_src.size(0) < n_dst
    x = nn.functional.linear(x_src, lin.weight) if project_first else x_src
    out = x.new_zeros(n_dst, x.size(1)).index_add_(0, dst, x.index_select(0, src))
    deg = torch.bincount(dst, minlength=n_dst).clamp_(min=1).to(out.dtype)
    out = out / deg[:, None]
    if not project_first:
        out = nn.functional.linear(out, lin.weight)
    return out + lin.bias if lin.bias is not None else out
