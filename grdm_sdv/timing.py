"""Wall-clock timing of a fit and a sample, as ``grdm-sdv demo`` and the benchmarks report it.

Depends on nothing else in the package, so a benchmark can time an older ``grdm_sdv`` (one
that predates this module) with it: see ``benchmarks/_versions.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd

T = TypeVar('T')


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``(fn(*args, **kwargs), seconds it took)``, timed with ``time.perf_counter``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def fit_and_sample(
    synthesizer: Any, tables: Mapping[str, pd.DataFrame], scale: float = 1.0
) -> tuple[dict[str, pd.DataFrame], float, float]:
    """Fit ``synthesizer`` on ``tables``, then sample the whole database at ``scale``.

    Args:
        synthesizer: any SDV multi-table synthesizer (``GRDMSynthesizer``, SDV's
            ``HMASynthesizer``): ``fit(tables)``, then ``sample_scale(scale)``.
        tables: table name -> DataFrame.
        scale: size of the sample relative to ``tables``. (default: ``1.0``)

    Returns:
        ``(synthetic, fit_seconds, sample_seconds)``.
    """
    _, fit_seconds = timed(synthesizer.fit, tables)
    synthetic, sample_seconds = timed(synthesizer.sample_scale, scale)
    return synthetic, fit_seconds, sample_seconds
