"""Rank columns: child columns that number the children of each parent (positions, line numbers).

In F1 the qualifying positions of every race are exactly ``1..n``, and so are the drivers'
and constructors' standings positions; an order's line numbers are ``1..n`` in many
databases. The denoiser draws each row's value from its own conditional, so the generated
positions of one race repeat some numbers and miss others, and a parent's children give
themselves away at once (their mean is not ``(n + 1) / 2``: C2ST-Agg told F1's races apart
at 0.96). Such columns are found at fit time, and at sampling every parent's generated
values are replaced by their ranks (the model's order kept, ties broken at random), so each
parent's children are numbered ``start..start + n - 1`` again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import RelationalSchema


@dataclass(frozen=True)
class RankColumn:
    """``table.column`` numbers the rows of each parent along foreign key ``fk`` from ``start``.

    Attributes:
        table: the child table.
        column: its numerical column.
        fk: the foreign key's internal name (``ForeignKey.name``) that groups the siblings.
        fk_column: that foreign key's column, for messages.
        start: the first number (``1`` for positions; ``0`` where counting starts at 0).
        share: the share of the real parents (with 2 or more children) numbered so.
    """

    table: str
    column: str
    fk: str
    fk_column: str
    start: int
    share: float


#: A column is a rank column when at least this share of the parents with 2 or more children
#: number them exactly ``start..start + n - 1``...
MIN_SHARE = 0.9
#: ... and there are at least this many such parents (fewer are no evidence).
MIN_PARENTS = 10


def find_rank_columns(schema: RelationalSchema, tables: dict[str, pd.DataFrame],
                      links: dict[str, np.ndarray], numerical: Callable[[str], list[str]],
                      ) -> list[RankColumn]:
    """The rank columns of a database: at most one foreign key per column (the best share).

    Args:
        schema: the tables and foreign keys.
        tables: table -> DataFrame with the values as the model sees them (processed).
        links: fk name -> parent row of every child row (``-1`` where null).
        numerical: table -> its numerical attribute columns (candidates).
    """
    return [best for table, column, values, fks in child_columns(schema, tables, numerical)
            if (best := strongest(RankColumn(table, column, fk.name, fk.column, *got) for fk in fks
                                  if (got := _numbering(values, links[fk.name])) is not None))]


def child_columns(schema: RelationalSchema, tables: dict[str, pd.DataFrame],
                  numerical: Callable[[str], list[str]], exclude: set[tuple[str, str]] = frozenset()):
    """``(table, column, values as floats, foreign keys)`` of each numerical column of every
    table with parents, except the ``exclude`` ``(table, column)`` pairs: the candidates of a
    per-parent pattern (rank columns, sibling templates)."""
    for table in schema.tables:
        fks = schema.parents_of(table)
        if not fks:
            continue
        for column in numerical(table):
            if (table, column) not in exclude and column in tables[table]:
                yield (table, column,
                       pd.to_numeric(tables[table][column], errors='coerce').to_numpy(dtype=float), fks)


def strongest(found):
    """The one of ``found`` (objects with a ``share``) with the largest share, the first on a
    tie; ``None`` when there is none."""
    return max(found, key=lambda f: f.share, default=None)


def _numbering(values: np.ndarray, parent: np.ndarray) -> tuple[int, float] | None:
    """``(start, share)`` when ``values`` number each parent's children, else ``None``."""
    keep = parent >= 0
    v, p = values[keep], parent[keep]
    if not len(v) or not np.isfinite(v).all() or (v != np.round(v)).any():
        return None
    order = np.lexsort((v, p))
    v, p = v[order], p[order]
    starts, sizes = _runs(p)
    big = sizes >= 2
    if big.sum() < MIN_PARENTS:
        return None
    minima = v[starts[big]]
    vals, counts = np.unique(minima, return_counts=True)
    start = vals[np.argmax(counts)]
    position = np.arange(len(v)) - np.repeat(starts, sizes)
    wrong = np.add.reduceat((v != start + position).astype(np.int64), starts)
    share = float((wrong[big] == 0).mean())
    if share < MIN_SHARE:
        return None
    return int(start), share


def _last_if_missing(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.inf, values)


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each run of equal values in sorted ``keys``."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.diff(np.r_[starts, len(keys)])


def apply_ranks(df: pd.DataFrame, ranks: list[RankColumn], links: dict[str, np.ndarray],
                rng: np.random.Generator) -> pd.DataFrame:
    """Replace each rank column of ``df`` by its ranks among each parent's children (the
    order of its generated values, ties at random).

    Rows without a parent (null foreign key) keep their values; a missing value ranks last
    in its parent. The column keeps its dtype.
    """
    for r in ranks:
        parent = links[r.fk]
        rows = np.flatnonzero(parent >= 0)
        if not len(rows):
            continue
        column = pd.to_numeric(df[r.column], errors='coerce').to_numpy(dtype=float, copy=True)
        p = parent[rows]
        order = np.lexsort((rng.random(len(rows)), _last_if_missing(column[rows]), p))
        starts, sizes = _runs(p[order])
        ranked = np.empty(len(rows))
        ranked[order] = r.start + np.arange(len(rows)) - np.repeat(starts, sizes)
        column[rows] = ranked
        put_keeping_dtype(df, r.column, column)
    return df


def put_keeping_dtype(df: pd.DataFrame, column: str, values: np.ndarray) -> None:
    """Write float ``values`` into ``df[column]`` in that column's dtype where they fit it."""
    out = pd.Series(values, index=df.index)
    try:
        out = out.astype(df[column].dtype)
    except (TypeError, ValueError):
        pass  # e.g. an int column with nulls in rows without a parent: stays float
    df[column] = out


__all__ = ['RankColumn', 'apply_ranks', 'find_rank_columns']
