"""Edges sorted by destination (CSR), and the per-step neighbour cap of full-graph sampling.

One neighbour rule for training and sampling: a row with more sources than the fanout gets
``fanout`` uniform draws with replacement, and a source drawn twice counts twice
(:class:`~grdm_sdv.sampling.neighbors.NeighborSampler` in training, :class:`CappedNeighbours`
in sampling).
"""

from __future__ import annotations

import torch

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


class CappedNeighbours:
    """Per step, at most ``fanout`` sources per destination, as the training sampler draws.

    A row with more sources than ``fanout`` gets ``fanout`` uniform draws (with
    replacement, like ``NeighborSampler``); the others keep all their sources. The layout of
    the kept edges is the same at every step, so it is planned once; a step then costs one
    random draw and one gather over the kept edges (no sort, no host sync).
    """

    def __init__(self, rowptr: torch.Tensor, src: torch.Tensor, fanout: int | None) -> None:
        self.rowptr, self.src = rowptr, src
        deg = rowptr[1:] - rowptr[:-1]
        self.active = fanout is not None and len(src) > 0 and int(deg.max()) > fanout
        if not self.active:
            return
        take = deg.clamp(max=fanout)
        self.new_ptr = torch.zeros_like(rowptr)
        self.new_ptr[1:] = torch.cumsum(take, 0)
        rep = torch.repeat_interleave(torch.arange(len(deg), device=deg.device), take)
        self.start = rowptr[rep]
        self.pos = torch.arange(len(rep), device=deg.device) - self.new_ptr[rep]
        self.deg = deg[rep]
        self.big = self.deg > fanout

    def draw(self, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rowptr, src)`` of this step's edges."""
        if not self.active:
            return self.rowptr, self.src
        r = torch.rand(len(self.pos), generator=generator, device=self.pos.device)
        drawn = torch.minimum((r * self.deg).long(), self.deg - 1)
        return self.new_ptr, self.src[self.start + torch.where(self.big, drawn, self.pos)]


__all__ = ['CSR', 'CappedNeighbours', 'csr_by_destination']
