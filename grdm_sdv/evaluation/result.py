"""Every metric together: :func:`evaluate` and its :class:`EvaluationResult`."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._tables import Tables, _check_inputs, _metadata_dict
from .metrics.cardinality import cardinality_scores
from .metrics.detection import detection_c2st_agg
from .metrics.pairs import k_hop_trends, summarize_k_hop
from .metrics.privacy import privacy_dcr
from .metrics.quality import quality_report
from .metrics.spread import column_spread, sibling_structure

LOGGER = logging.getLogger(__name__)


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
        details: Per-item tables: ``'cardinality'``, ``'k_hop'``, ``'detection'``,
            ``'privacy'`` (those that were computed).
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
    ``>= strong_threshold``; NaN if none); ``std_ratio_min`` and ``std_ratio_max``
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
    summary: list[tuple[str, float]] = []
    details: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    params: dict[str, Any] = {
        'strong_threshold': strong_threshold,
        'hops': hops,
        'seed': seed,
        'seconds': seconds,
    }

    if quality:
        start = time.perf_counter()
        scores = quality_report(real, synthetic, meta)
        summary.append(('quality_overall', scores.pop('overall')))
        summary.extend(scores.items())
        seconds['quality'] = time.perf_counter() - start

    start = time.perf_counter()
    cardinality = cardinality_scores(real, synthetic, meta)
    details['cardinality'] = cardinality
    mean_cardinality = float(cardinality['score'].mean()) if len(cardinality) else np.nan
    summary.append(('cardinality_ks', mean_cardinality))
    seconds['cardinality'] = time.perf_counter() - start

    start = time.perf_counter()
    trends = k_hop_trends(real, synthetic, meta, max_hops=hops, seed=seed)
    details['k_hop'] = trends
    all_pairs = summarize_k_hop(trends)
    strong_pairs = summarize_k_hop(trends, threshold=strong_threshold)
    for hop in sorted(all_pairs):
        summary.append((f'hop_{hop}', all_pairs[hop]))
    for hop in sorted(all_pairs):
        summary.append((f'hop_{hop}_strong', strong_pairs.get(hop, np.nan)))
    seconds['k_hop'] = time.perf_counter() - start

    start = time.perf_counter()
    spread = column_spread(real, synthetic, meta)
    details['spread'] = spread
    ratios = spread['ratio'].dropna()
    summary.append(('std_ratio_min', float(ratios.min()) if len(ratios) else np.nan))
    summary.append(('std_ratio_max', float(ratios.max()) if len(ratios) else np.nan))
    siblings = sibling_structure(real, synthetic, meta)
    details['siblings'] = siblings
    # Mean |log ratio|: 0 when every sibling spread matches the real one.
    log_ratio = np.log(siblings['ratio'].to_numpy(dtype=float))
    log_ratio = log_ratio[np.isfinite(log_ratio)]
    summary.append(('sibling_log_ratio', float(np.abs(log_ratio).mean()) if len(log_ratio) else np.nan))
    seconds['siblings'] = time.perf_counter() - start

    if detection:
        start = time.perf_counter()
        detected = detection_c2st_agg(real, synthetic, meta, seed=seed)
        details['detection'] = detected
        summary.append(('detection_mean_accuracy', detected.attrs['mean_accuracy']))
        params['detection_classifier'] = (
            str(detected['classifier'].iloc[0]) if len(detected) else None
        )
        seconds['detection'] = time.perf_counter() - start

    if privacy:
        start = time.perf_counter()
        dcr = privacy_dcr(real, holdout, synthetic, meta, seed=seed)
        details['privacy'] = dcr
        for column in (
            'dcr_synthetic_median', 'dcr_holdout_median', 'share_below_holdout_p5',
            'exact_match_share',
        ):
            name = column if column.startswith('dcr_') else f'dcr_{column}'
            values = dcr[column].dropna()
            summary.append((name, float(values.mean()) if len(values) else np.nan))
        seconds['privacy'] = time.perf_counter() - start

    LOGGER.debug('evaluate timings: %s', seconds)
    frame = pd.DataFrame(summary, columns=['metric', 'value'])
    frame['value'] = frame['value'].astype(float)
    return EvaluationResult(summary=frame, details=details, params=params)
