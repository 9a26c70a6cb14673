"""Spread: column standard deviations and how the children of one parent vary together."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._tables import (
    _NUMERIC,
    Tables,
    _attribute_columns,
    _check_inputs,
    _foreign_keys,
    _metadata_dict,
    _numeric_values,
    _parent_positions,
)


def _per_parent_moments(
    positions: np.ndarray, values: np.ndarray, n_parents: int, min_children: int
) -> tuple[float, float]:
    """``(mean within-parent std, std of within-parent means)`` over parents with enough children."""
    valid = (positions >= 0) & ~np.isnan(values)
    parent, x = positions[valid], values[valid]
    count = np.bincount(parent, minlength=n_parents).astype(float)
    total = np.bincount(parent, weights=x, minlength=n_parents)
    square = np.bincount(parent, weights=x * x, minlength=n_parents)
    enough = count >= min_children
    if enough.sum() < 2:
        return np.nan, np.nan
    mean = total[enough] / count[enough]
    # Sample (ddof=1) variance inside each parent, clipped against rounding below zero.
    var = np.clip((square[enough] - count[enough] * mean**2) / (count[enough] - 1), 0, None)
    return float(np.sqrt(var).mean()), float(mean.std(ddof=1))


def column_spread(real: Tables, synthetic: Tables, metadata: Any) -> pd.DataFrame:
    """Standard deviation of every numerical (and datetime) column, real against synthetic.

    A model that pulls a table toward its mean keeps the column's centre but not its spread;
    the shape score sees it only faintly. Returns one row per column: ``table``, ``column``,
    ``real_std``, ``synthetic_std`` and ``ratio`` (synthetic / real).
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    rows = []
    for table in sorted(meta['tables']):
        for name, kind, spec in _attribute_columns(meta, table):
            if kind != _NUMERIC:
                continue
            r = np.nanstd(_numeric_values(real[table][name], spec)) if len(real[table]) else np.nan
            y = np.nanstd(_numeric_values(synthetic[table][name], spec)) if len(synthetic[table]) else np.nan
            rows.append({'table': table, 'column': name, 'real_std': r, 'synthetic_std': y,
                         'ratio': y / r if np.isfinite(r) and r > 0 else np.nan})
    return pd.DataFrame(rows, columns=['table', 'column', 'real_std', 'synthetic_std', 'ratio'])


def sibling_structure(
    real: Tables, synthetic: Tables, metadata: Any, min_children: int = 2
) -> pd.DataFrame:
    """How the children of one parent move together, real against synthetic.

    For every relationship and numerical (or datetime) column of the child table, over the
    parents with at least ``min_children`` children: ``within_std``, the mean over parents of
    the standard deviation among one parent's children (do siblings spread as real ones
    do?), and ``between_std``, the standard deviation over parents of the children's mean
    (do the children of different parents differ as much as real ones do?). A model whose
    children collapse toward typical values shows ratios below 1. Columns are scaled by the
    real column's standard deviation so the numbers read alike across columns.

    Returns:
        One row per (relationship, column, statistic): ``parent``, ``child``,
        ``foreign_key``, ``column``, ``statistic``, ``real``, ``synthetic`` and
        ``ratio`` (synthetic / real).
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    rows = []
    for rel in _foreign_keys(meta):
        parent, child, fk = rel.parent, rel.child, rel.column
        numeric = [(n, spec) for n, kind, spec in _attribute_columns(meta, child) if kind == _NUMERIC]
        if not numeric:
            continue
        stats = {}
        for label, data in (('real', real), ('synthetic', synthetic)):
            positions = _parent_positions(data[parent][rel.parent_key], data[child][fk].to_numpy())
            stats[label] = {
                name: (_numeric_values(data[child][name], spec), positions, len(data[parent]))
                for name, spec in numeric
            }
        for name, _ in numeric:
            scale = np.nanstd(stats['real'][name][0])
            scale = scale if np.isfinite(scale) and scale > 0 else 1.0
            moments = {
                label: _per_parent_moments(pos, values / scale, n, min_children)
                for label, (values, pos, n) in ((k, v[name]) for k, v in stats.items())
            }
            for i, statistic in enumerate(('within_std', 'between_std')):
                r, s = moments['real'][i], moments['synthetic'][i]
                rows.append({
                    'parent': parent, 'child': child, 'foreign_key': fk, 'column': name,
                    'statistic': statistic, 'real': r, 'synthetic': s,
                    'ratio': s / r if np.isfinite(r) and r > 0 else np.nan,
                })
    columns = ['parent', 'child', 'foreign_key', 'column', 'statistic', 'real', 'synthetic', 'ratio']
    return pd.DataFrame(rows, columns=columns)
