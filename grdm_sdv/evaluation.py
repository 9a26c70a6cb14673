"""Evaluation of synthetic relational databases.

Everything here compares a real database with a synthetic one, both given as
``dict[str, pandas.DataFrame]`` with an ``sdv.metadata.Metadata`` (or its ``to_dict()``
form). The module is standalone: it imports nothing else from ``grdm_sdv``.

Metrics
-------
* :func:`quality_report`: SDMetrics' unified ``QualityReport`` (Column Shapes, Column Pair
  Trends, Cardinality, Intertable Trends).
* :func:`cardinality_scores`: per foreign key, ``1 - KS`` between the real and synthetic
  children-per-parent distributions (parents with no children included).
* :func:`k_hop_trends`: column-pair trends between tables ``k`` foreign-key hops apart
  (the GRDM/ClavaDDPM long-range dependency metric), with an optional strong-pair filter.
* :func:`detection_c2st_agg`: C2ST-Agg (SyntheRela), a classifier two-sample test on rows
  augmented with aggregates of their children.
* :func:`privacy_dcr`: distance to closest record, synthetic and holdout against train.
* :func:`column_spread`: each numerical column's standard deviation, synthetic / real.
* :func:`sibling_structure`: per parent-child relationship and numerical child column, the
  spread of the children of one parent and how much their mean moves from parent to parent.
* :func:`evaluate`: all of the above, gathered in an :class:`EvaluationResult`.

Plots (:func:`plot_hops`, :func:`plot_column_distributions`,
:func:`plot_correlation_difference`) and :func:`write_html_report` draw with matplotlib
``Figure`` objects rendered by the Agg canvas; pyplot and the global backend are never
touched.

Every walk over tables, relationships and paths is in sorted order, and every random draw
comes from a ``numpy.random.Generator`` seeded by the caller, so results repeat exactly.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data.schema import ForeignKey, read_foreign_keys

__all__ = [
    'EvaluationResult',
    'cardinality_scores',
    'column_spread',
    'cross_table_dependence',
    'detection_c2st_agg',
    'evaluate',
    'k_hop_trends',
    'pair_strength',
    'plot_column_distributions',
    'plot_correlation_difference',
    'plot_hops',
    'privacy_dcr',
    'quality_report',
    'sibling_structure',
    'summarize_k_hop',
    'write_html_report',
]

LOGGER = logging.getLogger(__name__)

_NUMERIC_SDTYPES = frozenset({'numerical', 'datetime'})
_CATEGORICAL_SDTYPES = frozenset({'categorical', 'boolean'})
_NUMERIC = 'numeric'
_CATEGORICAL = 'categorical'

Tables = Mapping[str, pd.DataFrame]


# --------------------------------------------------------------------------------------
# Metadata and column preparation
# --------------------------------------------------------------------------------------
def _metadata_dict(metadata: Any) -> dict:
    """Return the ``to_dict()`` form of ``metadata`` (an SDV ``Metadata`` or a dict)."""
    if hasattr(metadata, 'to_dict'):
        meta = metadata.to_dict()
    elif isinstance(metadata, Mapping):
        meta = copy.deepcopy(dict(metadata))
    else:
        raise TypeError(
            'metadata must be an sdv.metadata.Metadata or its dict form, got '
            f'{type(metadata).__name__}.'
        )
    if 'tables' not in meta:
        raise ValueError(
            "metadata has no 'tables' entry; pass a multi-table Metadata or the dict from "
            'Metadata.to_dict().'
        )
    meta.setdefault('relationships', [])
    return meta


def _foreign_keys(meta: dict) -> list[ForeignKey]:
    """Foreign keys between known tables, sorted by (parent, child, foreign key)."""
    tables = meta['tables']
    fks = [fk for fk in read_foreign_keys(meta) if fk.parent in tables and fk.child in tables]
    return sorted(fks, key=lambda fk: (fk.parent, fk.child, fk.column))


def _key_columns(meta: dict, table: str) -> set[str]:
    """Primary, alternate and foreign key columns of ``table``."""
    table_meta = meta['tables'][table]
    keys: set[str] = set()
    primary_key = table_meta.get('primary_key')
    if isinstance(primary_key, str):
        keys.add(primary_key)
    elif primary_key:
        keys.update(primary_key)
    for alternate in table_meta.get('alternate_keys', []) or []:
        if isinstance(alternate, str):
            keys.add(alternate)
        else:
            keys.update(alternate)
    keys.update(fk.column for fk in read_foreign_keys(meta) if fk.child == table)
    return keys


def _attribute_columns(meta: dict, table: str) -> list[tuple[str, str, dict]]:
    """``(column, kind, column_metadata)`` for the non-key columns that are evaluated.

    Numerical and datetime columns are ``'numeric'``; categorical and boolean columns are
    ``'categorical'``; id, PII and other sdtypes are skipped. Metadata order is kept.
    """
    keys = _key_columns(meta, table)
    columns = []
    for name, spec in meta['tables'][table].get('columns', {}).items():
        if name in keys:
            continue
        sdtype = spec.get('sdtype')
        if sdtype in _NUMERIC_SDTYPES:
            columns.append((name, _NUMERIC, spec))
        elif sdtype in _CATEGORICAL_SDTYPES:
            columns.append((name, _CATEGORICAL, spec))
    return columns


def _check_inputs(meta: dict, *datasets: tuple[str, Tables]) -> None:
    """Raise one ``ValueError`` naming every table or column missing from the data."""
    problems = []
    for label, data in datasets:
        if not isinstance(data, Mapping):
            problems.append(
                f'{label} must be a dict of table name to DataFrame, got {type(data).__name__}'
            )
            continue
        for table in sorted(meta['tables']):
            if table not in data:
                problems.append(f'{label} has no table {table!r}')
                continue
            needed = {name for name, _, _ in _attribute_columns(meta, table)}
            needed |= _key_columns(meta, table)
            missing = sorted(needed - set(data[table].columns))
            if missing:
                problems.append(f'{label}[{table!r}] lacks columns {missing}')
    if problems:
        raise ValueError(
            'Cannot evaluate: ' + '; '.join(problems) + '. Pass tables with the columns '
            'the metadata describes.'
        )


def _numeric_values(series: pd.Series, spec: dict) -> np.ndarray:
    """Float values of a numerical or datetime column (datetimes as int64 ns), NaN if missing."""
    if spec.get('sdtype') == 'datetime':
        if pd.api.types.is_datetime64_any_dtype(series):
            stamps = series
        else:
            stamps = pd.to_datetime(
                series, format=spec.get('datetime_format'), errors='coerce'
            )
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):
            stamps = stamps.dt.tz_convert(None)
        raw = stamps.to_numpy(dtype='datetime64[ns]')
        values = raw.astype('int64').astype(float)
        values[np.isnat(raw)] = np.nan
        return values
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(float)
    return pd.to_numeric(series, errors='coerce').to_numpy(dtype=float, na_value=np.nan)


def _as_labels(series: pd.Series) -> pd.Series:
    """Categorical values as strings (NaN kept); integral floats print as integers."""
    values = series
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            values = values.astype('Int64')
    labels = values.astype(object).to_numpy()
    mask = values.notna().to_numpy()
    out = np.full(len(values), np.nan, dtype=object)
    out[mask] = labels[mask].astype(str)
    return pd.Series(out, index=values.index)


def _category_codes(
    real: pd.Series, synthetic: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer codes (as float, NaN when missing) shared by real and synthetic values."""
    real_labels = _as_labels(real)
    syn_labels = _as_labels(synthetic)
    categories = np.unique(
        np.concatenate([real_labels.dropna().to_numpy(), syn_labels.dropna().to_numpy()])
        .astype(str)
    )

    def encode(labels: pd.Series) -> np.ndarray:
        codes = pd.Categorical(labels, categories=categories).codes.astype(float)
        codes[codes < 0] = np.nan
        return codes

    return encode(real_labels), encode(syn_labels), categories


@dataclass
class _Column:
    """One attribute column of a table, prepared for both datasets."""

    table: str
    name: str
    kind: str
    real: np.ndarray
    synthetic: np.ndarray
    categories: np.ndarray | None = None


def _prepare_table(
    meta: dict, table: str, real: Tables, synthetic: Tables
) -> list[_Column]:
    """Float arrays for every attribute column (categoricals share codes across datasets)."""
    columns = []
    for name, kind, spec in _attribute_columns(meta, table):
        real_series = real[table][name]
        syn_series = synthetic[table][name]
        if kind == _NUMERIC:
            columns.append(
                _Column(
                    table,
                    name,
                    kind,
                    _numeric_values(real_series, spec),
                    _numeric_values(syn_series, spec),
                )
            )
        else:
            real_codes, syn_codes, categories = _category_codes(real_series, syn_series)
            columns.append(_Column(table, name, kind, real_codes, syn_codes, categories))
    return columns


def _parent_positions(parent_keys: pd.Series, foreign_keys: np.ndarray) -> np.ndarray:
    """Row position in the parent of each foreign key value (-1 if absent or null).

    A duplicated parent key maps to its first row.
    """
    keys = pd.Index(parent_keys.to_numpy())
    first = ~keys.duplicated()
    unique_keys = keys[first]
    positions = np.flatnonzero(first)
    found = unique_keys.get_indexer(pd.Index(foreign_keys))
    return np.where(found >= 0, positions[np.clip(found, 0, None)], -1)


def _sample_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray:
    """Sorted row positions: all rows, or ``max_rows`` of them drawn without replacement."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


# --------------------------------------------------------------------------------------
# Cardinality
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# Column-pair scores
# --------------------------------------------------------------------------------------
def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; 0 when either side is constant or has fewer than 2 values."""
    if len(a) < 2:
        return 0.0
    a = a - a.mean()
    b = b - b.mean()
    denominator = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    if denominator == 0.0 or not np.isfinite(denominator):
        return 0.0
    return float(np.clip(np.dot(a, b) / denominator, -1.0, 1.0))


def _discretize(
    kind: str, real: np.ndarray, synthetic: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes; numeric values go to ``bins`` quantile bins of the real values."""
    if kind == _CATEGORICAL:
        return real.astype(np.int64), synthetic.astype(np.int64)
    inner = np.unique(np.quantile(real, np.linspace(0.0, 1.0, bins + 1))[1:-1])
    return (
        np.searchsorted(inner, real, side='right').astype(np.int64),
        np.searchsorted(inner, synthetic, side='right').astype(np.int64),
    )


def _cramers_v(codes_a: np.ndarray, codes_b: np.ndarray) -> float:
    """Cramér's V of two integer-coded samples (no bias correction)."""
    n_rows = len(codes_a)
    if n_rows == 0:
        return 0.0
    width = int(codes_b.max()) + 1
    cells, counts = np.unique(codes_a * width + codes_b, return_counts=True)
    p_joint = counts / n_rows
    p_a = np.bincount(codes_a) / n_rows
    p_b = np.bincount(codes_b) / n_rows
    phi2 = float(np.sum(p_joint**2 / (p_a[cells // width] * p_b[cells % width]))) - 1.0
    dof = min(np.count_nonzero(p_a), np.count_nonzero(p_b)) - 1
    if dof <= 0:
        return 0.0
    return float(math.sqrt(max(phi2, 0.0) / dof))


def _contingency_similarity(
    real_a: np.ndarray, real_b: np.ndarray, syn_a: np.ndarray, syn_b: np.ndarray
) -> float:
    """``1 -`` total variation distance between the normalized 2-D contingency tables."""
    width = int(max(real_b.max(initial=0), syn_b.max(initial=0))) + 1
    real_cells, real_counts = np.unique(real_a * width + real_b, return_counts=True)
    syn_cells, syn_counts = np.unique(syn_a * width + syn_b, return_counts=True)
    cells = np.union1d(real_cells, syn_cells)
    p_real = np.zeros(len(cells))
    p_syn = np.zeros(len(cells))
    p_real[np.searchsorted(cells, real_cells)] = real_counts / real_counts.sum()
    p_syn[np.searchsorted(cells, syn_cells)] = syn_counts / syn_counts.sum()
    return 1.0 - 0.5 * float(np.abs(p_real - p_syn).sum())


def pair_strength(kind_a: str, kind_b: str, a: np.ndarray, b: np.ndarray, bins: int = 10) -> float:
    """Strength of dependence in ``[0, 1]`` of one column pair: the library's one measure.

    Numeric-numeric: ``|r|`` (Pearson). Other pairs: Cramér's V after binning numeric
    values into ``bins`` quantile bins of their own values. :func:`k_hop_trends` calls a
    pair strong by this value of the real data (``real_strength``), and
    :func:`cross_table_dependence` measures it along foreign keys. ``a``/``b`` are float
    arrays (categories as integer codes) without NaN; ``kind_*`` is ``'numeric'`` or
    ``'categorical'``.
    """
    if kind_a == _NUMERIC and kind_b == _NUMERIC:
        return abs(_pearson(a, b))
    codes_a, _ = _discretize(kind_a, a, a[:0], bins)
    codes_b, _ = _discretize(kind_b, b, b[:0], bins)
    return _cramers_v(codes_a, codes_b)


def _pair_score(
    kind_a: str,
    kind_b: str,
    real_a: np.ndarray,
    real_b: np.ndarray,
    syn_a: np.ndarray,
    syn_b: np.ndarray,
    bins: int,
) -> tuple[str, float, float] | None:
    """``(metric, real_strength, score)`` for one column pair, or None without real rows.

    Numeric-numeric pairs: ``1 - |r_real - r_syn| / 2`` with Pearson ``r`` (a constant
    side counts as ``r = 0``), strength ``|r_real|``. Other pairs: contingency similarity
    after binning numeric values into ``bins`` quantile bins of the real values, strength
    Cramér's V of the real table. Rows with a NaN in the pair are dropped; a synthetic
    side without any complete row scores 0.
    """
    real_mask = ~(np.isnan(real_a) | np.isnan(real_b))
    syn_mask = ~(np.isnan(syn_a) | np.isnan(syn_b))
    real_a, real_b = real_a[real_mask], real_b[real_mask]
    syn_a, syn_b = syn_a[syn_mask], syn_b[syn_mask]
    if len(real_a) < 2:
        return None
    strength = pair_strength(kind_a, kind_b, real_a, real_b, bins)
    if kind_a == _NUMERIC and kind_b == _NUMERIC:
        if len(syn_a) == 0:
            return 'pearson', strength, 0.0
        real_r, syn_r = _pearson(real_a, real_b), _pearson(syn_a, syn_b)
        return 'pearson', strength, 1.0 - abs(real_r - syn_r) / 2.0
    real_ca, syn_ca = _discretize(kind_a, real_a, syn_a, bins)
    real_cb, syn_cb = _discretize(kind_b, real_b, syn_b, bins)
    if len(syn_a) == 0:
        return 'contingency', strength, 0.0
    return 'contingency', strength, _contingency_similarity(real_ca, real_cb, syn_ca, syn_cb)


# --------------------------------------------------------------------------------------
# k-hop trends
# --------------------------------------------------------------------------------------
def _upward_paths(
    meta: dict, max_hops: int | None
) -> list[tuple[str, tuple[ForeignKey, ...]]]:
    """Every simple child->parent chain ``(start_table, relationships)`` of 1..max_hops hops.

    Tables are not revisited (so self-references and cycles stop); order is sorted.
    """
    up: dict[str, list[ForeignKey]] = {}
    for fk in sorted(_foreign_keys(meta), key=lambda fk: (fk.parent, fk.column)):
        up.setdefault(fk.child, []).append(fk)
    limit = len(meta['tables']) if max_hops is None else max_hops
    paths: list[tuple[str, tuple[ForeignKey, ...]]] = []

    def extend(start: str, chain: tuple[ForeignKey, ...], visited: frozenset) -> None:
        if len(chain) >= limit:
            return
        current = chain[-1].parent if chain else start
        for fk in up.get(current, []):
            parent = fk.parent
            if parent in visited:
                continue
            new_chain = chain + (fk,)
            paths.append((start, new_chain))
            extend(start, new_chain, visited | {parent})

    for table in sorted(meta['tables']):
        extend(table, (), frozenset({table}))
    return sorted(paths, key=lambda p: (len(p[1]), p[0], _path_label(p[0], p[1])))


def _path_label(start: str, chain: tuple[ForeignKey, ...]) -> str:
    """``'item -[order_id]-> order -[customer_id]-> customer'``."""
    label = start
    for fk in chain:
        label += f' -[{fk.column}]-> {fk.parent}'
    return label


def _follow_chain(data: Tables, chain: tuple[ForeignKey, ...], rows: np.ndarray) -> np.ndarray:
    """Row position in the chain's last table for each start row (-1 when a link breaks)."""
    positions = rows.copy()
    for fk in chain:
        valid = positions >= 0
        child_keys = data[fk.child][fk.column].to_numpy()
        parent_keys = data[fk.parent][fk.parent_key]
        next_positions = np.full(len(positions), -1, dtype=np.int64)
        next_positions[valid] = _parent_positions(parent_keys, child_keys[positions[valid]])
        positions = next_positions
    return positions


def k_hop_trends(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    max_hops: int | None = None,
    threshold: float = 0.0,
    *,
    max_rows: int | None = 50_000,
    bins: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Column-pair trends between tables ``k`` foreign-key hops apart.

    Definition (GRDM / ClavaDDPM long-range dependencies): hop 0 pairs the attribute
    columns within each table. A ``k``-hop pair (``k >= 1``) is a column of a table ``A``
    and a column of an ancestor ``B`` reached from ``A`` by following ``k`` foreign keys
    upward (child -> parent); each row of ``A`` is joined with the one row of ``B`` its
    foreign-key chain leads to. Every distinct chain counts (two foreign keys to the same
    parent are two paths); tables are not revisited, so self-references and cycles stop.
    Sibling tables (two children of a shared parent) are not paired: their rows have no
    one-to-one join.

    Numeric-numeric pairs score ``1 - |r_real - r_syn| / 2`` (Pearson); other pairs score
    ``1 -`` total variation distance between the normalized contingency tables, numeric
    values binned into ``bins`` quantile bins of the real values. Columns: non-key columns
    of sdtype numerical, datetime (as int64 ns), categorical or boolean. Rows with a NaN
    in the pair are dropped.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        max_hops: Longest chain considered (default: ``None``, every chain).
        threshold: Keep only pairs whose real dependence ``real_strength`` (``|r|`` or
            Cramér's V) is at least this value (default: ``0.0``, every pair).
        max_rows: Start-table rows sampled per path and dataset, seeded
            (default: ``50_000``; ``None`` uses all rows).
        bins: Quantile bins for numeric columns in contingency pairs (default: ``10``).
        seed: Seed of the row sampling (default: ``0``).

    Returns:
        DataFrame with columns ``hop, path, table_a, column_a, table_b, column_b, metric,
        real_strength, score``, one row per column pair.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    prepared = {
        table: _prepare_table(meta, table, real, synthetic) for table in sorted(meta['tables'])
    }
    rows: list[dict] = []

    def add_pairs(
        hop: int,
        path: str,
        index: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        pairs: list[tuple[_Column, _Column]],
    ) -> None:
        real_rows_a, real_rows_b, syn_rows_a, syn_rows_b = index
        for col_a, col_b in pairs:
            result = _pair_score(
                col_a.kind,
                col_b.kind,
                col_a.real[real_rows_a],
                col_b.real[real_rows_b],
                col_a.synthetic[syn_rows_a],
                col_b.synthetic[syn_rows_b],
                bins,
            )
            if result is None:
                continue
            metric, strength, score = result
            rows.append({
                'hop': hop,
                'path': path,
                'table_a': col_a.table,
                'column_a': col_a.name,
                'table_b': col_b.table,
                'column_b': col_b.name,
                'metric': metric,
                'real_strength': strength,
                'score': score,
            })

    for table in sorted(meta['tables']):
        columns = prepared[table]
        real_rows = _sample_rows(len(real[table]), max_rows, seed)
        syn_rows = _sample_rows(len(synthetic[table]), max_rows, seed)
        pairs = [
            (columns[i], columns[j])
            for i in range(len(columns))
            for j in range(i + 1, len(columns))
        ]
        add_pairs(0, table, (real_rows, real_rows, syn_rows, syn_rows), pairs)

    for start, chain in _upward_paths(meta, max_hops):
        end = chain[-1].parent
        columns_a, columns_b = prepared[start], prepared[end]
        if not columns_a or not columns_b:
            continue
        real_rows = _sample_rows(len(real[start]), max_rows, seed)
        syn_rows = _sample_rows(len(synthetic[start]), max_rows, seed)
        real_end = _follow_chain(real, chain, real_rows)
        syn_end = _follow_chain(synthetic, chain, syn_rows)
        index = (
            real_rows[real_end >= 0],
            real_end[real_end >= 0],
            syn_rows[syn_end >= 0],
            syn_end[syn_end >= 0],
        )
        pairs = [(col_a, col_b) for col_a in columns_a for col_b in columns_b]
        add_pairs(len(chain), _path_label(start, chain), index, pairs)

    columns = [
        'hop', 'path', 'table_a', 'column_a', 'table_b', 'column_b', 'metric',
        'real_strength', 'score',
    ]
    result = pd.DataFrame(rows, columns=columns)
    result['hop'] = result['hop'].astype(int)
    if threshold > 0:
        result = result[result['real_strength'] >= threshold].reset_index(drop=True)
    return result


def cross_table_dependence(
    tables: Tables, metadata: Any, ancestor: tuple[str, str], descendant: tuple[str, str],
    *, bins: int = 10,
) -> float:
    """:func:`pair_strength` of an ancestor's column and a descendant's column.

    Each row of the descendant table is joined with the ancestor row its foreign keys lead
    to (the shortest chain; the first in sorted order when several are as short; the same
    table: no join), as :func:`k_hop_trends` joins a pair. Rows with a null or a broken
    link are dropped.

    Args:
        tables: table name -> DataFrame.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        ancestor: ``(table, column)``.
        descendant: ``(table, column)`` of a table at or below ``ancestor``'s.
        bins: quantile bins of numeric values paired with a categorical column.
    """
    meta = _metadata_dict(metadata)
    (table_a, col_a), (table_d, col_d) = ancestor, descendant
    _check_inputs(meta, ('tables', tables))
    if table_a == table_d:
        chain: tuple[ForeignKey, ...] = ()
    else:
        chains = [c for start, c in _upward_paths(meta, None)
                  if start == table_d and c[-1].parent == table_a]
        if not chains:
            raise ValueError(f"Table '{table_a}' is not an ancestor of '{table_d}'.")
        chain = chains[0]
    kinds = {}
    for table, column in (ancestor, descendant):
        found = [(kind, spec) for name, kind, spec in _attribute_columns(meta, table) if name == column]
        if not found:
            raise ValueError(f"'{table}.{column}' is not a numerical, datetime, categorical or "
                             'boolean attribute column of the metadata.')
        kinds[table, column] = found[0]
    values = {}
    for (table, column), (kind, spec) in kinds.items():
        series = tables[table][column]
        values[table, column] = (_numeric_values(series, spec) if kind == _NUMERIC
                                 else _category_codes(series, series.iloc[:0])[0])
    rows = np.arange(len(tables[table_d]))
    ends = _follow_chain(tables, chain, rows)
    a = values[descendant][rows[ends >= 0]]
    b = values[ancestor][ends[ends >= 0]]
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 2:
        return float('nan')
    return pair_strength(kinds[descendant][0], kinds[ancestor][0], a[ok], b[ok], bins)


def summarize_k_hop(trends: pd.DataFrame, threshold: float = 0.0) -> dict[int, float]:
    """Mean score per hop, ``{hop: mean score}`` (hops without pairs are left out).

    Args:
        trends: Output of :func:`k_hop_trends`.
        threshold: Average only pairs with ``real_strength >= threshold``
            (default: ``0.0``, every pair).
    """
    if threshold > 0:
        trends = trends[trends['real_strength'] >= threshold]
    means = trends.groupby('hop')['score'].mean()
    return {int(hop): float(score) for hop, score in means.sort_index().items()}


# --------------------------------------------------------------------------------------
# Sibling structure
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# Detection (C2ST-Agg)
# --------------------------------------------------------------------------------------
def _make_classifier(seed: int, n_jobs: int) -> tuple[Any, str]:
    """XGBoost (100 trees, depth 3), or scikit-learn's HistGradientBoosting without it."""
    try:
        from xgboost import XGBClassifier
    except ImportError:
        from sklearn.ensemble import HistGradientBoostingClassifier

        classifier = HistGradientBoostingClassifier(
            max_iter=100, max_depth=3, early_stopping=False, random_state=seed
        )
        return classifier, 'HistGradientBoostingClassifier'
    classifier = XGBClassifier(
        n_estimators=100,
        max_depth=3,
        tree_method='hist',
        random_state=seed,
        n_jobs=n_jobs,
        verbosity=0,
    )
    return classifier, 'XGBClassifier'


def _child_aggregates(
    positions: np.ndarray, column: _Column, values: np.ndarray, n_parents: int
) -> dict[str, np.ndarray]:
    """Aggregates of one child column per parent row (NaN for parents without values)."""
    valid = (positions >= 0) & ~np.isnan(values)
    parent = positions[valid]
    vals = values[valid]
    counts = np.bincount(parent, minlength=n_parents).astype(float)
    with np.errstate(invalid='ignore', divide='ignore'):
        if column.kind == _NUMERIC:
            sums = np.bincount(parent, weights=vals, minlength=n_parents)
            return {'mean': np.where(counts > 0, sums / counts, np.nan)}
        codes = vals.astype(np.int64)
        width = int(codes.max(initial=0)) + 1
        cells, cell_counts = np.unique(parent * width + codes, return_counts=True)
        cell_parent, cell_code = cells // width, cells % width
        order = np.lexsort((cell_code, -cell_counts, cell_parent))
        cell_parent, cell_code, cell_counts = (
            cell_parent[order], cell_code[order], cell_counts[order]
        )
        first = np.ones(len(cell_parent), dtype=bool)
        first[1:] = cell_parent[1:] != cell_parent[:-1]
        mode = np.full(n_parents, np.nan)
        mode_count = np.zeros(n_parents)
        mode[cell_parent[first]] = cell_code[first]
        mode_count[cell_parent[first]] = cell_counts[first]
        return {'mode': mode, 'mode_frequency': np.where(counts > 0, mode_count / counts, np.nan)}


def _detection_features(
    meta: dict, table: str, real: Tables, synthetic: Tables
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Feature matrices of ``table`` (real, synthetic) with aggregates of its children.

    Own attribute columns (categoricals as shared integer codes, datetimes as int64 ns),
    then per child foreign key: the children count and, per child attribute column, the
    mean (numeric) or the mode and its frequency (categorical). Aggregates go downward
    only: no parent attributes, so rows sharing a parent cannot leak across folds.
    """
    own = _prepare_table(meta, table, real, synthetic)
    names = [column.name for column in own]
    real_features = [column.real for column in own]
    syn_features = [column.synthetic for column in own]
    for rel in _foreign_keys(meta):
        if rel.parent != table:
            continue
        child, fk = rel.child, rel.column
        child_columns = _prepare_table(meta, child, real, synthetic)
        for data, features, use_real in (
            (real, real_features, True),
            (synthetic, syn_features, False),
        ):
            n_parents = len(data[table])
            positions = _parent_positions(
                data[table][rel.parent_key], data[child][fk].to_numpy()
            )
            counts = np.bincount(positions[positions >= 0], minlength=n_parents)
            features.append(counts.astype(float))
            for column in child_columns:
                values = column.real if use_real else column.synthetic
                features.extend(_child_aggregates(positions, column, values, n_parents).values())
        names.append(f'{child}.{fk}.count')
        for column in child_columns:
            suffixes = ('mean',) if column.kind == _NUMERIC else ('mode', 'mode_frequency')
            names.extend(f'{child}.{fk}.{column.name}.{suffix}' for suffix in suffixes)

    def stack(features: list[np.ndarray], n_rows: int) -> np.ndarray:
        if not features:
            return np.empty((n_rows, 0))
        return np.column_stack(features)

    return stack(real_features, len(real[table])), stack(syn_features, len(synthetic[table])), names


def detection_c2st_agg(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    n_folds: int = 5,
    seed: int = 0,
    *,
    max_rows_per_class: int | None = 10_000,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """C2ST-Agg detection (SyntheRela): can a classifier tell real rows from synthetic?

    For each table, features are its own attribute columns plus, for every child table
    referencing it, the children count and child aggregates (numeric means, categorical
    mode and mode frequency); see ``_detection_features``. Rows are labelled real 0 /
    synthetic 1, the larger side is subsampled to the smaller (and both to
    ``max_rows_per_class``), and the mean stratified ``n_folds``-fold accuracy of an
    XGBoost classifier (100 trees, depth 3; scikit-learn's HistGradientBoosting when
    xgboost is not installed) is reported. 0.5 means indistinguishable, 1.0 fully
    separable. Accuracy well below 0.5 means synthetic rows duplicate real ones: a
    test row's twin sits in the training folds with the other label.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        n_folds: Cross-validation folds (default: ``5``).
        seed: Seed of subsampling, folds and classifier (default: ``0``).
        max_rows_per_class: Cap on rows per class (default: ``10_000``; ``None``: no cap).
        n_jobs: OpenMP threads of the classifier, set for the duration of the fits
            (default: ``1``: on small tables extra threads mostly spin, and next to
            torch's OpenMP runtime on a busy machine they stall for minutes).

    Returns:
        DataFrame with columns ``table, accuracy, n_rows_per_class, n_features,
        classifier`` (accuracy NaN when a table has no features or too few rows). The
        mean accuracy over tables is in ``result.attrs['mean_accuracy']``.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    rows = []
    for index, table in enumerate(sorted(meta['tables'])):
        real_x, syn_x, names = _detection_features(meta, table, real, synthetic)
        n_class = min(len(real_x), len(syn_x))
        if max_rows_per_class is not None:
            n_class = min(n_class, max_rows_per_class)
        classifier, classifier_name = _make_classifier(seed, n_jobs)
        accuracy = np.nan
        if names and n_class >= n_folds:
            rng = np.random.default_rng([seed, index])
            real_take = np.sort(rng.choice(len(real_x), size=n_class, replace=False))
            syn_take = np.sort(rng.choice(len(syn_x), size=n_class, replace=False))
            features = np.vstack([real_x[real_take], syn_x[syn_take]])
            labels = np.concatenate([np.zeros(n_class, dtype=int), np.ones(n_class, dtype=int)])
            folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            with threadpool_limits(limits=n_jobs, user_api='openmp'):
                scores = cross_val_score(
                    classifier, features, labels, cv=folds, scoring='accuracy'
                )
            accuracy = float(scores.mean())
        else:
            LOGGER.info('C2ST-Agg skips table %r: %d features, %d rows per class.',
                        table, len(names), n_class)
        rows.append({
            'table': table,
            'accuracy': accuracy,
            'n_rows_per_class': int(n_class),
            'n_features': len(names),
            'classifier': classifier_name,
        })
    columns = ['table', 'accuracy', 'n_rows_per_class', 'n_features', 'classifier']
    result = pd.DataFrame(rows, columns=columns)
    accuracies = result['accuracy'].dropna()
    result.attrs['mean_accuracy'] = float(accuracies.mean()) if len(accuracies) else np.nan
    return result


# --------------------------------------------------------------------------------------
# Privacy (distance to closest record)
# --------------------------------------------------------------------------------------
def _dcr_features(
    meta: dict, table: str, train: pd.DataFrame, others: list[pd.DataFrame], max_categories: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Standardized numeric + one-hot categorical matrices (statistics from ``train``).

    Missing numeric values sit at the train mean; categoricals keep the ``max_categories``
    most frequent train values plus one column for everything else (missing included).
    """
    train_blocks: list[np.ndarray] = []
    other_blocks: list[list[np.ndarray]] = [[] for _ in others]
    for name, kind, spec in _attribute_columns(meta, table):
        if kind == _NUMERIC:
            train_values = _numeric_values(train[name], spec)
            center = np.nanmean(train_values) if np.isfinite(train_values).any() else 0.0
            scale = np.nanstd(train_values) if np.isfinite(train_values).any() else 1.0
            scale = scale if scale > 0 else 1.0

            def standardize(values, center=center, scale=scale):
                out = (values - center) / scale
                return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)[:, None]

            train_blocks.append(standardize(train_values))
            for blocks, frame in zip(other_blocks, others):
                blocks.append(standardize(_numeric_values(frame[name], spec)))
        else:
            train_labels = _as_labels(train[name])
            top = train_labels.value_counts().sort_index(kind='stable')
            top = top.sort_values(ascending=False, kind='stable').index[:max_categories]
            categories = pd.Index(top)

            def one_hot(labels, categories=categories):
                codes = categories.get_indexer(labels)
                codes[codes < 0] = len(categories)
                return np.eye(len(categories) + 1)[codes]

            train_blocks.append(one_hot(train_labels))
            for blocks, frame in zip(other_blocks, others):
                blocks.append(one_hot(_as_labels(frame[name])))

    def stack(blocks: list[np.ndarray], n_rows: int) -> np.ndarray:
        return np.hstack(blocks) if blocks else np.empty((n_rows, 0))

    return stack(train_blocks, len(train)), [
        stack(blocks, len(frame)) for blocks, frame in zip(other_blocks, others)
    ]


def privacy_dcr(
    real_train: Tables,
    real_holdout: Tables | None,
    synthetic: Tables,
    metadata: Any,
    *,
    max_train_rows: int = 10_000,
    max_query_rows: int = 2_000,
    max_categories: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Distance to closest record: synthetic -> train against holdout -> train, per table.

    Features: the table's attribute columns, numeric ones standardized with the train
    mean and standard deviation, categoricals one-hot (see ``_dcr_features``); Euclidean
    distance. A synthesizer that generalizes puts synthetic rows as far from train as
    held-out real rows are; a copying one puts them closer. ``share_below_holdout_p5`` is
    the share of synthetic rows closer to train than the 5th percentile of the holdout
    distances (about 0.05 when private, near 1 for copies). On tables with one or two
    low-cardinality attributes most rows have an exact twin anyway, so distances are 0
    for holdout and synthetic alike and the check says little.

    Args:
        real_train: Real tables the synthesizer was fitted on.
        real_holdout: Real tables it never saw; ``None`` splits every ``real_train``
            table 50/50 by rows (seeded), which understates memorization when the
            synthesizer saw all of ``real_train``.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        max_train_rows: Train rows sampled per table (default: ``10_000``).
        max_query_rows: Synthetic and holdout rows sampled per table (default: ``2_000``).
        max_categories: One-hot columns per categorical, plus "other" (default: ``20``).
        seed: Seed of splits and samples (default: ``0``).

    Returns:
        DataFrame with columns ``table, dcr_synthetic_median, dcr_holdout_median,
        share_below_holdout_p5, exact_match_share`` (NaN for tables without attributes).
    """
    from sklearn.neighbors import NearestNeighbors

    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real_train', real_train), ('synthetic', synthetic))
    if real_holdout is None:
        train_split: dict[str, pd.DataFrame] = {}
        holdout_split: dict[str, pd.DataFrame] = {}
        for index, table in enumerate(sorted(meta['tables'])):
            frame = real_train[table]
            order = np.random.default_rng([seed, index]).permutation(len(frame))
            half = len(frame) // 2
            holdout_split[table] = frame.iloc[np.sort(order[:half])]
            train_split[table] = frame.iloc[np.sort(order[half:])]
        real_train, real_holdout = train_split, holdout_split
    else:
        _check_inputs(meta, ('real_holdout', real_holdout))

    rows = []
    for index, table in enumerate(sorted(meta['tables'])):
        row = {
            'table': table,
            'dcr_synthetic_median': np.nan,
            'dcr_holdout_median': np.nan,
            'share_below_holdout_p5': np.nan,
            'exact_match_share': np.nan,
        }
        train = real_train[table]
        train = train.iloc[_sample_rows(len(train), max_train_rows, seed + index)]
        holdout = real_holdout[table]
        holdout = holdout.iloc[_sample_rows(len(holdout), max_query_rows, seed + index + 1)]
        syn = synthetic[table]
        syn = syn.iloc[_sample_rows(len(syn), max_query_rows, seed + index + 2)]
        train_x, (syn_x, holdout_x) = _dcr_features(
            meta, table, train, [syn, holdout], max_categories
        )
        if train_x.shape[1] and len(train_x) and len(syn_x) and len(holdout_x):
            neighbors = NearestNeighbors(n_neighbors=1).fit(train_x)
            syn_dcr = neighbors.kneighbors(syn_x)[0][:, 0]
            holdout_dcr = neighbors.kneighbors(holdout_x)[0][:, 0]
            row.update({
                'dcr_synthetic_median': float(np.median(syn_dcr)),
                'dcr_holdout_median': float(np.median(holdout_dcr)),
                'share_below_holdout_p5': float(
                    np.mean(syn_dcr < np.percentile(holdout_dcr, 5))
                ),
                'exact_match_share': float(np.mean(syn_dcr <= 1e-12)),
            })
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# SDMetrics quality report
# --------------------------------------------------------------------------------------
def _snake(name: str) -> str:
    return name.strip().lower().replace(' ', '_')


def quality_report(real: Tables, synthetic: Tables, metadata: Any) -> dict[str, float]:
    """SDMetrics' unified ``QualityReport`` (the multi-table one is deprecated in 0.32).

    SDMetrics 0.32 scores Column Pair Trends only on pairs whose real dependence meets
    its thresholds (correlation 0.5, association 0.3); with no such pair the property
    is NaN and the overall score averages the others.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.

    Returns:
        ``{'overall': ..., 'column_shapes': ..., 'column_pair_trends': ...,
        'cardinality': ..., 'intertable_trends': ...}`` (the last two only with more
        than one table), as floats.
    """
    from sdmetrics.reports import QualityReport

    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    tables = sorted(meta['tables'])
    report = QualityReport()
    report.generate(
        {table: real[table] for table in tables},
        {table: synthetic[table] for table in tables},
        meta,
        verbose=False,
    )
    scores = {'overall': float(report.get_score())}
    for name, score in report.get_properties().itertuples(index=False):
        scores[_snake(name)] = float(score)
    return scores


# --------------------------------------------------------------------------------------
# Everything together
# --------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    """Python scalars for JSON: NaN/inf -> None, numpy scalars -> int/float."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured.

    Attributes:
        summary: Tidy table with columns ``metric, value``.
        details: Per-item tables: ``'cardinality'``, ``'k_hop'``, ``'detection'``,
            ``'privacy'`` (those that were computed).
        params: Settings the evaluation ran with (``strong_threshold``, ``hops``,
            ``seed``, ``detection_classifier``, ``seconds`` per part).
    """

    summary: pd.DataFrame
    details: dict[str, pd.DataFrame] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        """Value of one summary metric, e.g. ``result['hop_1']``."""
        matches = self.summary.loc[self.summary['metric'] == metric, 'value']
        if matches.empty:
            raise KeyError(
                f'No metric {metric!r}; available: {list(self.summary["metric"])}.'
            )
        return float(matches.iloc[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (NaN becomes ``None``)."""
        return {
            'summary': {
                str(metric): _json_value(value)
                for metric, value in zip(self.summary['metric'], self.summary['value'])
            },
            'details': {
                name: [
                    {str(key): _json_value(value) for key, value in record.items()}
                    for record in frame.to_dict(orient='records')
                ]
                for name, frame in self.details.items()
            },
            'params': json.loads(json.dumps(self.params, default=_json_value)),
        }


def evaluate(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    *,
    holdout: Tables | None = None,
    hops: int | None = None,
    strong_threshold: float = 0.3,
    detection: bool = True,
    privacy: bool = True,
    quality: bool = True,
    seed: int = 0,
) -> EvaluationResult:
    """Run every metric of this module and gather a summary.

    Summary metrics: ``quality_overall``, ``column_shapes``, ``column_pair_trends``,
    ``cardinality``, ``intertable_trends`` (SDMetrics, when ``quality``);
    ``cardinality_ks`` (mean of :func:`cardinality_scores`); ``hop_<k>`` (mean k-hop
    score over all pairs) and ``hop_<k>_strong`` (over pairs with real strength
    ``>= strong_threshold``; NaN if none); ``std_ratio_min`` and ``std_ratio_max``
    (extremes of :func:`column_spread`'s synthetic / real standard deviations);
    ``sibling_log_ratio`` (mean ``|log ratio|``
    of :func:`sibling_structure`, 0 when siblings spread as in the real data);
    ``detection_mean_accuracy`` (when
    ``detection``); ``dcr_synthetic_median``, ``dcr_holdout_median``,
    ``dcr_share_below_holdout_p5``, ``dcr_exact_match_share`` (means over tables, when
    ``privacy``).

    Args:
        real: Real (training) tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        holdout: Real tables the synthesizer never saw, for :func:`privacy_dcr`
            (default: ``None``, split ``real`` in halves).
        hops: Longest k-hop chain (default: ``None``, all).
        strong_threshold: Real-dependence threshold of the strong-pair k-hop scores
            (default: ``0.3``).
        detection: Run C2ST-Agg (default: ``True``).
        privacy: Run the DCR privacy check (default: ``True``).
        quality: Run the SDMetrics quality report (default: ``True``).
        seed: Seed for every sampled part (default: ``0``).

    Returns:
        An :class:`EvaluationResult`.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    summary: list[tuple[str, float]] = []
    details: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    params: dict[str, Any] = {
        'strong_threshold': strong_threshold,
        'hops': hops,
        'seed': seed,
        'seconds': seconds,
    }

    if quality:
        start = time.perf_counter()
        scores = quality_report(real, synthetic, meta)
        summary.append(('quality_overall', scores.pop('overall')))
        summary.extend(scores.items())
        seconds['quality'] = time.perf_counter() - start

    start = time.perf_counter()
    cardinality = cardinality_scores(real, synthetic, meta)
    details['cardinality'] = cardinality
    mean_cardinality = float(cardinality['score'].mean()) if len(cardinality) else np.nan
    summary.append(('cardinality_ks', mean_cardinality))
    seconds['cardinality'] = time.perf_counter() - start

    start = time.perf_counter()
    trends = k_hop_trends(real, synthetic, meta, max_hops=hops, seed=seed)
    details['k_hop'] = trends
    all_pairs = summarize_k_hop(trends)
    strong_pairs = summarize_k_hop(trends, threshold=strong_threshold)
    for hop in sorted(all_pairs):
        summary.append((f'hop_{hop}', all_pairs[hop]))
    for hop in sorted(all_pairs):
        summary.append((f'hop_{hop}_strong', strong_pairs.get(hop, np.nan)))
    seconds['k_hop'] = time.perf_counter() - start

    start = time.perf_counter()
    spread = column_spread(real, synthetic, meta)
    details['spread'] = spread
    ratios = spread['ratio'].dropna()
    summary.append(('std_ratio_min', float(ratios.min()) if len(ratios) else np.nan))
    summary.append(('std_ratio_max', float(ratios.max()) if len(ratios) else np.nan))
    siblings = sibling_structure(real, synthetic, meta)
    details['siblings'] = siblings
    # Mean |log ratio|: 0 when every sibling spread matches the real one.
    log_ratio = np.log(siblings['ratio'].to_numpy(dtype=float))
    log_ratio = log_ratio[np.isfinite(log_ratio)]
    summary.append(('sibling_log_ratio', float(np.abs(log_ratio).mean()) if len(log_ratio) else np.nan))
    seconds['siblings'] = time.perf_counter() - start

    if detection:
        start = time.perf_counter()
        detected = detection_c2st_agg(real, synthetic, meta, seed=seed)
        details['detection'] = detected
        summary.append(('detection_mean_accuracy', detected.attrs['mean_accuracy']))
        params['detection_classifier'] = (
            str(detected['classifier'].iloc[0]) if len(detected) else None
        )
        seconds['detection'] = time.perf_counter() - start

    if privacy:
        start = time.perf_counter()
        dcr = privacy_dcr(real, holdout, synthetic, meta, seed=seed)
        details['privacy'] = dcr
        for column in (
            'dcr_synthetic_median', 'dcr_holdout_median', 'share_below_holdout_p5',
            'exact_match_share',
        ):
            name = column if column.startswith('dcr_') else f'dcr_{column}'
            values = dcr[column].dropna()
            summary.append((name, float(values.mean()) if len(values) else np.nan))
        seconds['privacy'] = time.perf_counter() - start

    LOGGER.debug('evaluate timings: %s', seconds)
    frame = pd.DataFrame(summary, columns=['metric', 'value'])
    frame['value'] = frame['value'].astype(float)
    return EvaluationResult(summary=frame, details=details, params=params)


# --------------------------------------------------------------------------------------
# Plots and HTML report
# --------------------------------------------------------------------------------------
def _new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` drawn by the Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout='constrained')
    FigureCanvasAgg(figure)
    return figure


def _safe_name(name: str) -> str:
    return ''.join(char if char.isalnum() or char in '-_' else '_' for char in name)


def plot_hops(result: EvaluationResult, path: str | Path) -> Path:
    """Bar chart of the mean k-hop score per hop, all pairs against strong pairs.

    Args:
        result: Output of :func:`evaluate`.
        path: PNG file to write.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trends = result.details.get('k_hop', pd.DataFrame(columns=['hop', 'score', 'real_strength']))
    threshold = float(result.params.get('strong_threshold', 0.3))
    all_pairs = summarize_k_hop(trends)
    strong = summarize_k_hop(trends, threshold=threshold)
    hops = sorted(all_pairs)
    figure = _new_figure(max(4.0, 1.2 * len(hops) + 2), 3.5)
    axis = figure.add_subplot()
    positions = np.arange(len(hops))
    axis.bar(positions - 0.2, [all_pairs[h] for h in hops], width=0.4, label='all pairs')
    axis.bar(
        positions + 0.2,
        [strong.get(h, np.nan) for h in hops],
        width=0.4,
        label=f'strong pairs (real strength >= {threshold:g})',
    )
    axis.set_xticks(positions, [f'{h}-hop' for h in hops])
    axis.set_ylim(0, 1.25)
    axis.set_yticks(np.linspace(0, 1, 6))
    axis.set_ylabel('mean score')
    axis.set_title('k-hop column-pair trends')
    axis.legend(loc='upper center', ncols=2, fontsize='small', frameon=False)
    figure.savefig(path, dpi=100)
    return path


def plot_column_distributions(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    folder: str | Path,
    *,
    max_columns: int = 24,
    max_categories: int = 15,
) -> list[Path]:
    """One PNG per table: real against synthetic distribution of each attribute column.

    Numeric and datetime columns: overlaid density histograms on shared bins; categorical
    and boolean columns: side-by-side relative frequencies of the ``max_categories`` most
    frequent real values. Tables without attribute columns get no file.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        folder: Directory for ``columns_<table>.png``.
        max_columns: Columns drawn per table, the first ones in metadata order
            (default: ``24``).
        max_categories: Categories drawn per categorical column (default: ``15``).

    Returns:
        The written paths, in sorted table order.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in sorted(meta['tables']):
        columns = _prepare_table(meta, table, real, synthetic)[:max_columns]
        if not columns:
            continue
        n_cols = min(4, len(columns))
        n_rows = math.ceil(len(columns) / n_cols)
        figure = _new_figure(3.2 * n_cols, 2.6 * n_rows)
        axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
        for axis, column in zip(axes, columns):
            real_values = column.real[~np.isnan(column.real)]
            syn_values = column.synthetic[~np.isnan(column.synthetic)]
            if column.kind == _NUMERIC:
                both = np.concatenate([real_values, syn_values])
                if len(both) and np.ptp(both) > 0:
                    edges = np.linspace(both.min(), both.max(), 31)
                else:
                    edges = 10
                if len(real_values):
                    axis.hist(real_values, bins=edges, density=True, alpha=0.5, label='real')
                if len(syn_values):
                    axis.hist(syn_values, bins=edges, density=True, alpha=0.5, label='synthetic')
            else:
                n_codes = len(column.categories)
                real_freq = np.bincount(real_values.astype(int), minlength=n_codes)
                syn_freq = np.bincount(syn_values.astype(int), minlength=n_codes)
                real_freq = real_freq / max(real_freq.sum(), 1)
                syn_freq = syn_freq / max(syn_freq.sum(), 1)
                top = np.argsort(-real_freq, kind='stable')[:max_categories]
                positions = np.arange(len(top))
                axis.bar(positions - 0.2, real_freq[top], width=0.4, label='real')
                axis.bar(positions + 0.2, syn_freq[top], width=0.4, label='synthetic')
                labels = [str(label)[:12] for label in column.categories[top]]
                axis.set_xticks(positions, labels, rotation=60, fontsize='x-small')
            axis.set_title(column.name, fontsize='small')
            axis.tick_params(labelsize='x-small')
        axes[0].legend(fontsize='x-small')
        for axis in axes[len(columns):]:
            axis.set_visible(False)
        figure.suptitle(f'{table}: real vs synthetic')
        path = folder / f'columns_{_safe_name(table)}.png'
        figure.savefig(path, dpi=80)
        paths.append(path)
    return paths


def plot_correlation_difference(
    real: Tables, synthetic: Tables, metadata: Any, folder: str | Path
) -> list[Path]:
    """One heatmap per table of ``|corr_real - corr_synthetic|`` (Pearson).

    Only numeric and datetime attribute columns are used; tables with fewer than two get
    no file. Colors span 0 to 1 (larger differences saturate).

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        folder: Directory for ``correlation_<table>.png``.

    Returns:
        The written paths, in sorted table order.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in sorted(meta['tables']):
        columns = [c for c in _prepare_table(meta, table, real, synthetic) if c.kind == _NUMERIC]
        if len(columns) < 2:
            continue
        names = [column.name for column in columns]
        real_corr = pd.DataFrame({c.name: c.real for c in columns}).corr().to_numpy()
        syn_corr = pd.DataFrame({c.name: c.synthetic for c in columns}).corr().to_numpy()
        difference = np.abs(np.nan_to_num(real_corr) - np.nan_to_num(syn_corr))
        size = 1.5 + 0.5 * len(names)
        figure = _new_figure(size + 1.5, size)
        axis = figure.add_subplot()
        image = axis.imshow(difference, vmin=0.0, vmax=1.0, cmap='Reds')
        axis.set_xticks(range(len(names)), names, rotation=60, fontsize='small')
        axis.set_yticks(range(len(names)), names, fontsize='small')
        if len(names) <= 12:
            for (i, j), value in np.ndenumerate(difference):
                axis.text(j, i, f'{value:.2f}', ha='center', va='center', fontsize='x-small')
        figure.colorbar(image, ax=axis, extend='max', label='|corr real - corr synthetic|')
        axis.set_title(f'{table}: correlation difference')
        path = folder / f'correlation_{_safe_name(table)}.png'
        figure.savefig(path, dpi=80)
        paths.append(path)
    return paths


def _frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda value: f'{value:.4f}', na_rep='-',
                         border=0, classes='table')


def write_html_report(
    result: EvaluationResult,
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    path: str | Path,
) -> Path:
    """Write an HTML page with the summary, detail tables and plots.

    The PNGs go to a folder ``<stem>_files`` beside the HTML file and are linked with
    relative ``<img>`` tags, so the page and its folder can be moved together.

    Args:
        result: Output of :func:`evaluate`.
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        path: HTML file to write.

    Returns:
        The written HTML path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    assets = path.parent / f'{path.stem}_files'
    assets.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, Path]] = []
    if 'k_hop' in result.details:
        images.append(('k-hop trends', plot_hops(result, assets / 'hops.png')))
    for image in plot_column_distributions(real, synthetic, metadata, assets):
        images.append((f'Column distributions: {image.stem[len("columns_"):]}', image))
    for image in plot_correlation_difference(real, synthetic, metadata, assets):
        images.append((f'Correlation difference: {image.stem[len("correlation_"):]}', image))

    parts = [
        '<!DOCTYPE html>',
        '<html><head><meta charset="utf-8"><title>grdm-sdv evaluation</title>',
        '<style>body{font-family:sans-serif;margin:2em;max-width:1100px}'
        'table{border-collapse:collapse;margin-bottom:1.5em}'
        'td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}'
        'img{max-width:100%;margin-bottom:1.5em}</style></head><body>',
        '<h1>Synthetic data evaluation</h1>',
        '<h2>Summary</h2>',
        _frame_html(result.summary),
    ]
    classifier = result.params.get('detection_classifier')
    if classifier:
        parts.append(f'<p>Detection classifier: {html.escape(str(classifier))}</p>')
    titles = {
        'cardinality': 'Cardinality (1 - KS of children per parent)',
        'detection': 'Detection (C2ST-Agg accuracy; 0.5 = indistinguishable)',
        'privacy': 'Privacy (distance to closest record)',
    }
    for name, title in titles.items():
        if name in result.details:
            parts.append(f'<h2>{html.escape(title)}</h2>')
            parts.append(_frame_html(result.details[name]))
    parts.append('<h2>Plots</h2>')
    for title, image in images:
        source = f'{assets.name}/{image.name}'
        parts.append(f'<h3>{html.escape(title)}</h3>')
        parts.append(f'<img src="{html.escape(source)}" alt="{html.escape(title)}">')
    parts.append('</body></html>')
    path.write_text('\n'.join(parts), encoding='utf-8')
    return path
