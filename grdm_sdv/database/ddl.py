"""The DDL read from a source database and recreated in the target: a :class:`DatabaseSchema`
of :class:`TableDDL` (columns, primary key, foreign keys)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from .types import _generic


@dataclass(frozen=True)
class ColumnDDL:
    """One column as the source database declares it."""

    name: str
    type: sa.types.TypeEngine
    nullable: bool = True
    unique: bool = False


@dataclass(frozen=True)
class ForeignKeyDDL:
    """``column`` references ``parent.parent_column`` (the parent's primary key)."""

    column: str
    parent: str
    parent_column: str


@dataclass
class TableDDL:
    """A table's columns, primary key (``None`` if it has none) and foreign keys."""

    name: str
    columns: list[ColumnDDL]
    primary_key: str | None = None
    foreign_keys: list[ForeignKeyDDL] = field(default_factory=list)

    def to_table(self, metadata: sa.MetaData, generic: bool) -> sa.Table:
        """The SQLAlchemy table; ``generic``: each type as its generic SQLAlchemy type (for a
        database of another dialect than the source's)."""
        fks = {fk.column: fk for fk in self.foreign_keys}
        columns = []
        for col in self.columns:
            args = [sa.ForeignKey(f'{fks[col.name].parent}.{fks[col.name].parent_column}')] \
                if col.name in fks else []
            columns.append(sa.Column(
                col.name, _generic(col.type) if generic else col.type, *args,
                primary_key=col.name == self.primary_key, nullable=col.nullable,
                unique=col.unique or None, autoincrement=False,
            ))
        return sa.Table(self.name, metadata, *columns)


@dataclass
class DatabaseSchema:
    """What :func:`sample_to_database` needs to recreate a database's DDL.

    Attributes:
        dialect: the source's SQLAlchemy dialect (``'sqlite'``, ``'postgresql'``...); types
            are written as they are into a database of the same dialect, else as their
            generic SQLAlchemy type.
        source: the source URL, password hidden.
        tables: table name -> :class:`TableDDL`.
    """

    dialect: str | None
    source: str
    tables: dict[str, TableDDL]

    def to_dict(self) -> dict:
        """Printable form: table -> columns (name, SQL type, nullable, unique), keys."""
        return {t.name: {
            'columns': [{'name': c.name, 'type': str(c.type), 'nullable': c.nullable,
                         'unique': c.unique} for c in t.columns],
            'primary_key': t.primary_key,
            'foreign_keys': [vars(fk) for fk in t.foreign_keys],
        } for t in self.tables.values()}
