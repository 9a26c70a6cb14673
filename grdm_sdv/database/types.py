"""SQL types and pandas values: the family of a SQL type (:func:`_kind`), database values as
the dtypes SDV expects (:func:`_from_sql`) and back (:func:`_to_sql`), and the SQL type chosen
for a column that has none (:func:`_type_of`, :func:`_generic`)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa


# A text column whose non-null values are all distinct, with at least this many of them, is
# free text (names, e-mails, comments): generated as placeholders, never copied.
FREE_TEXT_MIN_VALUES = 50


def _kind(sqltype) -> str | None:
    """The family of a SQL type, which decides its sdtype and how values are written."""
    for cls, kind in ((sa.Boolean, 'boolean'), (sa.Integer, 'integer'),
                      ((sa.Numeric, sa.Float), 'float'),
                      (sa.DateTime, 'datetime'), (sa.Date, 'date'), (sa.Time, 'time'),
                      (sa.Enum, 'enum'), (sa.Uuid, 'uuid'), (sa.String, 'text')):
        if isinstance(sqltype, cls):
            return kind
    return None


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


def _to_sql(values: pd.Series, kind: str | None, datetime_format: str | None = None) -> list:
    """A column as Python values the driver binds for its SQL type; nulls as ``None``."""
    present = values.notna().to_numpy()
    if kind in ('date', 'datetime'):
        parsed = pd.to_datetime(values, format=datetime_format, errors='coerce')
        out = parsed.dt.date if kind == 'date' else pd.Series(parsed.dt.to_pydatetime(), dtype=object)
        present = parsed.notna().to_numpy()
    elif kind == 'integer':
        out = _each_present(values, _sql_int)
    elif kind == 'float':
        out = values.astype(object).map(float)
    elif kind == 'boolean':
        out = _each_present(values, bool)
    elif kind == 'time':
        out = _each_present(values, lambda v: datetime.time.fromisoformat(str(v)))
    elif kind == 'uuid':
        out = _each_present(values, lambda v: uuid.UUID(str(v)))
    else:
        out = values.map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v))
    return [v if ok else None for v, ok in zip(out.tolist(), present)]


def _each_present(values: pd.Series, convert: Callable) -> pd.Series:
    """``convert`` applied to each non-null value; nulls become ``None``."""
    return values.map(lambda v: convert(v) if pd.notna(v) else None)


def _sql_int(value) -> int:
    """An INTEGER column's value: ints and digit strings (keys beyond int64) exactly, never
    through a float; other numbers rounded."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip('+-').isdigit():
        return int(value)
    return int(round(float(value)))


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


def _generic(sqltype: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """``sqltype`` as its generic SQLAlchemy type, for a database of another dialect."""
    try:
        return sqltype.as_generic()
    except NotImplementedError:
        return sa.Text()


def _is_free_text(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) >= FREE_TEXT_MIN_VALUES and present.is_unique
