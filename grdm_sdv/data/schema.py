"""Relational schema: tables, primary keys and foreign keys (the graph's edge types).

Built from a plain metadata dict (SDV's ``Metadata.to_dict()`` form) so the model layer never
touches SDV objects. Every walk over tables or keys is in a fixed, sorted order so results do
not depend on ``PYTHONHASHSEED``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForeignKey:
    """One foreign key: ``child.column`` references ``parent``'s primary key.

    ``name`` is a short internal id (``fk0``, ``fk1``, ...) used as the PyG relation name, so
    that table and column names with any characters are safe and two FKs to the same parent
    stay distinct edge types.
    """

    child: str
    column: str
    parent: str
    parent_key: str
    name: str


@dataclass
class RelationalSchema:
    """Tables in topological order (parents first) and their foreign keys.

    Attributes:
        tables: table names, parents before children, ties broken by name.
        primary_keys: table -> primary key column (``None`` when the table has none).
        foreign_keys: all foreign keys, ordered by (child, column).
    """

    tables: list[str]
    primary_keys: dict[str, str | None]
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    @classmethod
    def from_metadata_dict(cls, metadata: dict) -> 'RelationalSchema':
        """Build the schema from an SDV metadata dict (``Metadata.to_dict()``)."""
        tables_meta = metadata.get('tables', {})
        names = sorted(tables_meta)
        pks = {t: tables_meta[t].get('primary_key') for t in names}
        fks = cls.read_foreign_keys(metadata)
        return cls(tables=_topological_order(names, fks), primary_keys=pks, foreign_keys=fks)

    @staticmethod
    def read_foreign_keys(metadata: dict) -> list[ForeignKey]:
        """Every relationship of a metadata dict as a ``ForeignKey``, by (child, column, parent).

        Read as they are, without checking that their tables exist or that they form no cycle
        (the evaluation walks such metadata too); :meth:`from_metadata_dict` also orders the
        tables, which raises on a cycle. Ties keep the metadata's order.
        """
        rels = sorted(
            metadata.get('relationships', []),
            key=lambda r: (r['child_table_name'], r['child_foreign_key'], r['parent_table_name']),
        )
        return [
            ForeignKey(
                child=r['child_table_name'],
                column=r['child_foreign_key'],
                parent=r['parent_table_name'],
                parent_key=r['parent_primary_key'],
                name=f'fk{i}',
            )
            for i, r in enumerate(rels)
        ]

    def foreign_key(self, name: str) -> ForeignKey:
        """The foreign key with internal name ``name`` (``ForeignKey.name``)."""
        return next(fk for fk in self.foreign_keys if fk.name == name)

    def parents_of(self, table: str) -> list[ForeignKey]:
        """Foreign keys held by ``table`` (its edges to parent tables)."""
        return [fk for fk in self.foreign_keys if fk.child == table]

    def children_of(self, table: str) -> list[ForeignKey]:
        """Foreign keys that point at ``table`` (its edges to child tables)."""
        return [fk for fk in self.foreign_keys if fk.parent == table]

    def roots(self) -> list[str]:
        """Tables without parents."""
        return [t for t in self.tables if not self.parents_of(t)]

    def levels(self, latest: bool = False) -> dict[str, int]:
        """Table -> foreign-key level: 0 without parents, else one more than its deepest parent.

        ``latest=True``: every table with children sits one level above its nearest child
        instead (as late as its children allow; tables without children keep their level),
        so a parent of deep tables only, such as F1's drivers (parents of race results, two
        levels down), is not placed at the top with the tables its children descend from.
        """
        d: dict[str, int] = {}
        for t in self.tables:  # topological order: parents first
            d[t] = 1 + max((d[fk.parent] for fk in self.parents_of(t)), default=-1)
        if latest:
            for t in reversed(self.tables):  # children first
                below = [d[fk.child] for fk in self.children_of(t)]
                if below:
                    d[t] = min(below) - 1
        return d

    def depth(self) -> int:
        """Number of tables on the longest parent->child chain (SDV's definition)."""
        d: dict[str, int] = {}
        for t in self.tables:
            d[t] = 1 + max((d[fk.parent] for fk in self.parents_of(t)), default=0)
        return max(d.values(), default=0)


def _topological_order(names: list[str], fks: list[ForeignKey]) -> list[str]:
    remaining = {t: {fk.parent for fk in fks if fk.child == t and fk.parent != t} for t in names}
    order: list[str] = []
    while remaining:
        ready = sorted(t for t, ps in remaining.items() if not ps)
        if not ready:
            cycle = sorted(remaining)
            raise ValueError(f'The foreign keys form a cycle among tables {cycle}.')
        for t in ready:
            order.append(t)
            del remaining[t]
        for ps in remaining.values():
            ps.difference_update(ready)
    return order
