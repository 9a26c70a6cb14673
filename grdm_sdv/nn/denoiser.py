"""Heterogeneous GNN denoiser: per-table input/output layers around K hetero layers.

The network is blind to the noise schedule: it gets the noisy numerical block, the
(partly masked) category tokens, the structural features and the diffusion time of every
node, and returns for each table the predicted noise of the numerical block and the logits
of every categorical column. With K layers a node sees its K-hop neighbourhood.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..data.graph import EdgeType, RelationalGraph
from ..sampling.csr import csr_by_destination
from .hetero import HeteroSAGELayer
from .layers import FeedForward, TimeRows, chunked, compiled_blocks

__all__ = ['HeteroDenoiser', 'TableIO', 'TimeEmbedding', 'compiled_blocks']


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
    ) -> None:
        super().__init__()
        self.node_types, self.edge_types = list(node_types), list(edge_types)
        self.hidden, self.num_layers, self.mlp_layers = hidden, num_layers, mlp_layers
        self.time = TimeEmbedding(hidden)
        self.io = nn.ModuleDict({
            t: TableIO(d_num[t], num_classes[t], d_struct[t], hidden) for t in node_types
        })
        self.layers = nn.ModuleList(
            HeteroSAGELayer(node_types, edge_types, hidden) for _ in range(num_layers))
        self.post = nn.ModuleList(
            nn.ModuleDict({t: FeedForward(hidden) for t in node_types}) for _ in range(mlp_layers)
        )
        self.post_films = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(mlp_layers))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tables={len(self.node_types)}, '
                f'edge_types={len(self.edge_types)}, hidden={self.hidden}, layers={self.num_layers}, '
                f'mlp_layers={self.mlp_layers})')

    @classmethod
    def for_graph(cls, schema, tensors: dict, nullable: dict[str, bool], direction: str,
                  hidden: int = 128, num_layers: int = 2,
                  positions: dict[str, int] | None = None) -> 'HeteroDenoiser':
        """The denoiser of a database: node and edge types from ``schema`` (a
        :class:`~grdm_sdv.data.schema.RelationalSchema`), widths from the encoded ``tensors``
        (node type -> ``TableTensors``), structural widths from the nullable foreign keys
        and ``positions`` (table -> co-parent axes, see ``RelationalGraph.struct_dims``)."""
        return cls(
            node_types=list(RelationalGraph.node_types(schema).values()),
            edge_types=RelationalGraph.edge_types(schema, direction),
            d_num={k: v.x_num.shape[1] for k, v in tensors.items()},
            num_classes={k: v.num_classes for k, v in tensors.items()},
            d_struct=RelationalGraph.struct_dims(schema, nullable, positions),
            hidden=hidden,
            num_layers=num_layers,
        )

    def _trunk(self, x_num, x_cat, struct, time: dict[str, TimeRows], csr, hop_ptr, chunk, compiled,
               out_hops: int = 0, tables=None):
        """Input layers and the K message-passing layers (the part both paths share).

        ``tables`` (full-graph pass only): the node types whose output is wanted; layer ``l``
        then updates only the tables within ``K - 1 - l`` edges of them, as ``hop_ptr``
        trims rows (:func:`_needed`).
        """
        dev = self.time.mlp[0].weight.device
        need = _needed(tables, csr, self.num_layers) if tables is not None else None
        h = {}
        for k in self.node_types if need is None else [k for k in self.node_types if k in need[0]]:
            io, tr = self.io[k], time[k]
            h[k] = chunked(len(x_num[k]), self.hidden, chunk or len(x_num[k]), dev,
                           lambda a, b, io=io, k=k, tr=tr: io.encode(
                               x_num[k][a:b], x_cat[k][a:b], struct[k][a:b]) + tr.gather(tr.emb, a, b))
        last = len(next(iter(hop_ptr.values()))) - 1 if hop_ptr else 0
        for i, layer in enumerate(self.layers):
            n_out = ({k: hop_ptr[k][min(self.num_layers - i + out_hops, last)] for k in self.node_types}
                     if hop_ptr is not None else None)
            if need is not None:
                n_out = {k: len(v) if k in need[i + 1] else 0 for k, v in h.items()}
            h = layer(h, csr, time, n_out, chunk, compiled)
            if need is not None:
                h = {k: v for k, v in h.items() if k in need[i + 1]}
        if hop_ptr is not None and self.num_layers == 0:
            h = {k: v[: hop_ptr[k][min(out_hops + 1, len(hop_ptr[k]) - 1)]] for k, v in h.items()}
        return h

    def forward(
        self,
        x_num: dict[str, torch.Tensor],
        x_cat: dict[str, torch.Tensor],
        struct: dict[str, torch.Tensor],
        t: dict[str, torch.Tensor],
        edge_index: dict[EdgeType, torch.Tensor],
        hop_ptr: dict[str, list[int]] | None = None,
        compiled=None,
        out_hops: int = 0,
    ) -> dict[str, tuple[torch.Tensor, list[torch.Tensor]]]:
        """Predict noise and logits (training: every row has its own time).

        Args:
            hop_ptr: for K-hop subgraph batches whose rows are ordered by hop (see
                ``neighbors.SubgraphBatch``): layer ``l`` then updates only the rows within
                ``K - 1 - l`` hops of the seeds and the output covers the seeds only, as
                PyG's ``trim_to_layer``. ``None`` (full graph): every row, every layer.
            compiled: the compiled per-row block of :func:`compiled_blocks`, or ``None``.
            out_hops: with ``hop_ptr``, the output covers the rows within this many hops of
                the seeds (0: the seeds only). Rows farther out see a neighbourhood cut at
                the subgraph's edge. (default: ``0``)
        """
        time = {}
        for k, v in t.items():
            u, inv = torch.unique(v, return_inverse=True)
            time[k] = TimeRows(self.time(u), inv)
        csr = {et: csr_by_destination(e, len(x_num[et[2]])) for et, e in edge_index.items()}
        h = self._trunk(x_num, x_cat, struct, time, csr, hop_ptr, None, compiled, out_hops)
        return {k: self.io[k].decode(self._post(k, h[k], time[k], compiled)) for k in self.node_types}

    # --- full-graph inference, row chunk by row chunk ------------------------------------------
    def propagate(
        self,
        x_num: dict[str, torch.Tensor],
        x_cat: dict[str, torch.Tensor],
        struct: dict[str, torch.Tensor],
        t: float | dict[str, float],
        csr: dict[EdgeType, tuple[torch.Tensor, torch.Tensor]],
        chunk_size: int = 32768,
        compiled=None,
        tables=None,
    ) -> tuple[dict[str, torch.Tensor], dict[str, TimeRows]]:
        """Message passing over a whole graph whose rows of one table share one time.

        The same layers as ``forward`` without ``hop_ptr`` (a test checks it), run
        ``chunk_size`` destination rows at a time: the peak memory is two ``(rows, hidden)``
        buffers instead of every intermediate of every row, so sampling time and memory
        grow linearly with the database.

        Args:
            t: the diffusion time of every row, or node type -> time (e.g. ``0`` for a
                table held clean while the others are denoised).
            csr: edge type -> ``(rowptr, src)``: the sources of destination row ``i`` are
                ``src[rowptr[i]:rowptr[i + 1]]`` (edges sorted by destination).
            chunk_size: destination rows per chunk.
            tables: the node types whose hidden rows are wanted (default: every one): the
                layers then skip what these do not depend on, with the same result for them
                (sampling asks for the tables a step moves; a pass without messages, for
                guidance, then computes those tables alone).

        Returns:
            ``(h, time)``: per node type (of ``tables``) the hidden rows after the K layers
            and the time embedding :meth:`head` takes.
        """
        dev = self.time.mlp[0].weight.device
        times = t if isinstance(t, dict) else {k: t for k in self.node_types}
        levels = sorted(set(float(v) for v in times.values()))
        emb = self.time(torch.tensor(levels, device=dev))
        time = {k: TimeRows(emb[levels.index(float(times[k]))][None]) for k in self.node_types}
        return self._trunk(x_num, x_cat, struct, time, csr, None, chunk_size, compiled, tables=tables), time

    def _post(self, k: str, h: torch.Tensor, time: TimeRows, compiled=None) -> torch.Tensor:
        for block, film in zip(self.post, self.post_films):
            h = h + block[k](h + time.gather(film(time.emb), 0, len(h)), compiled)
        return h

    def head(self, node_type: str, h: torch.Tensor, time: dict[str, TimeRows], compiled=None):
        """Per-row blocks and output layer of ``propagate``'s rows: ``(eps, logits_of)``."""
        return self.io[node_type].decode_lazy(self._post(node_type, h, time[node_type], compiled))


def _needed(tables, csr, num_layers: int) -> list[set[str]]:
    """``need[l]``: the node types whose states before layer ``l`` the output of ``tables``
    after ``num_layers`` layers depends on (``need[num_layers]`` is ``tables``): each layer
    back adds the sources of the edges into the tables it needs."""
    need = [set(tables)]
    for _ in range(num_layers):
        need.append(need[-1] | {et[0] for et, (_, src) in csr.items() if et[2] in need[-1] and len(src)})
    return need[::-1]
