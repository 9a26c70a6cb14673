"""Checks of the tables a user passes, collected into one error (SDV leaves several to deep tracebacks)."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd
from sdv.errors import InvalidDataError, SynthesizerInputError

from ..data.schema import RelationalSchema


def check_tables(meta, data) -> None:
    """Raise one error listing every problem SDV's base would hit late or not report.

    ``SynthesizerInputError`` when ``data`` is not a dict of DataFrames; otherwise an
    ``InvalidDataError`` with unknown or empty tables, foreign keys whose type cannot match
    their parent key, and unhashable category values.
    """
    if not isinstance(data, dict) or not all(isinstance(v, pd.DataFrame) for v in data.values()):
        held = (' holding ' + ', '.join(sorted({type(v).__name__ for v in data.values()}))
                if isinstance(data, dict) else '')
        raise SynthesizerInputError(
            f'Expected a dict of table name -> pandas.DataFrame, got '
            f'{type(data).__name__}{held}. Pass one DataFrame per table of the metadata.'
        )
    errors = _table_errors(meta, data) + _key_type_errors(meta, data) + _column_errors(meta, data)
    if errors:
        raise InvalidDataError(errors)


def unknown_reference(child: str, column: str, parent: str, parent_key: str,
                      values: pd.Series, unknown: np.ndarray) -> str:
    """The one message for foreign-key values with no parent row (validation and given keys)."""
    examples = pd.Series(values.to_numpy()[unknown]).drop_duplicates().head(5).tolist()
    return (f"Table '{child}' column '{column}' has {int(unknown.sum())} value(s) with no "
            f"matching '{parent_key}' in table '{parent}' (e.g. {examples}). Add the missing "
            f"'{parent}' rows, or drop these with "
            'sdv.utils.drop_unknown_references(data, metadata).')


def unknown_reference_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """FK values with no parent row, naming the child table, the parent and the count."""
    errors = []
    for child, fk, parent, pk in _relationships(meta, data):
        values = data[child][fk]
        unknown = (values.notna() & ~values.isin(data[parent][pk])).to_numpy()
        if unknown.any():
            errors.append(unknown_reference(child, fk, parent, pk, values, unknown))
    return errors


def _table_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """Tables the metadata does not know (SDV: a bare KeyError) and empty tables."""
    errors = []
    unknown = sorted(set(data) - set(meta.tables), key=str)
    if unknown:
        errors.append(f'The data has table(s) {unknown} that the metadata does not describe. '
                      'Remove them from the data, or add them to the metadata '
                      '(metadata.add_table).')
    empty = sorted(t for t, df in data.items() if t in meta.tables and df.empty)
    if empty:
        errors.append(f'Table(s) {empty} have no rows: every table needs at least one row '
                      'to be modelled. Add rows, or remove the table from the metadata '
                      '(metadata.remove_table).')
    return errors


def _relationships(meta, data: dict[str, pd.DataFrame]):
    """``(child, fk, parent, pk)`` of every relationship whose tables and columns are present
    (SDV's own checks name the missing ones), read by the one metadata walker."""
    for fk in RelationalSchema.read_foreign_keys(meta.to_dict()):
        if fk.child in data and fk.parent in data and fk.column in data[fk.child] \
                and fk.parent_key in data[fk.parent]:
            yield fk.child, fk.column, fk.parent, fk.parent_key


def _key_type_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """FKs that cannot match their parent key (SDV: a pandas merge ValueError)."""
    errors = []
    for child, fk, parent, pk in _relationships(meta, data):
        fk_dtype, pk_dtype = data[child][fk].dtype, data[parent][pk].dtype
        pk_num = pd.api.types.is_numeric_dtype(pk_dtype)
        if pd.api.types.is_numeric_dtype(fk_dtype) != pk_num:
            # Int64 (not int64) so that null foreign keys stay possible.
            target = ('Int64' if pd.api.types.is_integer_dtype(pk_dtype) else 'float64') \
                if pk_num else 'str'
            errors.append(
                f"Table '{child}' column '{fk}' (dtype {fk_dtype}) cannot match its parent key "
                f"'{parent}'.'{pk}' (dtype {pk_dtype}): give both the same type, e.g. "
                f"data['{child}']['{fk}'] = data['{child}']['{fk}'].astype('{target}')."
            )
    return errors


def _column_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """Unhashable category values (a pandas TypeError in fit)."""
    errors = []
    for table, df in data.items():
        columns = meta.tables[table].columns if table in meta.tables else {}
        for col in df.columns:
            spec = columns.get(col, {})
            if spec.get('sdtype') in ('categorical', 'boolean', 'id') and df[col].dtype == object:
                try:
                    pd.unique(df[col])
                except TypeError:
                    kind = next((type(v).__name__ for v in df[col]
                                 if not isinstance(v, Hashable)), 'unhashable')
                    errors.append(
                        f"Table '{table}' column '{col}' holds unhashable values ({kind}), which "
                        'cannot be categories. Convert them, e.g. to strings with '
                        f"data['{table}']['{col}'].astype(str)."
                    )
    return errors
