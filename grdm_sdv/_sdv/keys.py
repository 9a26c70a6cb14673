"""Keys <-> links: foreign-key values to parent row positions, and back after sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sdv.errors import SynthesizerInputError

from ..data.schema import RelationalSchema
from .validation import unknown_reference


def links(schema: RelationalSchema, data: dict[str, pd.DataFrame],
          tables: set[str] | None = None) -> dict[str, np.ndarray]:
    """Parent row index of every child row per FK (``-1`` for nulls).

    Works on processed data (the parent key is the index) and on raw tables (the key is a
    column). ``tables`` limits it to the FKs held by those tables.
    """
    out = {}
    for fk in schema.foreign_keys:
        if tables is not None and fk.child not in tables:
            continue
        if fk.parent not in data:
            raise SynthesizerInputError(
                f"Table '{fk.child}' is given but its parent '{fk.parent}' is not: give the "
                f'parent too (its rows are what {fk.child}.{fk.column} points at).'
            )
        parent = data[fk.parent]
        index = parent.index if parent.index.name == fk.parent_key or fk.parent_key not in parent \
            else pd.Index(parent[fk.parent_key])
        child = data[fk.child]
        # A primary key that is also the foreign key (1-to-1) is the index of processed data.
        values = child[fk.column] if fk.column in child or child.index.name != fk.column \
            else child.index.to_series(index=range(len(child)))
        idx = pd.Index(index).get_indexer(values)
        unknown = (idx < 0) & values.notna().to_numpy()
        if unknown.any():
            raise SynthesizerInputError(
                unknown_reference(fk.child, fk.column, fk.parent, fk.parent_key, values, unknown))
        out[fk.name] = idx.astype(np.int64)
    return out


def fill_foreign_keys(schema: RelationalSchema, table: str, df: pd.DataFrame,
                      links: dict[str, np.ndarray], done: dict[str, pd.DataFrame]) -> set[str]:
    """Write ``table``'s FK columns from the sampled edges and its decoded parents (in place).

    Returns the FK columns that point at text keys (integer keys beyond int64 come back as
    digit strings, which a cast to a numeric dtype would round).
    """
    text_keys = set()
    for fk in schema.parents_of(table):
        parent_keys = done[fk.parent][fk.parent_key]
        link = links[fk.name]
        values = parent_keys.take(np.clip(link, 0, None)).reset_index(drop=True)
        if (link < 0).any():
            values = values.astype(object).where(pd.Series(link >= 0), None)
        df[fk.column] = values.to_numpy()
        if parent_keys.dtype == object:
            text_keys.add(fk.column)
    return text_keys
