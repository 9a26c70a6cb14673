"""One sampled table back to the user's form: RDT reverse transform, foreign keys, dtypes."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..data.schema import RelationalSchema
from . import keys

LOGGER = logging.getLogger(__name__)


def finalize_table(synth, schema: RelationalSchema, table: str, attrs: pd.DataFrame,
                   links: dict[str, np.ndarray], done: dict[str, pd.DataFrame],
                   columns: list[str]) -> pd.DataFrame:
    """Reverse-transform ``attrs`` with the table's single-table ``synth`` (its RDT processor
    and constraints), fill its foreign keys from ``links`` and the decoded parents in
    ``done``, and cast back to the training dtypes; ``columns`` first, in metadata order."""
    proc = synth._data_processor
    df = proc.reverse_transform(attrs)
    text_keys = keys.fill_foreign_keys(schema, table, df, links, done)
    df = synth.reverse_transform_constraints(df)
    for name, dtype in proc._dtypes.items():
        if name not in df.columns:
            continue
        if name in text_keys and pd.api.types.is_numeric_dtype(dtype):
            continue  # a float or Int64 FK would round them: keep the parent's strings
        try:
            df[name] = df[name].astype(dtype)
        except (TypeError, ValueError, OverflowError):
            # e.g. an int FK that now holds nulls: keep the wider type, as HMA does.
            LOGGER.info("Could not cast column '%s.%s' back to %s.", table, name, dtype)
    columns = [c for c in columns if c in df.columns]
    extra = [c for c in df.columns if c not in columns]
    return df[columns + extra]
