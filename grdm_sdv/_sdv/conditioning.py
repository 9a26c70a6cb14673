"""Known cells for conditional sampling and imputation, in the space the encoders read."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sdv.errors import SynthesizerInputError

from ..data.encoding import TableEncoder


def processed(processor, meta_columns: list[str], model_columns: list[str],
              df: pd.DataFrame) -> pd.DataFrame:
    """``df``'s attribute columns through the table's RDT ``processor``, row order kept.

    Columns the frame lacks come back as NaN (they are unknown to the caller).
    """
    full = df.reset_index(drop=True).copy()
    for c in meta_columns:
        if c not in full:
            full[c] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        out = processor.transform(full[meta_columns])
    return out.reset_index(drop=True).reindex(columns=model_columns)


def all_known(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every cell of a processed table known."""
    return values, pd.DataFrame(True, index=values.index, columns=values.columns)


def condition(table: str, encoder: TableEncoder, values: dict, n: int,
              process: Callable[[pd.DataFrame], pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` rows whose ``values`` columns are known (``{column: value}``), the rest unknown.

    Refuses columns the model does not generate and category values it never saw.
    """
    unknown = sorted(set(values) - set(encoder.columns))
    if unknown:
        raise SynthesizerInputError(
            f"Cannot condition table '{table}' on {unknown}: not attribute columns it models "
            f'(those are {encoder.columns}). Keys are set with fixed_tables instead.'
        )
    cats = {c.name: c.categories for c in encoder.cat_columns}
    for col, value in values.items():
        if col in cats and not any(value == v for v in cats[col]):
            raise SynthesizerInputError(
                f"Condition {table}.{col} = {value!r}: the model never saw this value "
                f'(known: {list(cats[col][:10])}{"..." if len(cats[col]) > 10 else ""}).'
            )
    out = process(pd.DataFrame({c: [v] * n for c, v in values.items()}))
    mask = pd.DataFrame(False, index=out.index, columns=out.columns)
    mask[list(values)] = True
    return out, mask
