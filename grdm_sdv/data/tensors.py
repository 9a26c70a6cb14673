"""The tensors the model sees of one table, and the cells held fixed while generating."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TableTensors:
    """Encoded attributes of one node type."""

    x_num: torch.Tensor  # float32 (n, d_num)
    x_cat: torch.Tensor  # int64 (n, c)
    num_classes: list[int]


@dataclass
class KnownCells:
    """Cells held fixed while the rest of a table is generated (inpainting).

    ``num_mask``/``cat_mask`` are boolean, shaped as ``x_num``/``x_cat``; where true the
    value in ``x_num``/``x_cat`` is kept.
    """

    x_num: torch.Tensor
    num_mask: torch.Tensor
    x_cat: torch.Tensor
    cat_mask: torch.Tensor


__all__ = ['KnownCells', 'TableTensors']
