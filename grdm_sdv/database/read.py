"""Reading a database: its tables, SDV metadata built from its own schema, and the DDL to
recreate it (:func:`read_database`)."""

from __future__ import annotations

import warnings

import pandas as pd
import sqlalchemy as sa
from sdv.errors import SynthesizerInputError

from .connection import _masked, _reading, _reason
from .ddl import ColumnDDL, DatabaseSchema, ForeignKeyDDL, TableDDL
from .types import _from_sql, _is_free_text, _kind, _type_of


# SDV's generated string keys ('sdv-id-XXXXXX') are this long; a shorter column gets a regex.
_SDV_ID_LENGTH = 13
_UUID_REGEX = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'


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

    with _reading(url) as conn:
        dialect = conn.dialect.name
        if dialect == 'postgresql':
            conn.execute(sa.text('SET TRANSACTION READ ONLY'))
        ddl = _reflect(sa.inspect(conn), url, tables)
        data = {name: _read_table(conn, t, url) for name, t in ddl.items()}
    ddl = {name: _fill_untyped(t, data[name]) for name, t in ddl.items()}
    meta = {'METADATA_SPEC_VERSION': 'V1',
            'tables': {name: _table_metadata(t, data[name]) for name, t in ddl.items()},
            'relationships': [
                {'parent_table_name': fk.parent, 'child_table_name': name,
                 'parent_primary_key': fk.parent_column, 'child_foreign_key': fk.column}
                for name, t in ddl.items() for fk in t.foreign_keys]}
    schema = DatabaseSchema(dialect, _masked(url), ddl)
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
    pk = _primary_key(inspector, name)
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
            parent_pk = _primary_key(inspector, parent)
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


def _primary_key(inspector, name: str) -> list[str]:
    """The columns of ``name``'s primary key (empty: it has none)."""
    return inspector.get_pk_constraint(name).get('constrained_columns') or []


def _unique_columns(inspector, name: str) -> set[str]:
    """Columns with a single-column UNIQUE constraint or unique index."""
    groups = [u['column_names'] for u in inspector.get_unique_constraints(name)]
    groups += [i['column_names'] for i in inspector.get_indexes(name) if i.get('unique')]
    if inspector.dialect.name == 'sqlite':
        # An inline 'email TEXT UNIQUE' is only an automatic index, which reflection skips.
        quote = inspector.dialect.identifier_preparer.quote
        for index in inspector.bind.exec_driver_sql(f'PRAGMA index_list({quote(name)})').mappings():
            if index['unique'] and index['origin'] == 'u':
                info = f'PRAGMA index_info({quote(index["name"])})'
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


def _fill_untyped(ddl: TableDDL, df: pd.DataFrame) -> TableDDL:
    """Columns declared without a type (SQLite allows it) get the type of their values."""
    columns = [ColumnDDL(c.name, _type_of(df[c.name]), c.nullable, c.unique)
               if isinstance(c.type, sa.types.NullType) else c for c in ddl.columns]
    return TableDDL(ddl.name, columns, ddl.primary_key, ddl.foreign_keys)


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
