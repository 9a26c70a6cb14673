"""Databases in and out through SQLAlchemy (the code is in :mod:`grdm_sdv.database.read`)."""

from .read import (  # noqa: F401
    BATCH_ROWS, FREE_TEXT_MIN_VALUES, ColumnDDL, DatabaseSchema, DatabaseWriter, ForeignKeyDDL,
    TableDDL, _unique_columns, check_integrity, read_database, sample_to_database, write_database,
)
