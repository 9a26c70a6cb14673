"""Privacy: distance to closest record, synthetic and holdout rows against train."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._tables import (
    _NUMERIC,
    Tables,
    _as_labels,
    _attribute_columns,
    _check_inputs,
    _metadata_dict,
    _numeric_values,
    _sample_rows,
)


def _dcr_features(
    meta: dict, table: str, train: pd.DataFrame, others: list[pd.DataFrame], max_categories: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Standardized numeric + one-hot categorical matrices (statistics from ``train``).

    Missing numeric values sit at the train mean; categoricals keep the ``max_categories``
    most frequent train values plus one column for everything else (missing included).
    """
    train_blocks: list[np.ndarray] = []
    other_blocks: list[list[np.ndarray]] = [[] for _ in others]
    for name, kind, spec in _attribute_columns(meta, table):
        if kind == _NUMERIC:
            train_values = _numeric_values(train[name], spec)
            center = np.nanmean(train_values) if np.isfinite(train_values).any() else 0.0
            scale = np.nanstd(train_values) if np.isfinite(train_values).any() else 1.0
            scale = scale if scale > 0 else 1.0

            def standardize(values, center=center, scale=scale):
                out = (values - center) / scale
                return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)[:, None]

            train_blocks.append(standardize(train_values))
            for blocks, frame in zip(other_blocks, others):
                blocks.append(standardize(_numeric_values(frame[name], spec)))
        else:
            train_labels = _as_labels(train[name])
            top = train_labels.value_counts().sort_index(kind='stable')
            top = top.sort_values(ascending=False, kind='stable').index[:max_categories]
            categories = pd.Index(top)

            def one_hot(labels, categories=categories):
                codes = categories.get_indexer(labels)
                codes[codes < 0] = len(categories)
                return np.eye(len(categories) + 1)[codes]

            train_blocks.append(one_hot(train_labels))
            for blocks, frame in zip(other_blocks, others):
                blocks.append(one_hot(_as_labels(frame[name])))

    def stack(blocks: list[np.ndarray], n_rows: int) -> np.ndarray:
        return np.hstack(blocks) if blocks else np.empty((n_rows, 0))

    return stack(train_blocks, len(train)), [
        stack(blocks, len(frame)) for blocks, frame in zip(other_blocks, others)
    ]


def _split_halves(
    tables: Tables, names: list[str], seed: int
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """``(train, holdout)``: each table's rows split in halves at random, seeded per table.

    Rows keep their order within each half; with an odd count the train half gets one more.
    """
    train_split: dict[str, pd.DataFrame] = {}
    holdout_split: dict[str, pd.DataFrame] = {}
    for index, table in enumerate(names):
        frame = tables[table]
        order = np.random.default_rng([seed, index]).permutation(len(frame))
        half = len(frame) // 2
        holdout_split[table] = frame.iloc[np.sort(order[:half])]
        train_split[table] = frame.iloc[np.sort(order[half:])]
    return train_split, holdout_split


def privacy_dcr(
    real_train: Tables,
    real_holdout: Tables | None,
    synthetic: Tables,
    metadata: Any,
    *,
    max_train_rows: int = 10_000,
    max_query_rows: int = 2_000,
    max_categories: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Distance to closest record: synthetic -> train against holdout -> train, per table.

    Features: the table's attribute columns, numeric ones standardized with the train
    mean and standard deviation, categoricals one-hot (see ``_dcr_features``); Euclidean
    distance. A synthesizer that generalizes puts synthetic rows as far from train as
    held-out real rows are; a copying one puts them closer. ``share_below_holdout_p5`` is
    the share of synthetic rows closer to train than the 5th percentile of the holdout
    distances (about 0.05 when private, near 1 for copies). On tables with one or two
    low-cardinality attributes most rows have an exact twin anyway, so distances are 0
    for holdout and synthetic alike and the check says little.

    Args:
        real_train: Real tables the synthesizer was fitted on.
        real_holdout: Real tables it never saw; ``None`` splits every ``real_train``
            table 50/50 by rows (seeded), which understates memorization when the
            synthesizer saw all of ``real_train``.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        max_train_rows: Train rows sampled per table (default: ``10_000``).
        max_query_rows: Synthetic and holdout rows sampled per table (default: ``2_000``).
        max_categories: One-hot columns per categorical, plus "other" (default: ``20``).
        seed: Seed of splits and samples (default: ``0``).

    Returns:
        DataFrame with columns ``table, dcr_synthetic_median, dcr_holdout_median,
        share_below_holdout_p5, exact_match_share`` (NaN for tables without attributes).
    """
    from sklearn.neighbors import NearestNeighbors

    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real_train', real_train), ('synthetic', synthetic))
    if real_holdout is None:
        real_train, real_holdout = _split_halves(real_train, sorted(meta['tables']), seed)
    else:
        _check_inputs(meta, ('real_holdout', real_holdout))

    rows = []
    for index, table in enumerate(sorted(meta['tables'])):
        row = {
            'table': table,
            'dcr_synthetic_median': np.nan,
            'dcr_holdout_median': np.nan,
            'share_below_holdout_p5': np.nan,
            'exact_match_share': np.nan,
        }
        train = real_train[table]
        train = train.iloc[_sample_rows(len(train), max_train_rows, seed + index)]
        holdout = real_holdout[table]
        holdout = holdout.iloc[_sample_rows(len(holdout), max_query_rows, seed + index + 1)]
        syn = synthetic[table]
        syn = syn.iloc[_sample_rows(len(syn), max_query_rows, seed + index + 2)]
        train_x, (syn_x, holdout_x) = _dcr_features(
            meta, table, train, [syn, holdout], max_categories
        )
        if train_x.shape[1] and len(train_x) and len(syn_x) and len(holdout_x):
            neighbors = NearestNeighbors(n_neighbors=1).fit(train_x)
            syn_dcr = neighbors.kneighbors(syn_x)[0][:, 0]
            holdout_dcr = neighbors.kneighbors(holdout_x)[0][:, 0]
            row.update({
                'dcr_synthetic_median': float(np.median(syn_dcr)),
                'dcr_holdout_median': float(np.median(holdout_dcr)),
                'share_below_holdout_p5': float(
                    np.mean(syn_dcr < np.percentile(holdout_dcr, 5))
                ),
                'exact_match_share': float(np.mean(syn_dcr <= 1e-12)),
            })
        rows.append(row)
    return pd.DataFrame(rows)
