"""Databases in and out through SQLAlchemy.

* :func:`read_database` reads every table of a database (or a chosen subset) with SDV
  metadata built from the database's own schema, and the DDL to recreate it
  (:class:`DatabaseSchema`);
* :func:`sample_to_database` samples a fitted synthesizer straight into a new database with
  that DDL (streamed: one table at a time, parents first, one transaction);
* :func:`write_database` writes tables held in memory the same way;
* :func:`check_integrity` asks the database itself whether every foreign key has its parent.

The SQL type -> sdtype mapping, what the written DDL keeps and the limits are in
``docs/databases.md``.
"""

from __future__ import annotations

import datetime
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sdv.errors import SynthesizerInputError


# Rows per INSERT batch (one executemany each).
BATCH_ROWS = 10_000
# A text column whose non-null values are all distinct, with at least this many of them, is
# free text (names, e-mails, comments): generated as placeholders, never copied.
FREE_TEXT_MIN_VALUES = 50
# SDV's generated string keys ('sdv-id-XXXXXX') are this long; a shorter column gets a regex.
_SDV_ID_LENGTH = 13
_UUID_REGEX = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
_INT64 = np.iinfo(np.int64)


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


# --- reading ---------------------------------------------------------------------------------
def read_database(url: str, tables: list[str] | None = None):
    """Read a database: every table (or ``tables``), its SDV metadata and its DDL.

    The source is opened read-only where the driver allows it (SQLite: ``mode=ro``;
    PostgreSQL: a ``READ ONLY`` transaction) and only read.

    Args:
        url: a SQLAlchemy URL, e.g. ``sqlite:///shop.db`` or
            ``postgresql+psycopg://user:pw@host/db``.
        tables: the tables to read (default: all of the default schema).

    Returns:
        ``(data, metadata, schema)``: a dict of DataFrames (rows ordered by primary key), an
        ``sdv.metadata.Metadata`` and a :class:`DatabaseSchema`. Store the schema on the
        fitted synthesizer (``synth.database_schema = schema``) so that
        :func:`sample_to_database` recreates the same DDL.

    Raises:
        SynthesizerInputError: unreachable database, missing driver, unknown tables,
            composite keys, self-references or cycles of foreign keys; every schema problem
            at once, each naming its table and the fix.
    """
    from sdv.metadata import Metadata

    engine = _engine(url, read_only=True)
    try:
        with _connect(engine, url) as conn:
            if engine.dialect.name == 'postgresql':
                conn.execute(sa.text('SET TRANSACTION READ ONLY'))
            ddl = _reflect(sa.inspect(conn), url, tables)
            data = {name: _read_table(conn, t, url) for name, t in ddl.items()}
    finally:
        engine.dispose()
    ddl = {name: _fill_untyped(t, data[name]) for name, t in ddl.items()}
    meta = {'METADATA_SPEC_VERSION': 'V1',
            'tables': {name: _table_metadata(t, data[name]) for name, t in ddl.items()},
            'relationships': [
                {'parent_table_name': fk.parent, 'child_table_name': name,
                 'parent_primary_key': fk.parent_column, 'child_foreign_key': fk.column}
                for name, t in ddl.items() for fk in t.foreign_keys]}
    schema = DatabaseSchema(engine.dialect.name, _masked(url), ddl)
    return data, Metadata.load_from_dict(meta), schema


def _reflect(inspector, url: str, wanted: list[str] | None) -> dict[str, TableDDL]:
    """Every chosen table's DDL; all schema problems collected, raised once."""
    names = sorted(inspector.get_table_names())
    if wanted is not None:
        unknown = [t for t in wanted if t not in names]
        if unknown:
            raise SynthesizerInputError(
                f'{_masked(url)} has no table(s) {unknown}; its tables are {names}.')
        names = sorted(set(wanted))
    if not names:
        raise SynthesizerInputError(f'{_masked(url)} has no tables to read.')
    errors: list[str] = []
    ddl = {}
    for name in names:
        table, table_errors = _reflect_table(inspector, name, set(names))
        ddl[name] = table
        errors += table_errors
    errors += _cycle_errors(ddl)
    if errors:
        raise SynthesizerInputError(
            f'Cannot read {_masked(url)} as an SDV database:\n  - ' + '\n  - '.join(errors))
    return ddl


def _reflect_table(inspector, name: str, chosen: set[str]) -> tuple[TableDDL, list[str]]:
    errors = []
    pk = inspector.get_pk_constraint(name).get('constrained_columns') or []
    if len(pk) > 1:
        errors.append(f"Table '{name}' has a composite primary key {pk}, which SDV metadata "
                      'cannot describe: give it a single-column key, or leave the table out.')
    foreign_keys = []
    for fk in inspector.get_foreign_keys(name):
        cols, parent, ref = fk['constrained_columns'], fk['referred_table'], fk['referred_columns']
        where = f"Table '{name}': foreign key {cols} -> {parent}{ref}"
        if len(cols) > 1:
            errors.append(f'{where} is composite, which SDV metadata cannot describe: '
                          'replace it by a single-column key, or leave the table out.')
        elif parent == name:
            errors.append(f'{where} references its own table, which SDV metadata cannot '
                          'describe: leave the table out, or move the reference into a link '
                          f'table with two foreign keys to {name}.')
        elif parent not in chosen:
            errors.append(f'{where} references a table that is not read: read {parent} too, '
                          f'or leave {name} out.')
        else:
            parent_pk = inspector.get_pk_constraint(parent).get('constrained_columns') or []
            if parent_pk != ref:
                errors.append(f"{where} references {ref}, not {parent}'s primary key "
                              f'{parent_pk}: SDV relationships must point at a primary key.')
            else:
                foreign_keys.append(ForeignKeyDDL(cols[0], parent, ref[0]))
    unique = _unique_columns(inspector, name)
    keys = set(pk) | {fk.column for fk in foreign_keys}
    columns = []
    for col in inspector.get_columns(name):
        kind = _kind(col['type'])
        if kind is None and not isinstance(col['type'], sa.types.NullType):
            if col['name'] in keys:
                errors.append(f"Table '{name}': key column '{col['name']}' has type "
                              f"{col['type']}, which cannot be a generated key.")
            else:
                warnings.warn(f"Table '{name}': column '{col['name']}' ({col['type']}) is "
                              'left out: its type has no SDV sdtype.', stacklevel=4)
            continue
        # UNIQUE holds in the output for generated (id) columns only: keys and alternate keys.
        is_unique = col['name'] in unique and col['name'] not in keys \
            and kind in ('integer', 'text', 'uuid')
        # nullable as declared (SQLite reports its INTEGER PRIMARY KEY as nullable)
        columns.append(ColumnDDL(col['name'], col['type'], bool(col['nullable']), is_unique))
    return TableDDL(name, columns, pk[0] if len(pk) == 1 else None, foreign_keys), errors


def _unique_columns(inspector, name: str) -> set[str]:
    """Columns with a single-column UNIQUE constraint or unique index."""
    groups = [u['column_names'] for u in inspector.get_unique_constraints(name)]
    groups += [i['column_names'] for i in inspector.get_indexes(name) if i.get('unique')]
    if inspector.dialect.name == 'sqlite':
        # An inline 'email TEXT UNIQUE' is only an automatic index, which reflection skips.
        quoted = inspector.dialect.identifier_preparer.quote(name)
        for index in inspector.bind.exec_driver_sql(f'PRAGMA index_list({quoted})').mappings():
            if index['unique'] and index['origin'] == 'u':
                info = f'PRAGMA index_info({inspector.dialect.identifier_preparer.quote(index["name"])})'
                groups.append([row['name'] for row in inspector.bind.exec_driver_sql(info).mappings()])
    return {g[0] for g in groups if len(g) == 1}


def _cycle_errors(ddl: dict[str, TableDDL]) -> list[str]:
    parents = {t: {fk.parent for fk in d.foreign_keys if fk.parent != t} for t, d in ddl.items()}
    while True:  # peel off tables without remaining parents; what is left lies on cycles
        ready = {t for t, ps in parents.items() if not ps}
        if not ready:
            break
        parents = {t: ps - ready for t, ps in parents.items() if t not in ready}
    if not parents:
        return []
    return [f'The foreign keys of tables {sorted(parents)} form a cycle, which SDV metadata '
            'cannot describe: leave one of these tables out (tables=...), or make one link of '
            'the cycle a plain column.']


def _kind(sqltype) -> str | None:
    """The family of a SQL type, which decides its sdtype and how values are written."""
    for cls, kind in ((sa.Boolean, 'boolean'), (sa.Integer, 'integer'),
                      ((sa.Numeric, sa.Float), 'float'),
                      (sa.DateTime, 'datetime'), (sa.Date, 'date'), (sa.Time, 'time'),
                      (sa.Enum, 'enum'), (sa.Uuid, 'uuid'), (sa.String, 'text')):
        if isinstance(sqltype, cls):
            return kind
    return None


def _read_table(conn, ddl: TableDDL, url: str) -> pd.DataFrame:
    table = sa.table(ddl.name, *[sa.column(c.name, c.type) for c in ddl.columns])
    query = sa.select(table)
    if ddl.primary_key:
        query = query.order_by(table.c[ddl.primary_key])
    try:
        rows = conn.execute(query).fetchall()
    except sa.exc.DBAPIError as err:
        raise SynthesizerInputError(
            f"Could not read table '{ddl.name}' of {_masked(url)}: {_reason(err)}.") from err
    df = pd.DataFrame.from_records(rows, columns=[c.name for c in ddl.columns])
    for col in ddl.columns:
        df[col.name] = _from_sql(df[col.name], _kind(col.type))
    return df


def _from_sql(values: pd.Series, kind: str | None) -> pd.Series:
    """Database values as the dtype SDV expects for the column's sdtype."""
    if kind == 'integer':
        return values.astype('Int64') if values.isna().any() else values.astype('int64')
    if kind == 'float':
        return pd.to_numeric(values.astype(object).where(values.notna(), np.nan), errors='coerce') \
            .astype('float64')
    if kind in ('date', 'datetime'):
        out = pd.to_datetime(values, utc=True, errors='coerce') \
            if any(getattr(v, 'tzinfo', None) for v in values.dropna()[:1]) \
            else pd.to_datetime(values, errors='coerce')
        return out.dt.tz_convert(None) if out.dt.tz is not None else out
    if kind in ('time', 'uuid'):
        return values.map(lambda v: None if v is None else str(v)).astype(object)
    if kind == 'boolean' and values.notna().all():
        return values.astype(bool)
    return values


def _fill_untyped(ddl: TableDDL, df: pd.DataFrame) -> TableDDL:
    """Columns declared without a type (SQLite allows it) get the type of their values."""
    columns = [ColumnDDL(c.name, _type_of(df[c.name]), c.nullable, c.unique)
               if isinstance(c.type, sa.types.NullType) else c for c in ddl.columns]
    return TableDDL(ddl.name, columns, ddl.primary_key, ddl.foreign_keys)


def _type_of(values: pd.Series, datetime_format: str | None = None) -> sa.types.TypeEngine:
    """A generic SQL type for a column of values (for columns without a declared type)."""
    if pd.api.types.is_bool_dtype(values):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(values):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(values):
        return sa.Double()
    if pd.api.types.is_datetime64_any_dtype(values) or datetime_format:
        return sa.Date() if datetime_format and not any(
            p in datetime_format for p in ('%H', '%I', '%M', '%S', '%f')) else sa.DateTime()
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == 'boolean':
        return sa.Boolean()
    if inferred == 'integer':
        return sa.BigInteger()
    if inferred in ('floating', 'mixed-integer-float', 'decimal'):
        return sa.Double()
    return sa.Text()


def _table_metadata(ddl: TableDDL, df: pd.DataFrame) -> dict:
    """SDV metadata of one table, from its DDL (and, for text, its values)."""
    fks = {fk.column for fk in ddl.foreign_keys}
    columns, alternate = {}, []
    for col in ddl.columns:
        kind = _kind(col.type)
        if col.name == ddl.primary_key or col.name in fks or col.unique:
            spec = {'sdtype': 'id'}
            if kind == 'uuid':
                spec['regex_format'] = _UUID_REGEX
            elif kind == 'text' and getattr(col.type, 'length', None) \
                    and col.type.length < _SDV_ID_LENGTH and col.name not in fks:
                spec['regex_format'] = f'[A-Z0-9]{{{col.type.length}}}'
            if col.unique:
                alternate.append(col.name)
        elif kind == 'boolean':
            spec = {'sdtype': 'boolean'}
        elif kind in ('integer', 'float'):
            spec = {'sdtype': 'numerical',
                    'computer_representation': 'Int64' if kind == 'integer' else 'Float'}
        elif kind in ('date', 'datetime'):
            spec = {'sdtype': 'datetime'}
        elif kind == 'text' and _is_free_text(df[col.name]):
            spec = {'sdtype': 'unknown', 'pii': True}
        else:
            spec = {'sdtype': 'categorical'}
        columns[col.name] = spec
    out = {'columns': columns}
    if ddl.primary_key:
        out['primary_key'] = ddl.primary_key
    if alternate:
        out['alternate_keys'] = alternate
    return out


def _is_free_text(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) >= FREE_TEXT_MIN_VALUES and present.is_unique


# --- writing ---------------------------------------------------------------------------------
def sample_to_database(synthesizer, url: str, scale: float = 1.0, if_exists: str = 'fail',
                       batch_rows: int = BATCH_ROWS) -> dict[str, int]:
    """Sample ``synthesizer`` at ``scale`` straight into a new database at ``url``.

    Streamed: each table is written as soon as it is decoded (parents first, in batches of
    ``batch_rows``) and not kept, all in one transaction, so the sample can be larger than
    memory and a failure leaves the target as it was. The tables get the DDL stored in
    ``synthesizer.database_schema`` (set it from :func:`read_database`); a synthesizer fitted
    on DataFrames gets types from its columns' dtypes and keys from its metadata.

    Args:
        url: the target, e.g. ``sqlite:///synthetic.db`` (created if missing).
        if_exists: ``'fail'`` refuses a target that holds any table; ``'replace'`` drops the
            tables of the same names first (in the same transaction).

    Returns:
        table -> rows written.
    """
    schema = getattr(synthesizer, 'database_schema', None)
    metadata = synthesizer.get_metadata()
    with DatabaseWriter(url, metadata, schema, if_exists, batch_rows) as writer:
        synthesizer.sample_stream(writer, scale)
    return writer.rows


def write_database(data: dict[str, pd.DataFrame], url: str, metadata,
                   schema: DatabaseSchema | None = None, if_exists: str = 'fail',
                   batch_rows: int = BATCH_ROWS) -> dict[str, int]:
    """Write tables held in memory into a new database, as :func:`sample_to_database` does.

    Args:
        metadata: the ``sdv.metadata.Metadata`` of ``data`` (keys and relationships).
        schema: the DDL to recreate (from :func:`read_database`); ``None``: from dtypes.

    Returns:
        table -> rows written.
    """
    from ..data.schema import RelationalSchema

    order = RelationalSchema.from_metadata_dict(metadata.to_dict()).tables
    with DatabaseWriter(url, metadata, schema, if_exists, batch_rows) as writer:
        for table in order:
            writer(table, data[table])
    return writer.rows


class DatabaseWriter:
    """Writes tables into a database one at a time (parents first), in one transaction.

    Used as ``with DatabaseWriter(...) as writer: writer(table, df)``. Each table is created
    when it arrives (from the stored DDL, else from its dtypes and the metadata's keys) and
    filled in batches; the transaction commits when the block ends without error, and rolls
    back otherwise (a SQLite file it created is then removed). SQLite enforces foreign keys
    during the writes (``PRAGMA foreign_keys=ON``).
    """

    def __init__(self, url: str, metadata, schema: DatabaseSchema | None = None,
                 if_exists: str = 'fail', batch_rows: int = BATCH_ROWS) -> None:
        if if_exists not in ('fail', 'replace'):
            raise SynthesizerInputError(
                f"Invalid value for 'if_exists' ({if_exists!r}): use 'fail' or 'replace'.")
        if schema is not None and _masked(url) == schema.source:
            raise SynthesizerInputError(
                f'{_masked(url)} is the database the model was fitted on: write the synthetic '
                'data into another one.')
        self.url, self.schema, self.if_exists, self.batch_rows = url, schema, if_exists, batch_rows
        self.metadata = metadata.to_dict()
        self.rows: dict[str, int] = {}
        self._sa_metadata = sa.MetaData()

    def __enter__(self) -> 'DatabaseWriter':
        self._new_file = _sqlite_path(self.url)
        if self._new_file is not None and self._new_file.exists():
            self._new_file = None  # not ours to remove on failure
        self.engine = _engine(self.url, read_only=False)
        self.dialect = self.engine.dialect.name
        self.conn = _connect(self.engine, self.url)
        self.transaction = self.conn.begin()
        try:
            self._clear_target()
        except BaseException:
            self._close(ok=False)
            raise
        return self

    def _clear_target(self) -> None:
        existing = sorted(sa.inspect(self.conn).get_table_names())
        if not existing:
            return
        ours = [t for t in existing if t in self.metadata['tables']]
        if self.if_exists == 'fail':
            raise SynthesizerInputError(
                f'{_masked(self.url)} is not empty (it holds {existing}): write into a new '
                "database, or pass if_exists='replace' (--overwrite) to replace "
                f'{ours or "no table of it"}.')
        old = sa.MetaData()
        old.reflect(self.conn, only=ours)
        old.drop_all(self.conn)

    def __call__(self, table: str, df: pd.DataFrame) -> None:
        ddl = self.schema.tables[table] if self.schema is not None \
            else self._inferred(table, df)
        generic = self.schema is None or self.schema.dialect != self.dialect
        sa_table = ddl.to_table(self._sa_metadata, generic)
        spec = self.metadata['tables'][table]['columns']
        values = [_to_sql(df[c.name], _kind(c.type), spec.get(c.name, {}).get('datetime_format'))
                  for c in sa_table.columns]
        names = [c.name for c in sa_table.columns]
        wide = [c.name for c, vals in zip(sa_table.columns, values) if _kind(c.type) == 'integer'
                and any(v is not None and not _INT64.min <= v <= _INT64.max for v in vals)]
        if wide:
            raise SynthesizerInputError(
                f"Table '{table}' column(s) {wide} hold integers beyond the 64-bit range of their "
                'SQL type (keys made by a regex_format of 20 or more digits). Write without the '
                'stored schema (synthesizer.database_schema = None; such keys then become TEXT), '
                'or give the keys a regex_format of at most 18 digits. Nothing was written (the '
                'transaction is rolled back).')
        try:
            sa_table.create(self.conn)
            for start in range(0, len(df), self.batch_rows):
                batch = [dict(zip(names, row)) for row in
                         zip(*[v[start:start + self.batch_rows] for v in values])]
                self.conn.execute(sa_table.insert(), batch)
        except sa.exc.DBAPIError as err:
            raise SynthesizerInputError(
                f"Writing table '{table}' into {_masked(self.url)} failed: {_reason(err)}. "
                'Nothing was written (the transaction is rolled back).') from err
        self.rows[table] = len(df)

    def _inferred(self, table: str, df: pd.DataFrame) -> TableDDL:
        """DDL from the metadata's keys and the columns' dtypes (no stored schema)."""
        meta = self.metadata['tables'][table]
        pk = meta.get('primary_key')
        alternate = set(meta.get('alternate_keys', []) or [])
        fks = [ForeignKeyDDL(r['child_foreign_key'], r['parent_table_name'], r['parent_primary_key'])
               for r in self.metadata.get('relationships', []) if r['child_table_name'] == table]
        parent_type = {fk.column: self._sa_metadata.tables[fk.parent].c[fk.parent_column].type
                       for fk in fks}
        columns = [ColumnDDL(c, parent_type.get(c) or _type_of(
                       df[c], meta['columns'].get(c, {}).get('datetime_format')),
                       nullable=c != pk, unique=c in alternate) for c in df.columns]
        return TableDDL(table, columns, pk, fks)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._close(ok=exc_type is None)

    def _close(self, ok: bool) -> None:
        try:
            if ok:
                self.transaction.commit()
            else:
                self.transaction.rollback()
        finally:
            self.conn.close()
            self.engine.dispose()
            if not ok and self._new_file is not None:
                self._new_file.unlink(missing_ok=True)


def _to_sql(values: pd.Series, kind: str | None, datetime_format: str | None = None) -> list:
    """A column as Python values the driver binds for its SQL type; nulls as ``None``."""
    present = values.notna().to_numpy()
    if kind in ('date', 'datetime'):
        parsed = pd.to_datetime(values, format=datetime_format, errors='coerce')
        out = parsed.dt.date if kind == 'date' else pd.Series(parsed.dt.to_pydatetime(), dtype=object)
        present = parsed.notna().to_numpy()
    elif kind == 'integer':
        out = values.map(lambda v: _sql_int(v) if pd.notna(v) else None)
    elif kind == 'float':
        out = values.astype(object).map(float)
    elif kind == 'boolean':
        out = values.map(lambda v: bool(v) if pd.notna(v) else None)
    elif kind == 'time':
        out = values.map(lambda v: datetime.time.fromisoformat(str(v)) if pd.notna(v) else None)
    elif kind == 'uuid':
        out = values.map(lambda v: uuid.UUID(str(v)) if pd.notna(v) else None)
    else:
        out = values.map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v))
    return [v if ok else None for v, ok in zip(out.tolist(), present)]


def _sql_int(value) -> int:
    """An INTEGER column's value: ints and digit strings (keys beyond int64) exactly, never
    through a float; other numbers rounded."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip('+-').isdigit():
        return int(value)
    return int(round(float(value)))


# --- integrity -------------------------------------------------------------------------------
def check_integrity(url: str) -> list[str]:
    """The database's own word on its foreign keys: the problems found (empty: intact).

    SQLite: ``PRAGMA foreign_key_check``. Other databases: every foreign-key constraint
    must be enforced (PostgreSQL: validated, not ``NOT VALID``) and hold: no row whose
    non-null foreign key has no parent row.
    """
    engine = _engine(url, read_only=True)
    problems = []
    try:
        with _connect(engine, url) as conn:
            if engine.dialect.name == 'sqlite':
                for row in conn.exec_driver_sql('PRAGMA foreign_key_check'):
                    problems.append(f'{row[0]} row {row[1]}: no row in {row[2]} for foreign key #{row[3]}')
                return problems
            if engine.dialect.name == 'postgresql':
                for (name,) in conn.execute(sa.text(
                        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")):
                    problems.append(f'foreign key {name} is not validated')
            inspector = sa.inspect(conn)
            for child in inspector.get_table_names():
                for fk in inspector.get_foreign_keys(child):
                    problems += _orphans(conn, child, fk)
    finally:
        engine.dispose()
    return problems


def _orphans(conn, child: str, fk: dict) -> list[str]:
    c = sa.table(child, *[sa.column(n) for n in fk['constrained_columns']]).alias('c')
    p = sa.table(fk['referred_table'], *[sa.column(n) for n in fk['referred_columns']]).alias('p')
    on = sa.and_(*[c.c[a] == p.c[b] for a, b in zip(fk['constrained_columns'], fk['referred_columns'])])
    query = sa.select(sa.func.count()).select_from(c.outerjoin(p, on)).where(
        sa.and_(*[c.c[a].is_not(None) for a in fk['constrained_columns']]),
        p.c[fk['referred_columns'][0]].is_(None))
    n = conn.execute(query).scalar()
    return [f"{child}{fk['constrained_columns']}: {n} row(s) without a parent in "
            f"{fk['referred_table']}"] if n else []


# --- connections -----------------------------------------------------------------------------
def _engine(url: str, read_only: bool) -> sa.engine.Engine:
    """An engine for ``url``; SQLite read-only through its ``mode=ro`` URI when asked."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as err:
        raise SynthesizerInputError(
            f"'{url}' is not a SQLAlchemy URL: write it as dialect+driver://user:password@host/"
            'database, e.g. sqlite:///shop.db or postgresql+psycopg://user@localhost/shop.'
        ) from err
    path = _sqlite_path(url)
    if parsed.get_backend_name() == 'sqlite':
        if path is None:
            raise SynthesizerInputError(
                f"'{url}' names an in-memory SQLite database, which is gone when the command "
                'ends: name a file, e.g. sqlite:///synthetic.db.')
        if read_only and not path.exists():
            raise SynthesizerInputError(f"No SQLite database at '{path}' ({url}): check the path.")
        if read_only:
            parsed = sa.engine.make_url(f'sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true')
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(parsed)
    except sa.exc.NoSuchModuleError as err:
        raise SynthesizerInputError(
            f"SQLAlchemy has no dialect '{parsed.drivername}' ({_masked(url)}): check the "
            'spelling, or install the package that provides it.') from err
    except ImportError as err:
        raise SynthesizerInputError(
            f"The database driver for '{parsed.drivername}' is not installed ({err.name or err}): "
            'install it (e.g. pip install psycopg[binary] for postgresql+psycopg://), or name '
            'an installed driver in the URL.') from err
    if engine.dialect.name == 'sqlite':
        _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so DDL rolls back too (the recipe in
    SQLAlchemy's SQLite dialect docs), and enforce foreign keys."""
    @sa.event.listens_for(engine, 'connect')
    def _connect_hook(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute('PRAGMA foreign_keys=ON')

    @sa.event.listens_for(engine, 'begin')
    def _begin_hook(conn):
        conn.exec_driver_sql('BEGIN')


def _connect(engine, url: str):
    try:
        return engine.connect()
    except sa.exc.DBAPIError as err:
        raise SynthesizerInputError(
            f'Could not connect to {_masked(url)}: {_reason(err)}. Check that the server is '
            'running and that the URL (host, port, database, user, password) is right.') from err


def _reason(err: sa.exc.DBAPIError) -> str:
    """The driver's own message, first line."""
    return (str(getattr(err, 'orig', None) or err).strip().splitlines() or [''])[0]


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None``: not SQLite, or in memory)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != 'sqlite' or parsed.database in (None, '', ':memory:'):
        return None
    return Path(parsed.database).expanduser().resolve()


def _masked(url: str) -> str:
    """The URL with its password hidden (SQLite paths made absolute, so two spellings match)."""
    path = _sqlite_path(url)
    if path is not None:
        return f'sqlite:///{path}'
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return str(url)


def _generic(sqltype: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """``sqltype`` as its generic SQLAlchemy type, for a database of another dialect."""
    try:
        return sqltype.as_generic()
    except NotImplementedError:
        return sa.Text()
