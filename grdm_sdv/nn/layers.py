"""The denoiser's per-row building blocks: the feed-forward block, time rows, chunking.

The message-passing layer is :mod:`grdm_sdv.nn.hetero`; the network that stacks them is
:mod:`grdm_sdv.nn.denoiser`.
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn


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
        # index_select, not values[index]: its backward is an index_add_, not a sorting
        # index_put_ (measured 5% of a CPU training step).
        return values[:1] if self.index is None else values.index_select(0, self.index[a:b])


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


@functools.cache
def _compiled_feed_forward():
    """``torch.compile`` of the pure block function, built once: the same kernel for every caller."""
    return torch.compile(_feed_forward, dynamic=True)


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
    yield _compiled_feed_forward()


__all__ = ['FeedForward', 'TimeRows', 'chunked', 'compiled_blocks']
