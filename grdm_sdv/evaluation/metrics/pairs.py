"""Column-pair dependence: one strength measure, and trends between tables k hops apart.

:func:`pair_strength` is the library's one measure of how strongly two columns depend on each
other; :func:`k_hop_trends` scores how well synthetic data keeps each pair's dependence, within
a table (hop 0) and along foreign-key chains; :func:`cross_table_dependence` measures one
ancestor-descendant pair.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...data.schema import ForeignKey
from .._tables import (
    _CATEGORICAL,
    _NUMERIC,
    Tables,
    _attribute_columns,
    _category_codes,
    _check_inputs,
    _Column,
    _follow_chain,
    _foreign_keys,
    _metadata_dict,
    _numeric_values,
    _path_label,
    _prepare_table,
    _sample_rows,
    _upward_paths,
)


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
) -> tuple[str, float, float, float] | None:
    """``(metric, real_strength, score, synthetic_strength)`` for one column pair, or None
    without real rows (``synthetic_strength`` NaN without two synthetic rows).

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
            return 'pearson', strength, 0.0, np.nan
        real_r, syn_r = _pearson(real_a, real_b), _pearson(syn_a, syn_b)
        # |syn_r| is pair_strength's numeric measure, computed once.
        return ('pearson', strength, 1.0 - abs(real_r - syn_r) / 2.0,
                abs(syn_r) if len(syn_a) >= 2 else np.nan)
    syn_strength = pair_strength(kind_a, kind_b, syn_a, syn_b, bins) if len(syn_a) >= 2 else np.nan
    real_ca, syn_ca = _discretize(kind_a, real_a, syn_a, bins)
    real_cb, syn_cb = _discretize(kind_b, real_b, syn_b, bins)
    if len(syn_a) == 0:
        return 'contingency', strength, 0.0, syn_strength
    return ('contingency', strength, _contingency_similarity(real_ca, real_cb, syn_ca, syn_cb),
            syn_strength)


def _joined_rows(
    real: Tables,
    synthetic: Tables,
    start: str,
    chain: tuple[ForeignKey, ...],
    max_rows: int | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sampled rows of ``start`` and the rows their chain leads to, real and synthetic.

    Returns ``(real_a, real_b, synthetic_a, synthetic_b)`` row positions; rows whose chain
    breaks are dropped. The empty chain pairs every sampled row with itself (hop 0).
    """
    real_rows = _sample_rows(len(real[start]), max_rows, seed)
    syn_rows = _sample_rows(len(synthetic[start]), max_rows, seed)
    real_end = _follow_chain(real, chain, real_rows)
    syn_end = _follow_chain(synthetic, chain, syn_rows)
    return (
        real_rows[real_end >= 0],
        real_end[real_end >= 0],
        syn_rows[syn_end >= 0],
        syn_end[syn_end >= 0],
    )


def _pair_rows(
    label: dict[str, Any],
    index: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    pairs: list[tuple[_Column, _Column]],
    bins: int,
) -> list[dict]:
    """One :func:`k_hop_trends` (or :func:`co_parent_trends`) row per column pair on the
    joined rows ``index``, each starting with the fields of ``label``.

    Pairs without two complete real rows are left out.
    """
    real_rows_a, real_rows_b, syn_rows_a, syn_rows_b = index
    rows = []
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
        metric, strength, score, syn_strength = result
        rows.append({
            **label,
            'table_a': col_a.table,
            'column_a': col_a.name,
            'table_b': col_b.table,
            'column_b': col_b.name,
            'metric': metric,
            'real_strength': strength,
            'score': score,
            'synthetic_strength': syn_strength,
        })
    return rows


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
    one-to-one join. Two parents of one child row are paired by :func:`co_parent_trends`.

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
        real_strength, score, synthetic_strength``, one row per column pair (the last: the
        pair's strength in the synthetic data, by the same measure as ``real_strength``,
        so the sign of a miss shows: too weak or too strong).
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    prepared = {
        table: _prepare_table(meta, table, real, synthetic) for table in sorted(meta['tables'])
    }
    rows: list[dict] = []
    for table in sorted(meta['tables']):
        columns = prepared[table]
        index = _joined_rows(real, synthetic, table, (), max_rows, seed)
        pairs = [
            (columns[i], columns[j])
            for i in range(len(columns))
            for j in range(i + 1, len(columns))
        ]
        rows += _pair_rows({'hop': 0, 'path': table}, index, pairs, bins)

    for start, chain in _upward_paths(meta, max_hops):
        end = chain[-1].parent
        columns_a, columns_b = prepared[start], prepared[end]
        if not columns_a or not columns_b:
            continue
        index = _joined_rows(real, synthetic, start, chain, max_rows, seed)
        pairs = [(col_a, col_b) for col_a in columns_a for col_b in columns_b]
        rows += _pair_rows({'hop': len(chain), 'path': _path_label(start, chain)}, index, pairs, bins)

    columns = [
        'hop', 'path', 'table_a', 'column_a', 'table_b', 'column_b', 'metric',
        'real_strength', 'score', 'synthetic_strength',
    ]
    result = pd.DataFrame(rows, columns=columns)
    result['hop'] = result['hop'].astype(int)
    if threshold > 0:
        result = result[result['real_strength'] >= threshold].reset_index(drop=True)
    return result


def co_parent_trends(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    threshold: float = 0.0,
    *,
    max_rows: int | None = 50_000,
    bins: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Column-pair trends between the two parents of one child row (*co-parents*).

    For every table with two or more foreign keys and every two of them, each row of the
    table is joined with the row each key leads to, and every column of the first parent is
    paired with every column of the second (F1: a result's driver and its team, so a
    driver's nationality against his teams'; two keys into one table pair that table with
    itself, e.g. the ages of two friends). These dependencies sit in which rows the links
    bring together, not along one chain of keys, so :func:`k_hop_trends` does not see
    them. Scored as :func:`k_hop_trends` scores its pairs (same measures, binning and row
    sampling); rows where either key is null or broken are dropped.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        threshold: Keep only pairs whose real dependence is at least this value
            (default: ``0.0``, every pair).
        max_rows: Child-table rows sampled per pair of keys and dataset, seeded
            (default: ``50_000``; ``None`` uses all rows).
        bins: Quantile bins for numeric columns in contingency pairs (default: ``10``).
        seed: Seed of the row sampling (default: ``0``).

    Returns:
        DataFrame with columns ``via, path, table_a, column_a, table_b, column_b, metric,
        real_strength, score, synthetic_strength`` (``via``: the child table; ``path``:
        ``'driver <-[driver_id]- result -[constructor_id]-> constructor'``), one row per
        column pair.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    prepared: dict[str, list[_Column]] = {}
    by_child: dict[str, list[ForeignKey]] = {}
    for fk in _foreign_keys(meta):
        by_child.setdefault(fk.child, []).append(fk)
    rows: list[dict] = []
    for via in sorted(by_child):
        fks = sorted(by_child[via], key=lambda fk: (fk.parent, fk.column))
        for i, first in enumerate(fks):
            for second in fks[i + 1:]:
                for table in (first.parent, second.parent):
                    if table not in prepared:
                        prepared[table] = _prepare_table(meta, table, real, synthetic)
                columns_a, columns_b = prepared[first.parent], prepared[second.parent]
                if not columns_a or not columns_b:
                    continue
                ends = []
                for data in (real, synthetic):
                    start = _sample_rows(len(data[via]), max_rows, seed)
                    a, b = _follow_chain(data, (first,), start), _follow_chain(data, (second,), start)
                    ends += [a[(a >= 0) & (b >= 0)], b[(a >= 0) & (b >= 0)]]
                path = (f'{first.parent} <-[{first.column}]- {via} '
                        f'-[{second.column}]-> {second.parent}')
                pairs = [(col_a, col_b) for col_a in columns_a for col_b in columns_b]
                rows += _pair_rows({'via': via, 'path': path}, tuple(ends), pairs, bins)
    columns = [
        'via', 'path', 'table_a', 'column_a', 'table_b', 'column_b', 'metric',
        'real_strength', 'score', 'synthetic_strength',
    ]
    result = pd.DataFrame(rows, columns=columns)
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
    (table_a, _), (table_d, _) = ancestor, descendant
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


def summarize_co_parent(trends: pd.DataFrame, threshold: float = 0.0) -> float:
    """Mean score of :func:`co_parent_trends`' pairs (NaN without any).

    Args:
        trends: Output of :func:`co_parent_trends`.
        threshold: Average only pairs with ``real_strength >= threshold``
            (default: ``0.0``, every pair).
    """
    if threshold > 0:
        trends = trends[trends['real_strength'] >= threshold]
    return float(trends['score'].mean()) if len(trends) else float('nan')


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
