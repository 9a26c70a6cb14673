"""Reference rows of the quality benchmark: root splits and subsamples, shuffled links.

Everything works on ``dict[str, DataFrame]`` plus SDV metadata (an ``sdv.metadata.Metadata``
or its ``to_dict()`` form) and draws from a ``numpy.random.Generator`` the caller seeds.

* :func:`partition_by_root`: the rows of a database grouped by *root entity*. The chosen
  root table's rows get group labels; every table reachable from it downward follows its
  *primary parent* (the first foreign key, in sorted ``(parent, fk)`` order, whose parent is
  reached first from the root), so each root row and all its descendants share a group.
  Rows of the other tables (ancestors of the root, other parents of multi-parent tables,
  unrelated tables) go to every group whose rows reference them: a driver who raced in
  races of both halves is in both halves, so referential integrity holds in every group.
  Rows no one references (and descendants whose primary foreign key is null) draw a label
  from the root's label distribution.
* :func:`split_by_root`: two halves (train, holdout) for the ceiling and the holdout.
* :func:`subsample_by_root`: ``n`` root rows, their descendants and the rows those use
  (e.g. ``movie_lens``: the chosen movies, all their link rows, and their actors/directors).
* :func:`shuffle_links`: every foreign-key column permuted within its table: tables and
  children-per-parent counts unchanged, every dependence across tables gone.
* :func:`root_coverage`: which tables follow the root and which are shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from grdm_sdv.data.schema import ForeignKey, RelationalSchema

__all__ = [
    'derived_tables',
    'partition_by_root',
    'root_coverage',
    'shuffle_links',
    'split_by_root',
    'subsample_by_root',
]

Tables = Mapping[str, pd.DataFrame]


def _meta(metadata: Any) -> dict:
    meta = metadata.to_dict() if hasattr(metadata, 'to_dict') else dict(metadata)
    meta.setdefault('relationships', [])
    return meta


def _foreign_keys(meta: dict) -> list[ForeignKey]:
    """Foreign keys between tables of ``meta``, sorted by (parent, child, column): the order
    every walk here visits them, which the draws (and so the benchmark numbers) depend on."""
    tables = meta['tables']
    known = {**meta, 'relationships': [r for r in meta['relationships']
                                       if r['parent_table_name'] in tables
                                       and r['child_table_name'] in tables]}
    return sorted(RelationalSchema.from_metadata_dict(known).foreign_keys,
                  key=lambda fk: (fk.parent, fk.child, fk.column))


def derived_tables(metadata: Any, root: str) -> dict[str, ForeignKey | None]:
    """Tables that follow ``root`` downward, each with its primary-parent foreign key.

    Returns ``{table: ForeignKey}`` (``grdm_sdv.data.schema.ForeignKey``: ``child``,
    ``column``, ``parent``, ``parent_key``) in the order tables are reached (breadth-first,
    sorted), ``root`` first with ``None``. A table with several parents reached from the
    root follows the one reached first (ties: sorted ``(parent, fk)``).
    """
    meta = _meta(metadata)
    if root not in meta['tables']:
        raise ValueError(f'Unknown root table {root!r}; tables: {sorted(meta["tables"])}.')
    fks = _foreign_keys(meta)
    derived: dict[str, ForeignKey | None] = {root: None}
    frontier = [root]
    while frontier:
        reached = {}
        for fk in sorted(fks, key=lambda f: (f.child, f.parent, f.column)):
            if fk.child in derived or fk.child in reached or fk.parent not in frontier:
                continue
            reached[fk.child] = fk
        derived.update(reached)
        frontier = sorted(reached)
    return derived


def _positions(parent_keys: pd.Series, child_keys: pd.Series) -> np.ndarray:
    """Row position in the parent of each child key (-1 if null or dangling)."""
    index = pd.Index(parent_keys.to_numpy())
    if not index.is_unique:
        index = index[~index.duplicated()]
        first = np.flatnonzero(~pd.Index(parent_keys.to_numpy()).duplicated())
        found = index.get_indexer(pd.Index(child_keys.to_numpy()))
        return np.where(found >= 0, first[np.clip(found, 0, None)], -1)
    return index.get_indexer(pd.Index(child_keys.to_numpy()))


def partition_by_root(
    tables: Tables,
    metadata: Any,
    root: str,
    root_labels: np.ndarray,
    n_groups: int,
    rng: np.random.Generator,
) -> list[dict[str, pd.DataFrame]]:
    """Group the rows of every table by the root rows they descend from.

    Args:
        tables: Tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        root: The table whose rows define the groups.
        root_labels: Group of each root row, ``0 .. n_groups - 1``, or ``-1`` to drop it.
        n_groups: Number of groups.
        rng: Generator for the labels of rows that follow no root row.

    Returns:
        ``n_groups`` databases (same tables, rows in original order, index reset); a row
        referenced from several groups is in each of them.
    """
    meta = _meta(metadata)
    fks = _foreign_keys(meta)
    root_labels = np.asarray(root_labels, dtype=np.int64)
    if len(root_labels) != len(tables[root]):
        raise ValueError(f'root_labels has {len(root_labels)} entries, {root!r} has '
                         f'{len(tables[root])} rows.')
    if root_labels.min(initial=0) < -1 or root_labels.max(initial=-1) >= n_groups:
        raise ValueError(f'root_labels must lie in -1 .. {n_groups - 1}.')
    # Labels for rows that follow no root row: drawn like the root's (so -1, "dropped",
    # as often as among root rows).
    label_pool = root_labels if len(root_labels) else np.arange(n_groups)

    def draw(n: int) -> np.ndarray:
        return label_pool[rng.integers(0, len(label_pool), n)] if n else np.empty(0, np.int64)

    derived = derived_tables(meta, root)
    referenced = {name: np.zeros(len(frame), dtype=bool) for name, frame in tables.items()}
    positions = {}
    for fk in fks:
        pos = _positions(tables[fk.parent][fk.parent_key], tables[fk.child][fk.column])
        positions[fk] = pos
        referenced[fk.parent][pos[pos >= 0]] = True

    member: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for table, fk in derived.items():
        if fk is None:
            own = root_labels.copy()
        else:
            pos = positions[fk]
            parent_labels = labels[fk.parent]
            own = np.where(pos >= 0, parent_labels[np.clip(pos, 0, None)], -2)
            orphan = own == -2
            own[orphan] = draw(int(orphan.sum()))
        labels[table] = own
    for table in sorted(tables):
        n_rows = len(tables[table])
        matrix = np.zeros((n_groups, n_rows), dtype=bool)
        if table in labels:
            own = labels[table]
        else:
            own = np.full(n_rows, -1, dtype=np.int64)
            loose = ~referenced[table]
            own[loose] = draw(int(loose.sum()))
        for group in range(n_groups):
            matrix[group] = own == group
        member[table] = matrix

    _add_referenced_parents(member, fks, positions, n_groups)
    return [
        {name: tables[name].iloc[np.flatnonzero(member[name][group])].reset_index(drop=True)
         for name in tables}
        for group in range(n_groups)
    ]


def _add_referenced_parents(
    member: dict[str, np.ndarray], fks: list[ForeignKey], positions: dict[ForeignKey, np.ndarray],
    n_groups: int,
) -> None:
    """Closure: every parent row referenced from a group joins that group (to a fixpoint,
    since added rows may reference further parents). ``member[table]`` is the
    ``(n_groups, rows)`` membership matrix, updated in place."""
    changed = True
    while changed:
        changed = False
        for fk in fks:
            parent, child = fk.parent, fk.child
            pos = positions[fk]
            for group in range(n_groups):
                used = pos[member[child][group] & (pos >= 0)]
                missing = used[~member[parent][group][used]]
                if len(missing):
                    member[parent][group][missing] = True
                    changed = True


def split_by_root(
    tables: Tables, metadata: Any, root: str, rng: np.random.Generator, fraction: float = 0.5
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Split a database into two parts by root rows (``fraction`` of them in the first).

    Each root row and all its descendants go to one part; rows of other tables go to every
    part that references them (see :func:`partition_by_root`).
    """
    n_root = len(tables[root])
    labels = np.ones(n_root, dtype=np.int64)
    labels[rng.permutation(n_root)[: int(round(fraction * n_root))]] = 0
    first, second = partition_by_root(tables, metadata, root, labels, 2, rng)
    return first, second


def subsample_by_root(
    tables: Tables, metadata: Any, root: str, n_roots: int, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """``n_roots`` random root rows, all their descendants and the rows those reference."""
    n_root = len(tables[root])
    labels = np.full(n_root, -1, dtype=np.int64)
    labels[rng.choice(n_root, size=min(n_roots, n_root), replace=False)] = 0
    return partition_by_root(tables, metadata, root, labels, 1, rng)[0]


def shuffle_links(
    tables: Tables, metadata: Any, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """Copy of ``tables`` with every foreign-key column permuted within its table.

    Each foreign-key column gets its own permutation (so the foreign keys of a table with
    several parents are decoupled too); nulls move with the values, so null rates and the
    children-per-parent counts of every parent row stay exactly as they were.
    """
    meta = _meta(metadata)
    out = {name: frame.copy() for name, frame in tables.items()}
    for fk in _foreign_keys(meta):
        values = out[fk.child][fk.column].to_numpy(copy=True)
        out[fk.child][fk.column] = values[rng.permutation(len(values))]
    return out


def root_coverage(metadata: Any, root: str) -> dict[str, str]:
    """``{table: 'root' | 'follows <parent>.<fk>' | 'shared'}`` for documentation."""
    meta = _meta(metadata)
    derived = derived_tables(meta, root)
    coverage = {}
    for table in sorted(meta['tables']):
        fk = derived.get(table, False)
        if table == root:
            coverage[table] = 'root'
        elif fk:
            coverage[table] = f"follows {fk.parent} ({fk.column})"
        else:
            coverage[table] = 'shared (rows referenced by both parts are in both)'
    return coverage
