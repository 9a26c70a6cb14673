"""Cardinality: the children-per-parent distributions, real against synthetic."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...data.schema import ForeignKey
from .._tables import (
    Tables,
    _check_inputs,
    _foreign_keys,
    _metadata_dict,
    _parent_positions,
)


def _children_per_parent(data: Tables, fk: ForeignKey) -> np.ndarray:
    """Children count of every parent row (zeros included) for one relationship."""
    parent = data[fk.parent]
    child = data[fk.child]
    positions = _parent_positions(parent[fk.parent_key], child[fk.column].to_numpy())
    return np.bincount(positions[positions >= 0], minlength=len(parent))


def _ks_statistic(first: np.ndarray, second: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two ECDFs."""
    first = np.sort(first)
    second = np.sort(second)
    pooled = np.concatenate([first, second])
    cdf_first = np.searchsorted(first, pooled, side='right') / len(first)
    cdf_second = np.searchsorted(second, pooled, side='right') / len(second)
    return float(np.max(np.abs(cdf_first - cdf_second)))


def cardinality_scores(real: Tables, synthetic: Tables, metadata: Any) -> pd.DataFrame:
    """Similarity of the children-per-parent distributions, one row per foreign key.

    For each relationship the number of children of every parent row is counted (parents
    without children count 0); the score is ``1 - KS``, the two-sample Kolmogorov-Smirnov
    statistic (the value ``scipy.stats.ks_2samp`` reports) between the real and synthetic
    count distributions (1 = identical).

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.

    Returns:
        DataFrame with columns ``parent, child, fk, real_mean_children,
        synthetic_mean_children, score`` (score NaN when a side has no parent rows).
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    rows = []
    for fk in _foreign_keys(meta):
        real_counts = _children_per_parent(real, fk)
        syn_counts = _children_per_parent(synthetic, fk)
        if len(real_counts) and len(syn_counts):
            score = 1.0 - _ks_statistic(real_counts, syn_counts)
        else:
            score = np.nan
        rows.append({
            'parent': fk.parent,
            'child': fk.child,
            'fk': fk.column,
            'real_mean_children': float(real_counts.mean()) if len(real_counts) else np.nan,
            'synthetic_mean_children': float(syn_counts.mean()) if len(syn_counts) else np.nan,
            'score': score,
        })
    columns = ['parent', 'child', 'fk', 'real_mean_children', 'synthetic_mean_children', 'score']
    return pd.DataFrame(rows, columns=columns)
