"""Databases in and out through SQLAlchemy.

* :func:`read_database` reads every table of a database (or a chosen subset) with SDV
  metadata built from the database's own schema, and the DDL to recreate it
  (:class:`DatabaseSchema`);
* :func:`sample_to_database` samples a fitted synthesizer straight into a new database with
  that DDL (streamed: one table at a time, parents first, one transaction);
* :func:`write_database` writes tables held in memory the same way, and
  :func:`sharded_to_database` a finished sharded sample (``sample_sharded``), part by part;
* :func:`check_integrity` asks the database itself whether every foreign key has its parent.

The SQL type -> sdtype mapping, what the written DDL keeps and the limits are in
``docs/databases.md``.

Modules: ``read`` (reflection, metadata), ``write`` (:class:`DatabaseWriter`), ``integrity``,
``ddl`` (the DDL classes), ``types`` (SQL types <-> pandas values), ``connection`` (engines,
URLs, driver errors).
"""

from .ddl import ColumnDDL, DatabaseSchema, ForeignKeyDDL, TableDDL
from .integrity import check_integrity
from .read import read_database
from .types import FREE_TEXT_MIN_VALUES
from .write import BATCH_ROWS, DatabaseWriter, sample_to_database, sharded_to_database, write_database

__all__ = [
    'BATCH_ROWS', 'FREE_TEXT_MIN_VALUES', 'ColumnDDL', 'DatabaseSchema', 'DatabaseWriter',
    'ForeignKeyDDL', 'TableDDL', 'check_integrity', 'read_database', 'sample_to_database',
    'sharded_to_database', 'write_database',
]
