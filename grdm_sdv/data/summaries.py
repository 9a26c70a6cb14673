"""Children summaries: per-parent means of the children's numbers, generated with the parent.

Siblings often share an effect that no parent column shows (the laps of one F1 race, the
per-region effect of the planted database's ``visits``). A parent generated before its
children cannot carry it, and siblings reach each other only through the parent. So the
parent table is given extra numerical columns, one per child numerical column and foreign
key: the mean of that column over the parent's children (standardised over parents; 0 for
a parent without children). They are trained and generated as the parent's own columns,
its children are then denoised against them, and they are dropped when the parent is
decoded. The idea of ClavaDDPM's per-parent latent variables, with a known meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class SummaryLayout:
    """Which extra columns each parent table carries.

    Attributes:
        parts: parent table -> list of ``(fk name, child table, width)``, in column order.
        center, scale: parent table -> per-column standardisation of the summaries.
    """

    parts: dict[str, list[tuple[str, str, int]]]
    center: dict[str, np.ndarray]
    scale: dict[str, np.ndarray]

    def width(self, table: str) -> int:
        """Number of summary columns of ``table``."""
        return sum(w for _, _, w in self.parts.get(table, []))


def _means(x_child: np.ndarray, link: np.ndarray, n_parent: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-parent mean of the children's rows (``link``: parent index per child, -1 null)."""
    ok = link >= 0
    count = np.bincount(link[ok], minlength=n_parent).astype(np.float64)
    total = np.zeros((n_parent, x_child.shape[1]))
    np.add.at(total, link[ok], x_child[ok])
    return total / np.maximum(count, 1)[:, None], count


def fit_summaries(schema, x_num: dict[str, np.ndarray], links: dict[str, np.ndarray]) -> SummaryLayout:
    """The summary columns of every parent, and their standardisation, from the real data."""
    parts: dict[str, list] = {}
    center, scale = {}, {}
    for t in schema.tables:
        cols = []
        for fk in schema.children_of(t):
            width = x_num[fk.child].shape[1]
            if width:
                parts.setdefault(t, []).append((fk.name, fk.child, width))
                mean, count = _means(x_num[fk.child], links[fk.name], len(x_num[t]))
                cols.append((mean, count))
        if cols:
            values = np.concatenate([m for m, _ in cols], 1)
            has = np.concatenate([np.repeat((c > 0)[:, None], m.shape[1], 1) for m, c in cols], 1)
            mu = np.array([values[has[:, j], j].mean() if has[:, j].any() else 0.0
                           for j in range(values.shape[1])])
            sd = np.array([values[has[:, j], j].std() if has[:, j].sum() > 1 else 1.0
                           for j in range(values.shape[1])])
            center[t], scale[t] = mu, np.where(sd > 1e-6, sd, 1.0)
    return SummaryLayout(parts, center, scale)


def summary_columns(layout: SummaryLayout, table: str, x_num: dict[str, np.ndarray],
                    links: dict[str, np.ndarray], n_rows: int) -> np.ndarray:
    """``(n_rows, width)`` summaries of ``table`` from its children's encoded numbers."""
    if not layout.width(table):
        return np.zeros((n_rows, 0), np.float32)
    blocks = []
    for fk_name, child, _ in layout.parts[table]:
        mean, count = _means(x_num[child], links[fk_name], n_rows)
        blocks.append(np.where(count[:, None] > 0, mean, np.nan))
    values = (np.concatenate(blocks, 1) - layout.center[table]) / layout.scale[table]
    return np.nan_to_num(values, nan=0.0).astype(np.float32)


def with_summaries(layout: SummaryLayout, tensors: dict, node: dict[str, str], schema, links) -> dict:
    """``tensors`` (node type -> TableTensors) with each parent's summary columns appended."""
    x_num = {t: tensors[node[t]].x_num.numpy() for t in schema.tables}
    out = dict(tensors)
    for t in schema.tables:
        extra = summary_columns(layout, t, x_num, links, len(x_num[t]))
        if extra.shape[1]:
            tt = tensors[node[t]]
            out[node[t]] = type(tt)(torch.cat([tt.x_num, torch.from_numpy(extra)], 1), tt.x_cat,
                                    tt.num_classes)
    return out
