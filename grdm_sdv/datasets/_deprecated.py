"""Deprecated aliases kept for 0.2.1 callers: :mod:`grdm_sdv.evaluation` has the measures."""

from __future__ import annotations

import warnings

import pandas as pd


def association(x: pd.Series, y: pd.Series) -> float:
    """Deprecated: :func:`grdm_sdv.evaluation.pair_strength` is the library's one measure.

    Kept for 0.2.1 callers: ``|Pearson r|`` for two numeric columns, else Cramér's V with
    numbers in 10 quantile bins (0.2.1 measured Spearman and eta here). Rows with a null
    in either are dropped.
    """
    from ..evaluation import pair_strength

    warnings.warn('datasets.association is deprecated: use grdm_sdv.evaluation.pair_strength '
                  '(or cross_table_dependence).', DeprecationWarning, stacklevel=2)
    ok = x.notna().to_numpy() & y.notna().to_numpy()
    kinds, values = [], []
    for col in (x[ok], y[ok]):
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        kinds.append('numeric' if numeric else 'categorical')
        values.append(col.to_numpy(dtype=float) if numeric
                      else pd.factorize(col.astype(str))[0].astype(float))
    if len(values[0]) < 3:
        return float('nan')
    return pair_strength(kinds[0], kinds[1], values[0], values[1])


def cross_table_association(
    tables: dict[str, pd.DataFrame], metadata, ancestor: tuple[str, str], descendant: tuple[str, str]
) -> float:
    """Deprecated alias of :func:`grdm_sdv.evaluation.cross_table_dependence`."""
    from ..evaluation import cross_table_dependence

    warnings.warn('datasets.cross_table_association is deprecated: use '
                  'grdm_sdv.evaluation.cross_table_dependence.', DeprecationWarning, stacklevel=2)
    return cross_table_dependence(tables, metadata, ancestor, descendant)
