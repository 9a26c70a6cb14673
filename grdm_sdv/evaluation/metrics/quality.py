"""SDMetrics' unified quality report, as a dict of scores."""

from __future__ import annotations

from typing import Any

from .._tables import Tables, _check_inputs, _metadata_dict


def _snake(name: str) -> str:
    return name.strip().lower().replace(' ', '_')


def quality_report(real: Tables, synthetic: Tables, metadata: Any) -> dict[str, float]:
    """SDMetrics' unified ``QualityReport`` (the multi-table one is deprecated in 0.32).

    SDMetrics 0.32 scores Column Pair Trends only on pairs whose real dependence meets
    its thresholds (correlation 0.5, association 0.3); with no such pair the property
    is NaN and the overall score averages the others.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.

    Returns:
        ``{'overall': ..., 'column_shapes': ..., 'column_pair_trends': ...,
        'cardinality': ..., 'intertable_trends': ...}`` (the last two only with more
        than one table), as floats.
    """
    from sdmetrics.reports import QualityReport

    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    tables = sorted(meta['tables'])
    report = QualityReport()
    report.generate(
        {table: real[table] for table in tables},
        {table: synthetic[table] for table in tables},
        meta,
        verbose=False,
    )
    scores = {'overall': float(report.get_score())}
    for name, score in report.get_properties().itertuples(index=False):
        scores[_snake(name)] = float(score)
    return scores
