"""Plots of an evaluation, drawn on matplotlib ``Figure`` objects by the Agg canvas.

pyplot and the global matplotlib backend are never touched.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._tables import _NUMERIC, Tables, _check_inputs, _metadata_dict, _prepare_table
from .metrics.pairs import summarize_k_hop
from .result import EvaluationResult


def _new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` drawn by the Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout='constrained')
    FigureCanvasAgg(figure)
    return figure


def _safe_name(name: str) -> str:
    return ''.join(char if char.isalnum() or char in '-_' else '_' for char in name)


def plot_hops(result: EvaluationResult, path: str | Path) -> Path:
    """Bar chart of the mean k-hop score per hop, all pairs against strong pairs.

    Args:
        result: Output of :func:`evaluate`.
        path: PNG file to write.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trends = result.details.get('k_hop', pd.DataFrame(columns=['hop', 'score', 'real_strength']))
    threshold = float(result.params.get('strong_threshold', 0.3))
    all_pairs = summarize_k_hop(trends)
    strong = summarize_k_hop(trends, threshold=threshold)
    hops = sorted(all_pairs)
    figure = _new_figure(max(4.0, 1.2 * len(hops) + 2), 3.5)
    axis = figure.add_subplot()
    positions = np.arange(len(hops))
    axis.bar(positions - 0.2, [all_pairs[h] for h in hops], width=0.4, label='all pairs')
    axis.bar(
        positions + 0.2,
        [strong.get(h, np.nan) for h in hops],
        width=0.4,
        label=f'strong pairs (real strength >= {threshold:g})',
    )
    axis.set_xticks(positions, [f'{h}-hop' for h in hops])
    axis.set_ylim(0, 1.25)
    axis.set_yticks(np.linspace(0, 1, 6))
    axis.set_ylabel('mean score')
    axis.set_title('k-hop column-pair trends')
    axis.legend(loc='upper center', ncols=2, fontsize='small', frameon=False)
    figure.savefig(path, dpi=100)
    return path


def plot_column_distributions(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    folder: str | Path,
    *,
    max_columns: int = 24,
    max_categories: int = 15,
) -> list[Path]:
    """One PNG per table: real against synthetic distribution of each attribute column.

    Numeric and datetime columns: overlaid density histograms on shared bins; categorical
    and boolean columns: side-by-side relative frequencies of the ``max_categories`` most
    frequent real values. Tables without attribute columns get no file.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        folder: Directory for ``columns_<table>.png``.
        max_columns: Columns drawn per table, the first ones in metadata order
            (default: ``24``).
        max_categories: Categories drawn per categorical column (default: ``15``).

    Returns:
        The written paths, in sorted table order.
    """
    meta, folder = _checked_folder(real, synthetic, metadata, folder)
    paths = []
    for table in sorted(meta['tables']):
        columns = _prepare_table(meta, table, real, synthetic)[:max_columns]
        if not columns:
            continue
        n_cols = min(4, len(columns))
        n_rows = math.ceil(len(columns) / n_cols)
        figure = _new_figure(3.2 * n_cols, 2.6 * n_rows)
        axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
        for axis, column in zip(axes, columns):
            real_values = column.real[~np.isnan(column.real)]
            syn_values = column.synthetic[~np.isnan(column.synthetic)]
            if column.kind == _NUMERIC:
                both = np.concatenate([real_values, syn_values])
                if len(both) and np.ptp(both) > 0:
                    edges = np.linspace(both.min(), both.max(), 31)
                else:
                    edges = 10
                if len(real_values):
                    axis.hist(real_values, bins=edges, density=True, alpha=0.5, label='real')
                if len(syn_values):
                    axis.hist(syn_values, bins=edges, density=True, alpha=0.5, label='synthetic')
            else:
                n_codes = len(column.categories)
                real_freq = np.bincount(real_values.astype(int), minlength=n_codes)
                syn_freq = np.bincount(syn_values.astype(int), minlength=n_codes)
                real_freq = real_freq / max(real_freq.sum(), 1)
                syn_freq = syn_freq / max(syn_freq.sum(), 1)
                top = np.argsort(-real_freq, kind='stable')[:max_categories]
                positions = np.arange(len(top))
                axis.bar(positions - 0.2, real_freq[top], width=0.4, label='real')
                axis.bar(positions + 0.2, syn_freq[top], width=0.4, label='synthetic')
                labels = [str(label)[:12] for label in column.categories[top]]
                axis.set_xticks(positions, labels, rotation=60, fontsize='x-small')
            axis.set_title(column.name, fontsize='small')
            axis.tick_params(labelsize='x-small')
        axes[0].legend(fontsize='x-small')
        for axis in axes[len(columns):]:
            axis.set_visible(False)
        figure.suptitle(f'{table}: real vs synthetic')
        path = folder / f'columns_{_safe_name(table)}.png'
        figure.savefig(path, dpi=80)
        paths.append(path)
    return paths


def plot_correlation_difference(
    real: Tables, synthetic: Tables, metadata: Any, folder: str | Path
) -> list[Path]:
    """One heatmap per table of ``|corr_real - corr_synthetic|`` (Pearson).

    Only numeric and datetime attribute columns are used; tables with fewer than two get
    no file. Colors span 0 to 1 (larger differences saturate).

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        folder: Directory for ``correlation_<table>.png``.

    Returns:
        The written paths, in sorted table order.
    """
    meta, folder = _checked_folder(real, synthetic, metadata, folder)
    paths = []
    for table in sorted(meta['tables']):
        columns = [c for c in _prepare_table(meta, table, real, synthetic) if c.kind == _NUMERIC]
        if len(columns) < 2:
            continue
        names = [column.name for column in columns]
        real_corr = pd.DataFrame({c.name: c.real for c in columns}).corr().to_numpy()
        syn_corr = pd.DataFrame({c.name: c.synthetic for c in columns}).corr().to_numpy()
        difference = np.abs(np.nan_to_num(real_corr) - np.nan_to_num(syn_corr))
        size = 1.5 + 0.5 * len(names)
        figure = _new_figure(size + 1.5, size)
        axis = figure.add_subplot()
        image = axis.imshow(difference, vmin=0.0, vmax=1.0, cmap='Reds')
        axis.set_xticks(range(len(names)), names, rotation=60, fontsize='small')
        axis.set_yticks(range(len(names)), names, fontsize='small')
        if len(names) <= 12:
            for (i, j), value in np.ndenumerate(difference):
                axis.text(j, i, f'{value:.2f}', ha='center', va='center', fontsize='x-small')
        figure.colorbar(image, ax=axis, extend='max', label='|corr real - corr synthetic|')
        axis.set_title(f'{table}: correlation difference')
        path = folder / f'correlation_{_safe_name(table)}.png'
        figure.savefig(path, dpi=80)
        paths.append(path)
    return paths


def _checked_folder(real: Tables, synthetic: Tables, metadata: Any, folder: str | Path) -> tuple[dict, Path]:
    """The metadata dict, after checking both datasets, and the output folder, created."""
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return meta, folder
