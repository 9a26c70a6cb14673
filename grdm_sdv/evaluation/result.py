"""Every metric together: :func:`evaluate` and its :class:`EvaluationResult`."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._tables import Tables, _check_inputs, _metadata_dict
from .metrics.cardinality import cardinality_scores
from .metrics.detection import detection_c2st_agg
from .metrics.pairs import co_parent_trends, k_hop_trends, summarize_co_parent, summarize_k_hop
from .metrics.privacy import privacy_dcr
from .metrics.quality import quality_report
from .metrics.spread import column_spread, sibling_structure

LOGGER = logging.getLogger(__name__)

# Summary entries ``(metric, value)``, in the order ``EvaluationResult.summary`` lists them.
_Summary = list[tuple[str, float]]


def _json_value(value: Any) -> Any:
    """Python scalars for JSON: NaN/inf -> None, numpy scalars -> int/float."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured.

    Attributes:
        summary: Tidy table with columns ``metric, value``.
        details: Per-item tables: ``'cardinality'``, ``'k_hop'``, ``'co_parent'``,
            ``'spread'``, ``'siblings'``, ``'detection'``, ``'privacy'`` (those that were
            computed).
        params: Settings the evaluation ran with (``strong_threshold``, ``hops``,
            ``seed``, ``detection_classifier``, ``seconds`` per part).
    """

    summary: pd.DataFrame
    details: dict[str, pd.DataFrame] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        """Value of one summary metric, e.g. ``result['hop_1']``."""
        matches = self.summary.loc[self.summary['metric'] == metric, 'value']
        if matches.empty:
            raise KeyError(
                f'No metric {metric!r}; available: {list(self.summary["metric"])}.'
            )
        return float(matches.iloc[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (NaN becomes ``None``)."""
        return {
            'summary': {
                str(metric): _json_value(value)
                for metric, value in zip(self.summary['metric'], self.summary['value'])
            },
            'details': {
                name: [
                    {str(key): _json_value(value) for key, value in record.items()}
                    for record in frame.to_dict(orient='records')
                ]
                for name, frame in self.details.items()
            },
            'params': json.loads(json.dumps(self.params, default=_json_value)),
        }


def evaluate(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    *,
    holdout: Tables | None = None,
    hops: int | None = None,
    strong_threshold: float = 0.3,
    detection: bool = True,
    privacy: bool = True,
    quality: bool = True,
    seed: int = 0,
) -> EvaluationResult:
    """Run every metric of this package and gather a summary.

    Summary metrics: ``quality_overall``, ``column_shapes``, ``column_pair_trends``,
    ``cardinality``, ``intertable_trends`` (SDMetrics, when ``quality``);
    ``cardinality_ks`` (mean of :func:`cardinality_scores`); ``hop_<k>`` (mean k-hop
    score over all pairs) and ``hop_<k>_strong`` (over pairs with real strength
    ``>= strong_threshold``; NaN if none); ``co_parent`` and ``co_parent_strong``
    (the same two means over :func:`co_parent_trends`' pairs of two parents of one child
    row; NaN without a table of two foreign keys); ``std_ratio_min`` and ``std_ratio_max``
    (extremes of :func:`column_spread`'s synthetic / real standard deviations);
    ``sibling_log_ratio`` (mean ``|log ratio|``
    of :func:`sibling_structure`, 0 when siblings spread as in the real data);
    ``detection_mean_accuracy`` (when
    ``detection``); ``dcr_synthetic_median``, ``dcr_holdout_median``,
    ``dcr_share_below_holdout_p5``, ``dcr_exact_match_share`` (means over tables, when
    ``privacy``).

    Args:
        real: Real (training) tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        holdout: Real tables the synthesizer never saw, for :func:`privacy_dcr`
            (default: ``None``, split ``real`` in halves).
        hops: Longest k-hop chain (default: ``None``, all).
        strong_threshold: Real-dependence threshold of the strong-pair k-hop scores
            (default: ``0.3``).
        detection: Run C2ST-Agg (default: ``True``).
        privacy: Run the DCR privacy check (default: ``True``).
        quality: Run the SDMetrics quality report (default: ``True``).
        seed: Seed for every sampled part (default: ``0``).

    Returns:
        An :class:`EvaluationResult`.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    summary: _Summary = []
    details: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    params: dict[str, Any] = {
        'strong_threshold': strong_threshold,
        'hops': hops,
        'seed': seed,
        'seconds': seconds,
    }

    def run(name: str, part: Callable[[], _Summary]) -> None:
        """Run one part, add its summary entries and time it."""
        start = time.perf_counter()
        summary.extend(part())
        seconds[name] = time.perf_counter() - start

    if quality:
        run('quality', lambda: _quality_part(real, synthetic, meta))
    run('cardinality', lambda: _cardinality_part(real, synthetic, meta, details))
    run('k_hop', lambda: _k_hop_part(real, synthetic, meta, details, hops, strong_threshold, seed))
    run('siblings', lambda: _spread_part(real, synthetic, meta, details))
    if detection:
        run('detection', lambda: _detection_part(real, synthetic, meta, details, params, seed))
    if privacy:
        run('privacy', lambda: _privacy_part(real, holdout, synthetic, meta, details, seed))

    LOGGER.debug('evaluate timings: %s', seconds)
    frame = pd.DataFrame(summary, columns=['metric', 'value'])
    frame['value'] = frame['value'].astype(float)
    return EvaluationResult(summary=frame, details=details, params=params)


# --------------------------------------------------------------------------------------
# The parts of evaluate: each runs its metrics, stores their tables in ``details`` and
# returns its summary entries.
# --------------------------------------------------------------------------------------


def _quality_part(real: Tables, synthetic: Tables, meta: dict) -> _Summary:
    scores = quality_report(real, synthetic, meta)
    return [('quality_overall', scores.pop('overall')), *scores.items()]


def _cardinality_part(
    real: Tables, synthetic: Tables, meta: dict, details: dict[str, pd.DataFrame]
) -> _Summary:
    cardinality = cardinality_scores(real, synthetic, meta)
    details['cardinality'] = cardinality
    mean_cardinality = float(cardinality['score'].mean()) if len(cardinality) else np.nan
    return [('cardinality_ks', mean_cardinality)]


def _k_hop_part(
    real: Tables,
    synthetic: Tables,
    meta: dict,
    details: dict[str, pd.DataFrame],
    hops: int | None,
    strong_threshold: float,
    seed: int,
) -> _Summary:
    trends = k_hop_trends(real, synthetic, meta, max_hops=hops, seed=seed)
    details['k_hop'] = trends
    all_pairs = summarize_k_hop(trends)
    strong_pairs = summarize_k_hop(trends, threshold=strong_threshold)
    summary = [(f'hop_{hop}', all_pairs[hop]) for hop in sorted(all_pairs)]
    summary += [(f'hop_{hop}_strong', strong_pairs.get(hop, np.nan)) for hop in sorted(all_pairs)]
    co_parents = co_parent_trends(real, synthetic, meta, seed=seed)
    details['co_parent'] = co_parents
    summary += [('co_parent', summarize_co_parent(co_parents)),
                ('co_parent_strong', summarize_co_parent(co_parents, strong_threshold))]
    return summary


def _spread_part(
    real: Tables, synthetic: Tables, meta: dict, details: dict[str, pd.DataFrame]
) -> _Summary:
    spread = column_spread(real, synthetic, meta)
    details['spread'] = spread
    ratios = spread['ratio'].dropna()
    summary = [
        ('std_ratio_min', float(ratios.min()) if len(ratios) else np.nan),
        ('std_ratio_max', float(ratios.max()) if len(ratios) else np.nan),
    ]
    siblings = sibling_structure(real, synthetic, meta)
    details['siblings'] = siblings
    # Mean |log ratio|: 0 when every sibling spread matches the real one.
    log_ratio = np.log(siblings['ratio'].to_numpy(dtype=float))
    log_ratio = log_ratio[np.isfinite(log_ratio)]
    mean_log_ratio = float(np.abs(log_ratio).mean()) if len(log_ratio) else np.nan
    summary.append(('sibling_log_ratio', mean_log_ratio))
    return summary


def _detection_part(
    real: Tables,
    synthetic: Tables,
    meta: dict,
    details: dict[str, pd.DataFrame],
    params: dict[str, Any],
    seed: int,
) -> _Summary:
    detected = detection_c2st_agg(real, synthetic, meta, seed=seed)
    details['detection'] = detected
    params['detection_classifier'] = (
        str(detected['classifier'].iloc[0]) if len(detected) else None
    )
    return [('detection_mean_accuracy', detected.attrs['mean_accuracy'])]


def _privacy_part(
    real: Tables,
    holdout: Tables | None,
    synthetic: Tables,
    meta: dict,
    details: dict[str, pd.DataFrame],
    seed: int,
) -> _Summary:
    dcr = privacy_dcr(real, holdout, synthetic, meta, seed=seed)
    details['privacy'] = dcr
    summary = []
    for column in (
        'dcr_synthetic_median', 'dcr_holdout_median', 'share_below_holdout_p5',
        'exact_match_share',
    ):
        name = column if column.startswith('dcr_') else f'dcr_{column}'
        values = dcr[column].dropna()
        summary.append((name, float(values.mean()) if len(values) else np.nan))
    return summary
