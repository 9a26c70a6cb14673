"""Sibling templates: child columns whose values over one parent's children take one of a
few fixed compositions.

In MovieLens 93% of the movies bill exactly five actors with ``cast_num = 1``; in F1 a race
hands out the points of its era's points system, the same multiset for every race of a
size. The denoiser draws each row from its own conditional and hears at most ``fanout``
siblings through their parent, so the generated movies bill 2 to 7 such actors and a
detector that sees each parent's children's mean tells them apart (MovieLens ``movie``
at 0.66-0.71). Such columns are found at fit time: a numerical child column with few
distinct values whose *composition* (the multiset of the values of one parent's children)
is, for most parents, the most common composition among the parents with as many children,
far more often than when the values are shuffled across parents. At sampling, every
generated parent with ``n`` children takes the real composition of size ``n`` nearest to
its generated one, put in the generated order (ties at random): the model still says which
child takes which value and, through the choice of the nearest composition, which parents
get which; the training data says which compositions exist. Only compositions that at
least :data:`MIN_REPEATS` real parents share are kept, so no parent's own values are
copied. Measured in ``docs/fidelity.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .ranks import _runs, child_columns, put_keeping_dtype, strongest
from .schema import RelationalSchema

#: Candidates have from 2 to this many distinct values.
MAX_VALUES = 24
#: Compositions are compared over the parents with at least this many children...
MIN_SIZE = 3
#: ... of which there must be this many (fewer are no evidence).
MIN_PARENTS = 20
#: A column qualifies when at least this share of those parents has its size's most common
#: composition...
MIN_SHARE = 0.5
#: ... and that share is at least this many times the share with the values shuffled.
MIN_LIFT = 2.0
#: A composition is kept as a template when this many real parents have it.
MIN_REPEATS = 3
#: Distances computed per block of at most this many (parents x templates x size) cells.
_BLOCK = 4_000_000


@dataclass(frozen=True, eq=False)
class SiblingTemplate:
    """``table.column`` takes, over each parent's children along ``fk``, one of the stored
    compositions of its size.

    Attributes:
        table: the child table.
        column: its numerical column.
        fk: the foreign key's internal name (``ForeignKey.name``) that groups the siblings.
        fk_column: that foreign key's column, for messages.
        share: share of the real parents (``MIN_SIZE`` or more children) whose composition
            is the most common one of their size.
        baseline: the same share with the column's values shuffled across the child rows.
        templates: size ``n`` -> ``(m, n)`` float array, each row one composition (sorted
            values) that at least ``MIN_REPEATS`` real parents of size ``n`` have.
    """

    table: str
    column: str
    fk: str
    fk_column: str
    share: float
    baseline: float
    templates: dict[int, np.ndarray] = field(repr=False)


def find_sibling_templates(schema: RelationalSchema, tables: dict[str, pd.DataFrame],
                           links: dict[str, np.ndarray], numerical: Callable[[str], list[str]],
                           exclude: set[tuple[str, str]] = frozenset()) -> list[SiblingTemplate]:
    """The template columns of a database: at most one foreign key per column (the largest
    share).

    Args:
        schema: the tables and foreign keys.
        tables: table -> DataFrame with the values as the model sees them (processed).
        links: fk name -> parent row of every child row (``-1`` where null).
        numerical: table -> its numerical attribute columns (candidates).
        exclude: ``(table, column)`` pairs left out (the rank columns, numbered instead).
    """
    found = []
    for table, column, values, fks in child_columns(schema, tables, numerical, exclude):
        if not 2 <= len(np.unique(values[np.isfinite(values)])) <= MAX_VALUES:
            continue
        best = strongest(SiblingTemplate(table, column, fk.name, fk.column, *got) for fk in fks
                         if (got := _qualify(values, links[fk.name])) is not None)
        if best is not None:
            found.append(best)
    return found


def _compositions(values: np.ndarray, parent: np.ndarray, keep: np.ndarray):
    """``(sizes, counts, distinct)``: over the ``keep`` rows, per parent its number of
    children and its count of each of the ``distinct`` values (``(parents, distinct values)``)."""
    distinct, code = np.unique(values[keep], return_inverse=True)
    parents, row = np.unique(parent[keep], return_inverse=True)
    k = len(distinct)
    counts = np.bincount(row * k + code, minlength=len(parents) * k).reshape(len(parents), k)
    return counts.sum(1), counts, distinct


def _modal_share(sizes: np.ndarray, counts: np.ndarray) -> float:
    """Share of the parents (``MIN_SIZE`` or more children) whose composition is the most
    common one among the parents of their size."""
    big = sizes >= MIN_SIZE
    keys, freq = np.unique(counts[big], axis=0, return_counts=True)
    size_of = keys.sum(1)
    modal = pd.Series(freq).groupby(size_of).max()
    return float(modal.sum() / big.sum())


def _qualify(values: np.ndarray, parent: np.ndarray):
    """``(share, baseline, templates)`` when ``values`` take a few fixed compositions per
    parent of ``parent``, else ``None``."""
    keep = (parent >= 0) & np.isfinite(values)
    sizes, counts, distinct = _compositions(values, parent, keep)
    if (sizes >= MIN_SIZE).sum() < MIN_PARENTS:
        return None
    share = _modal_share(sizes, counts)
    shuffled = values.copy()
    shuffled[keep] = np.random.default_rng(0).permutation(values[keep])
    baseline = _modal_share(*_compositions(shuffled, parent, keep)[:2])
    if share < MIN_SHARE or share < MIN_LIFT * baseline:
        return None
    keys, freq = np.unique(counts, axis=0, return_counts=True)
    templates: dict[int, list[np.ndarray]] = {}
    for key in keys[freq >= MIN_REPEATS]:
        templates.setdefault(int(key.sum()), []).append(np.repeat(distinct, key))
    return share, baseline, {n: np.stack(rows) for n, rows in templates.items()}


def apply_templates(df: pd.DataFrame, templates: list[SiblingTemplate],
                    links: dict[str, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
    """Give each template column of ``df`` its nearest real composition per parent.

    A parent's valued children, sorted by their generated values (ties at random), take the
    sorted values of the stored composition of their size at the smallest L1 distance from
    the generated sorted values (ties at random). Parents of a size with no stored
    composition, rows without a parent and missing values keep what was generated. The
    column keeps its dtype.
    """
    for tpl in templates:
        parent = links[tpl.fk]
        column = pd.to_numeric(df[tpl.column], errors='coerce').to_numpy(dtype=float, copy=True)
        rows = np.flatnonzero((parent >= 0) & np.isfinite(column))
        if not len(rows):
            continue
        order = rows[np.lexsort((rng.random(len(rows)), column[rows], parent[rows]))]
        starts, sizes = _runs(parent[order])
        values = column[order]
        for n in np.intersect1d(np.unique(sizes), list(tpl.templates)):
            comps = tpl.templates[int(n)]
            first = starts[sizes == n]
            step = max(1, _BLOCK // (len(comps) * int(n)))
            for a in range(0, len(first), step):
                cells = first[a:a + step, None] + np.arange(n)
                gap = np.abs(values[cells][:, None, :] - comps[None]).sum(2)
                # Among equally near compositions, one at random.
                low = gap.min(1, keepdims=True)
                pick = np.argmax((gap <= low + 1e-9 * (1 + low)) * (rng.random(gap.shape) + 1), 1)
                values[cells] = comps[pick]
        column[order] = values
        put_keeping_dtype(df, tpl.column, column)
    return df


__all__ = ['SiblingTemplate', 'apply_templates', 'find_sibling_templates']
