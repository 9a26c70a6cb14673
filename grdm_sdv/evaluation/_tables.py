"""Metadata walking and column preparation, shared by every metric.

``_metadata_dict`` normalizes the metadata. Relationships are read through
``RelationalSchema.read_foreign_keys`` (``data/schema.py``, the library's one reader) and visited
in fixed orders that results and seeds depend on: ``_foreign_keys`` by (parent, child, foreign
key), ``_upward_paths`` by (hops, start table, path label). ``_prepare_table`` turns the
attribute columns of both datasets into float arrays; ``_parent_positions`` and
``_follow_chain`` join rows along foreign keys by position.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.schema import ForeignKey, RelationalSchema

_NUMERIC_SDTYPES = frozenset({'numerical', 'datetime'})
_CATEGORICAL_SDTYPES = frozenset({'categorical', 'boolean'})
_NUMERIC = 'numeric'
_CATEGORICAL = 'categorical'

Tables = Mapping[str, pd.DataFrame]


def _metadata_dict(metadata: Any) -> dict:
    """Return the ``to_dict()`` form of ``metadata`` (an SDV ``Metadata`` or a dict)."""
    if hasattr(metadata, 'to_dict'):
        meta = metadata.to_dict()
    elif isinstance(metadata, Mapping):
        meta = copy.deepcopy(dict(metadata))
    else:
        raise TypeError(
            'metadata must be an sdv.metadata.Metadata or its dict form, got '
            f'{type(metadata).__name__}.'
        )
    if 'tables' not in meta:
        raise ValueError(
            "metadata has no 'tables' entry; pass a multi-table Metadata or the dict from "
            'Metadata.to_dict().'
        )
    meta.setdefault('relationships', [])
    return meta


def _foreign_keys(meta: dict) -> list[ForeignKey]:
    """Foreign keys between known tables, sorted by (parent, child, foreign key)."""
    tables = meta['tables']
    fks = [
        fk
        for fk in RelationalSchema.read_foreign_keys(meta)
        if fk.parent in tables and fk.child in tables
    ]
    return sorted(fks, key=lambda fk: (fk.parent, fk.child, fk.column))


def _key_columns(meta: dict, table: str) -> set[str]:
    """Primary, alternate and foreign key columns of ``table``."""
    table_meta = meta['tables'][table]
    keys: set[str] = set()
    primary_key = table_meta.get('primary_key')
    if isinstance(primary_key, str):
        keys.add(primary_key)
    elif primary_key:
        keys.update(primary_key)
    for alternate in table_meta.get('alternate_keys', []) or []:
        if isinstance(alternate, str):
            keys.add(alternate)
        else:
            keys.update(alternate)
    keys.update(fk.column for fk in RelationalSchema.read_foreign_keys(meta) if fk.child == table)
    return keys


def _attribute_columns(meta: dict, table: str) -> list[tuple[str, str, dict]]:
    """``(column, kind, column_metadata)`` for the non-key columns that are evaluated.

    Numerical and datetime columns are ``'numeric'``; categorical and boolean columns are
    ``'categorical'``; id, PII and other sdtypes are skipped. Metadata order is kept.
    """
    keys = _key_columns(meta, table)
    columns = []
    for name, spec in meta['tables'][table].get('columns', {}).items():
        if name in keys:
            continue
        sdtype = spec.get('sdtype')
        if sdtype in _NUMERIC_SDTYPES:
            columns.append((name, _NUMERIC, spec))
        elif sdtype in _CATEGORICAL_SDTYPES:
            columns.append((name, _CATEGORICAL, spec))
    return columns


def _check_inputs(meta: dict, *datasets: tuple[str, Tables]) -> None:
    """Raise one ``ValueError`` naming every table or column missing from the data."""
    problems = []
    for label, data in datasets:
        if not isinstance(data, Mapping):
            problems.append(
                f'{label} must be a dict of table name to DataFrame, got {type(data).__name__}'
            )
            continue
        for table in sorted(meta['tables']):
            if table not in data:
                problems.append(f'{label} has no table {table!r}')
                continue
            needed = {name for name, _, _ in _attribute_columns(meta, table)}
            needed |= _key_columns(meta, table)
            missing = sorted(needed - set(data[table].columns))
            if missing:
                problems.append(f'{label}[{table!r}] lacks columns {missing}')
    if problems:
        raise ValueError(
            'Cannot evaluate: ' + '; '.join(problems) + '. Pass tables with the columns '
            'the metadata describes.'
        )


def _numeric_values(series: pd.Series, spec: dict) -> np.ndarray:
    """Float values of a numerical or datetime column (datetimes as int64 ns), NaN if missing."""
    if spec.get('sdtype') == 'datetime':
        if pd.api.types.is_datetime64_any_dtype(series):
            stamps = series
        else:
            stamps = pd.to_datetime(
                series, format=spec.get('datetime_format'), errors='coerce'
            )
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):
            stamps = stamps.dt.tz_convert(None)
        raw = stamps.to_numpy(dtype='datetime64[ns]')
        values = raw.astype('int64').astype(float)
        values[np.isnat(raw)] = np.nan
        return values
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(float)
    return pd.to_numeric(series, errors='coerce').to_numpy(dtype=float, na_value=np.nan)


def _as_labels(series: pd.Series) -> pd.Series:
    """Categorical values as strings (NaN kept); integral floats print as integers."""
    values = series
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            values = values.astype('Int64')
    labels = values.astype(object).to_numpy()
    mask = values.notna().to_numpy()
    out = np.full(len(values), np.nan, dtype=object)
    out[mask] = labels[mask].astype(str)
    return pd.Series(out, index=values.index)


def _category_codes(
    real: pd.Series, synthetic: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer codes (as float, NaN when missing) shared by real and synthetic values."""
    real_labels = _as_labels(real)
    syn_labels = _as_labels(synthetic)
    categories = np.unique(
        np.concatenate([real_labels.dropna().to_numpy(), syn_labels.dropna().to_numpy()])
        .astype(str)
    )

    def encode(labels: pd.Series) -> np.ndarray:
        codes = pd.Categorical(labels, categories=categories).codes.astype(float)
        codes[codes < 0] = np.nan
        return codes

    return encode(real_labels), encode(syn_labels), categories


@dataclass
class _Column:
    """One attribute column of a table, prepared for both datasets."""

    table: str
    name: str
    kind: str
    real: np.ndarray
    synthetic: np.ndarray
    categories: np.ndarray | None = None


def _prepare_table(
    meta: dict, table: str, real: Tables, synthetic: Tables
) -> list[_Column]:
    """Float arrays for every attribute column (categoricals share codes across datasets)."""
    columns = []
    for name, kind, spec in _attribute_columns(meta, table):
        real_series = real[table][name]
        syn_series = synthetic[table][name]
        if kind == _NUMERIC:
            columns.append(
                _Column(
                    table,
                    name,
                    kind,
                    _numeric_values(real_series, spec),
                    _numeric_values(syn_series, spec),
                )
            )
        else:
            real_codes, syn_codes, categories = _category_codes(real_series, syn_series)
            columns.append(_Column(table, name, kind, real_codes, syn_codes, categories))
    return columns


def _parent_positions(parent_keys: pd.Series, foreign_keys: np.ndarray) -> np.ndarray:
    """Row position in the parent of each foreign key value (-1 if absent or null).

    A duplicated parent key maps to its first row.
    """
    keys = pd.Index(parent_keys.to_numpy())
    first = ~keys.duplicated()
    unique_keys = keys[first]
    positions = np.flatnonzero(first)
    found = unique_keys.get_indexer(pd.Index(foreign_keys))
    return np.where(found >= 0, positions[np.clip(found, 0, None)], -1)


def _sample_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray:
    """Sorted row positions: all rows, or ``max_rows`` of them drawn without replacement."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


# --------------------------------------------------------------------------------------
# Foreign-key paths
# --------------------------------------------------------------------------------------
def _upward_paths(
    meta: dict, max_hops: int | None
) -> list[tuple[str, tuple[ForeignKey, ...]]]:
    """Every simple child->parent chain ``(start_table, relationships)`` of 1..max_hops hops.

    Tables are not revisited (so self-references and cycles stop); order is sorted.
    """
    up: dict[str, list[ForeignKey]] = {}
    for fk in sorted(_foreign_keys(meta), key=lambda fk: (fk.parent, fk.column)):
        up.setdefault(fk.child, []).append(fk)
    limit = len(meta['tables']) if max_hops is None else max_hops
    paths: list[tuple[str, tuple[ForeignKey, ...]]] = []

    def extend(start: str, chain: tuple[ForeignKey, ...], visited: frozenset) -> None:
        if len(chain) >= limit:
            return
        current = chain[-1].parent if chain else start
        for fk in up.get(current, []):
            parent = fk.parent
            if parent in visited:
                continue
            new_chain = chain + (fk,)
            paths.append((start, new_chain))
            extend(start, new_chain, visited | {parent})

    for table in sorted(meta['tables']):
        extend(table, (), frozenset({table}))
    return sorted(paths, key=lambda p: (len(p[1]), p[0], _path_label(p[0], p[1])))


def _path_label(start: str, chain: tuple[ForeignKey, ...]) -> str:
    """``'item -[order_id]-> order -[customer_id]-> customer'``."""
    label = start
    for fk in chain:
        label += f' -[{fk.column}]-> {fk.parent}'
    return label


def _follow_chain(data: Tables, chain: tuple[ForeignKey, ...], rows: np.ndarray) -> np.ndarray:
    """Row position in the chain's last table for each start row (-1 when a link breaks)."""
    positions = rows.copy()
    for fk in chain:
        valid = positions >= 0
        child_keys = data[fk.child][fk.column].to_numpy()
        parent_keys = data[fk.parent][fk.parent_key]
        next_positions = np.full(len(positions), -1, dtype=np.int64)
        next_positions[valid] = _parent_positions(parent_keys, child_keys[positions[valid]])
        positions = next_positions
    return positions
