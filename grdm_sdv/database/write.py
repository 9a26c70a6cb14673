"""Writing a database: each table created from the stored DDL (or from its dtypes and the
metadata's keys) and filled in batches, all in one transaction (:class:`DatabaseWriter`,
used by :func:`sample_to_database` and :func:`write_database`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sdv.errors import SynthesizerInputError

from .connection import _connect, _engine, _masked, _reason, _sqlite_path
from .ddl import ColumnDDL, DatabaseSchema, ForeignKeyDDL, TableDDL
from .types import _kind, _to_sql, _type_of


# Rows per INSERT batch (one executemany each).
BATCH_ROWS = 10_000
_INT64 = np.iinfo(np.int64)


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


def sharded_to_database(folder, url: str, metadata, schema: DatabaseSchema | None = None,
                        if_exists: str = 'fail', batch_rows: int = BATCH_ROWS) -> dict[str, int]:
    """Load a finished sharded sample (the folder of ``GRDMSynthesizer.sample_sharded``) into
    a new database, as :func:`sample_to_database` does: parents first, part by part (one part
    in memory at a time), all in one transaction.

    Args:
        metadata: the synthesizer's ``sdv.metadata.Metadata`` (keys and relationships).
        schema: the DDL to recreate (``synthesizer.database_schema``); ``None``: from dtypes
            (Parquet parts keep them; CSV parts give what ``pandas.read_csv`` infers).

    Returns:
        table -> rows written.
    """
    from ..data.schema import RelationalSchema
    from ..sharding.store import read_manifest, read_part

    manifest = read_manifest(folder)
    order = RelationalSchema.from_metadata_dict(metadata.to_dict()).tables
    with DatabaseWriter(url, metadata, schema, if_exists, batch_rows) as writer:
        for table in order:
            for part in manifest['tables'][table]['parts']:
                writer(table, read_part(folder, manifest, table, part))
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
        """Create ``table`` and write ``df`` into it; a table written before gets ``df``
        appended (a sample that arrives in parts)."""
        sa_table = self._sa_metadata.tables.get(table)
        if sa_table is None:
            ddl = self.schema.tables[table] if self.schema is not None \
                else self._inferred(table, df)
            generic = self.schema is None or self.schema.dialect != self.dialect
            sa_table = ddl.to_table(self._sa_metadata, generic)
            sa_table.create(self.conn)
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
            for start in range(0, len(df), self.batch_rows):
                batch = [dict(zip(names, row)) for row in
                         zip(*[v[start:start + self.batch_rows] for v in values])]
                self.conn.execute(sa_table.insert(), batch)
        except sa.exc.DBAPIError as err:
            raise SynthesizerInputError(
                f"Writing table '{table}' into {_masked(self.url)} failed: {_reason(err)}. "
                'Nothing was written (the transaction is rolled back).') from err
        self.rows[table] = self.rows.get(table, 0) + len(df)

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
