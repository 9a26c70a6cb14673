"""HTML report of an evaluation: summary, detail tables and plots."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from ._tables import Tables
from .plots import plot_column_distributions, plot_correlation_difference, plot_hops
from .result import EvaluationResult


def _frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda value: f'{value:.4f}', na_rep='-',
                         border=0, classes='table')


def write_html_report(
    result: EvaluationResult,
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    path: str | Path,
) -> Path:
    """Write an HTML page with the summary, detail tables and plots.

    The PNGs go to a folder ``<stem>_files`` beside the HTML file and are linked with
    relative ``<img>`` tags, so the page and its folder can be moved together.

    Args:
        result: Output of :func:`evaluate`.
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        path: HTML file to write.

    Returns:
        The written HTML path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    assets = path.parent / f'{path.stem}_files'
    assets.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, Path]] = []
    if 'k_hop' in result.details:
        images.append(('k-hop trends', plot_hops(result, assets / 'hops.png')))
    for image in plot_column_distributions(real, synthetic, metadata, assets):
        images.append((f'Column distributions: {image.stem[len("columns_"):]}', image))
    for image in plot_correlation_difference(real, synthetic, metadata, assets):
        images.append((f'Correlation difference: {image.stem[len("correlation_"):]}', image))

    parts = [
        '<!DOCTYPE html>',
        '<html><head><meta charset="utf-8"><title>grdm-sdv evaluation</title>',
        '<style>body{font-family:sans-serif;margin:2em;max-width:1100px}'
        'table{border-collapse:collapse;margin-bottom:1.5em}'
        'td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}'
        'img{max-width:100%;margin-bottom:1.5em}</style></head><body>',
        '<h1>Synthetic data evaluation</h1>',
        '<h2>Summary</h2>',
        _frame_html(result.summary),
    ]
    classifier = result.params.get('detection_classifier')
    if classifier:
        parts.append(f'<p>Detection classifier: {html.escape(str(classifier))}</p>')
    titles = {
        'cardinality': 'Cardinality (1 - KS of children per parent)',
        'detection': 'Detection (C2ST-Agg accuracy; 0.5 = indistinguishable)',
        'privacy': 'Privacy (distance to closest record)',
    }
    for name, title in titles.items():
        if name in result.details:
            parts.append(f'<h2>{html.escape(title)}</h2>')
            parts.append(_frame_html(result.details[name]))
    parts.append('<h2>Plots</h2>')
    for title, image in images:
        source = f'{assets.name}/{image.name}'
        parts.append(f'<h3>{html.escape(title)}</h3>')
        parts.append(f'<img src="{html.escape(source)}" alt="{html.escape(title)}">')
    parts.append('</body></html>')
    path.write_text('\n'.join(parts), encoding='utf-8')
    return path
