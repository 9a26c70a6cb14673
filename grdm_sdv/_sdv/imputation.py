"""Point estimates of imputed cells from several draws."""

from __future__ import annotations

import numpy as np
import pandas as pd


def point_estimate(frames: list[pd.DataFrame], columns: dict) -> pd.DataFrame:
    """Cell by cell over several imputed copies of one table: the mean of numerical and
    datetime columns, the most frequent value of every other column (ties: the first draw)."""
    out = frames[0].copy()
    for c in out.columns:
        sdtype = columns.get(c, {}).get('sdtype')
        values = [f[c] for f in frames]
        if sdtype in ('numerical', 'datetime'):
            if pd.api.types.is_datetime64_any_dtype(values[0]):
                stamps = np.stack([v.to_numpy(dtype='datetime64[ns]').astype('int64') for v in values], 1)
                mean = pd.to_datetime(stamps.mean(1).round().astype('int64'))
                out[c] = pd.Series(mean, index=out.index).where(values[0].notna())
                continue
            if not pd.api.types.is_numeric_dtype(values[0]):
                continue  # strings (e.g. a formatted number) are left as drawn
            numbers = np.stack([pd.to_numeric(v).to_numpy(dtype=float, na_value=np.nan) for v in values], 1)
            seen = (~np.isnan(numbers)).sum(1)
            mean = np.where(seen > 0, np.nansum(numbers, 1) / np.maximum(seen, 1), np.nan)
            if pd.api.types.is_integer_dtype(values[0]):
                mean = np.round(mean)
            mean = pd.Series(mean, index=out.index)
            out[c] = mean if mean.isna().any() else mean.astype(values[0].dtype)
        else:
            codes, _ = pd.factorize(pd.concat(values, ignore_index=True), use_na_sentinel=False)
            codes = codes.reshape(len(values), -1).T  # (rows, draws)
            votes = (codes[:, :, None] == codes[:, None, :]).sum(1)
            pick = votes.argmax(1)
            stacked = np.stack([v.to_numpy(dtype=object) for v in values], 1)
            out[c] = pd.Series(stacked[np.arange(len(stacked)), pick], index=out.index).astype(values[0].dtype)
    return out
