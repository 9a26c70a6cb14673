"""Follower columns: child columns whose values, over each parent's children, never rise (or
never fall) along a rank column of their table.

In F1 a race's points never rise with its finishing positions (96% of the races), and a
race's drivers' standings points never rise with their standings positions (99.9%). The
denoiser draws each row from its own conditional; the rank column is then numbered by its
generated values (:mod:`~grdm_sdv.data.ranks`), and the other column keeps its own values
(or, a template column, is composed in their order: :mod:`~grdm_sdv.data.templates`), so the
two come out crossed: 98% of the generated races gave points to some driver placed behind
one with fewer points (real: 4%), and a detector reading a result's position and points
told the generated results apart at 0.63. Such pairs are found at fit time, and at sampling
each parent's values of the follower column, as generated (or composed), are put in the
order of the rank column: the model still says which values the children take, the rank
says who gets which. Measured in ``docs/fidelity.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .ranks import RankColumn, _runs, child_columns, put_keeping_dtype
from .schema import RelationalSchema

#: A column follows a rank column when its values never fall (or never rise) along the ranks
#: for at least this share of the parents with 2 or more valued children...
MIN_SHARE = 0.9
#: ... at least this many times the share with the values shuffled across the child rows...
MIN_LIFT = 2.0
#: ... and there are at least this many such parents (fewer are no evidence).
MIN_PARENTS = 20


@dataclass(frozen=True)
class FollowerColumn:
    """Over each parent's children along ``fk``, ``table.column`` never falls (``sign=1``)
    or never rises (``sign=-1``) along the rank column ``rank``.

    Attributes:
        table: the child table.
        column: its numerical column.
        fk: the foreign key's internal name (``ForeignKey.name``) that groups the siblings.
        fk_column: that foreign key's column, for messages.
        rank: the rank column (of ``table`` along ``fk``) it follows.
        sign: ``1``: the values never fall along the ranks; ``-1``: they never rise.
        share: share of the real parents (2 or more valued children) whose values do so.
        baseline: the same share with the values shuffled across the child rows.
    """

    table: str
    column: str
    fk: str
    fk_column: str
    rank: str
    sign: int
    share: float
    baseline: float


def find_followers(schema: RelationalSchema, tables: dict[str, pd.DataFrame],
                   links: dict[str, np.ndarray], numerical: Callable[[str], list[str]],
                   ranks: list[RankColumn], grouped: dict[tuple[str, str], str] | None = None,
                   ) -> list[FollowerColumn]:
    """The follower columns of a database: at most one rank column per column (the largest
    share).

    Args:
        schema: the tables and foreign keys.
        tables: table -> DataFrame with the values as the model sees them (processed).
        links: fk name -> parent row of every child row (``-1`` where null).
        numerical: table -> its numerical attribute columns (candidates).
        ranks: the rank columns found (:func:`~grdm_sdv.data.ranks.find_rank_columns`).
        grouped: ``(table, column)`` -> the foreign key along which the column's values per
            parent must keep their multiset (a template column's compositions): only a
            rank column along that key is a candidate for it.
    """
    by_table: dict[str, list[tuple[RankColumn, np.ndarray]]] = {}
    for r in ranks:  # each rank column's values once, not once per candidate column
        if r.column in tables[r.table]:
            key = pd.to_numeric(tables[r.table][r.column], errors='coerce').to_numpy(dtype=float)
            by_table.setdefault(r.table, []).append((r, key))
    found = []
    for table, column, values, _ in child_columns(schema, tables, numerical,
                                                  exclude={(r.table, r.column) for r in ranks}):
        keep = (grouped or {}).get((table, column))
        best = None
        for r, key in by_table.get(table, ()):
            if keep is not None and r.fk != keep:
                continue  # a reorder along another key would break its compositions
            got = _follows(values, key, links[r.fk])
            if got is not None and (best is None or got[1] > best.share):
                best = FollowerColumn(table, column, r.fk, r.fk_column, r.column, *got)
        if best is not None:
            found.append(best)
    return found


def _monotone_shares(values: np.ndarray, key: np.ndarray, parent: np.ndarray) -> tuple[float, float, int]:
    """``(never falling, never rising, parents)``: over the parents with 2 or more rows, the
    shares whose ``values`` never fall / never rise along ``key`` (steps between rows of one
    ``key`` value are not counted)."""
    order = np.lexsort((values, key, parent))
    v, k, p = values[order], key[order], parent[order]
    starts, sizes = _runs(p)
    big = sizes >= 2
    if not big.any():
        return 0.0, 0.0, 0
    step_parent = np.repeat(np.arange(len(starts)), sizes)[1:]
    inside = (p[1:] == p[:-1]) & (k[1:] != k[:-1])
    falls = np.bincount(step_parent[inside & (v[1:] < v[:-1])], minlength=len(starts)) > 0
    rises = np.bincount(step_parent[inside & (v[1:] > v[:-1])], minlength=len(starts)) > 0
    return float((~falls[big]).mean()), float((~rises[big]).mean()), int(big.sum())


def _follows(values: np.ndarray, key: np.ndarray, parent: np.ndarray):
    """``(sign, share, baseline)`` when ``values`` follow ``key``'s order per parent."""
    keep = (parent >= 0) & np.isfinite(values) & np.isfinite(key)
    v, k, p = values[keep], key[keep], parent[keep]
    up, down, n = _monotone_shares(v, k, p)
    if n < MIN_PARENTS or np.unique(v).size < 2:
        return None
    sign, share = (1, up) if up >= down else (-1, down)
    base_up, base_down, _ = _monotone_shares(np.random.default_rng(0).permutation(v), k, p)
    baseline = base_up if sign > 0 else base_down
    if share < MIN_SHARE or share < MIN_LIFT * baseline:
        return None
    return sign, share, baseline


def apply_followers(df: pd.DataFrame, followers: list[FollowerColumn], links: dict[str, np.ndarray],
                    rng: np.random.Generator) -> pd.DataFrame:
    """Put each follower column's values, per parent, in the order of its rank column (in
    ``df``, already ranked): the ``k``-th smallest value to the ``k``-th child along the
    ranks (``sign=1``) or the ``k``-th largest (``sign=-1``); ties at random.

    Each parent keeps the multiset of its values. Rows without a parent and missing values
    (of either column) keep theirs. The column keeps its dtype.
    """
    for f in followers:
        if f.rank not in df:
            continue
        parent = links[f.fk]
        column = pd.to_numeric(df[f.column], errors='coerce').to_numpy(dtype=float, copy=True)
        key = f.sign * pd.to_numeric(df[f.rank], errors='coerce').to_numpy(dtype=float)
        rows = np.flatnonzero((parent >= 0) & np.isfinite(column) & np.isfinite(key))
        if not len(rows):
            continue
        noise = rng.random(len(rows))
        by_value = rows[np.lexsort((noise, column[rows], parent[rows]))]
        by_rank = rows[np.lexsort((noise, key[rows], parent[rows]))]
        # Both orders group the rows by parent in the same runs.
        column[by_rank] = column[by_value]
        put_keeping_dtype(df, f.column, column)
    return df


__all__ = ['FollowerColumn', 'apply_followers', 'find_followers']
