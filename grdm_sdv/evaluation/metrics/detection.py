"""Detection: C2ST-Agg (SyntheRela), a classifier two-sample test with child aggregates."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .._tables import (
    _NUMERIC,
    Tables,
    _check_inputs,
    _Column,
    _foreign_keys,
    _metadata_dict,
    _parent_positions,
    _prepare_table,
)

LOGGER = logging.getLogger(__name__)


def _make_classifier(seed: int, n_jobs: int) -> tuple[Any, str]:
    """XGBoost (100 trees, depth 3), or scikit-learn's HistGradientBoosting without it."""
    try:
        from xgboost import XGBClassifier
    except ImportError:
        from sklearn.ensemble import HistGradientBoostingClassifier

        classifier = HistGradientBoostingClassifier(
            max_iter=100, max_depth=3, early_stopping=False, random_state=seed
        )
        return classifier, 'HistGradientBoostingClassifier'
    classifier = XGBClassifier(
        n_estimators=100,
        max_depth=3,
        tree_method='hist',
        random_state=seed,
        n_jobs=n_jobs,
        verbosity=0,
    )
    return classifier, 'XGBClassifier'


def _child_aggregates(
    positions: np.ndarray, column: _Column, values: np.ndarray, n_parents: int
) -> dict[str, np.ndarray]:
    """Aggregates of one child column per parent row (NaN for parents without values)."""
    valid = (positions >= 0) & ~np.isnan(values)
    parent = positions[valid]
    vals = values[valid]
    counts = np.bincount(parent, minlength=n_parents).astype(float)
    with np.errstate(invalid='ignore', divide='ignore'):
        if column.kind == _NUMERIC:
            sums = np.bincount(parent, weights=vals, minlength=n_parents)
            return {'mean': np.where(counts > 0, sums / counts, np.nan)}
        codes = vals.astype(np.int64)
        width = int(codes.max(initial=0)) + 1
        cells, cell_counts = np.unique(parent * width + codes, return_counts=True)
        cell_parent, cell_code = cells // width, cells % width
        order = np.lexsort((cell_code, -cell_counts, cell_parent))
        cell_parent, cell_code, cell_counts = (
            cell_parent[order], cell_code[order], cell_counts[order]
        )
        first = np.ones(len(cell_parent), dtype=bool)
        first[1:] = cell_parent[1:] != cell_parent[:-1]
        mode = np.full(n_parents, np.nan)
        mode_count = np.zeros(n_parents)
        mode[cell_parent[first]] = cell_code[first]
        mode_count[cell_parent[first]] = cell_counts[first]
        return {'mode': mode, 'mode_frequency': np.where(counts > 0, mode_count / counts, np.nan)}


def _detection_features(
    meta: dict, table: str, real: Tables, synthetic: Tables
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Feature matrices of ``table`` (real, synthetic) with aggregates of its children.

    Own attribute columns (categoricals as shared integer codes, datetimes as int64 ns),
    then per child foreign key: the children count and, per child attribute column, the
    mean (numeric) or the mode and its frequency (categorical). Aggregates go downward
    only: no parent attributes, so rows sharing a parent cannot leak across folds.
    """
    own = _prepare_table(meta, table, real, synthetic)
    names = [column.name for column in own]
    real_features = [column.real for column in own]
    syn_features = [column.synthetic for column in own]
    for rel in _foreign_keys(meta):
        if rel.parent != table:
            continue
        child, fk = rel.child, rel.column
        child_columns = _prepare_table(meta, child, real, synthetic)
        for data, features, use_real in (
            (real, real_features, True),
            (synthetic, syn_features, False),
        ):
            n_parents = len(data[table])
            positions = _parent_positions(
                data[table][rel.parent_key], data[child][fk].to_numpy()
            )
            counts = np.bincount(positions[positions >= 0], minlength=n_parents)
            features.append(counts.astype(float))
            for column in child_columns:
                values = column.real if use_real else column.synthetic
                features.extend(_child_aggregates(positions, column, values, n_parents).values())
        names.append(f'{child}.{fk}.count')
        for column in child_columns:
            suffixes = ('mean',) if column.kind == _NUMERIC else ('mode', 'mode_frequency')
            names.extend(f'{child}.{fk}.{column.name}.{suffix}' for suffix in suffixes)

    def stack(features: list[np.ndarray], n_rows: int) -> np.ndarray:
        if not features:
            return np.empty((n_rows, 0))
        return np.column_stack(features)

    return stack(real_features, len(real[table])), stack(syn_features, len(synthetic[table])), names


def c2st_accuracy(
    real_x: np.ndarray, syn_x: np.ndarray, n_class: int, rng: np.random.Generator,
    n_folds: int = 5, seed: int = 0, n_jobs: int = 1,
) -> float:
    """Mean stratified ``n_folds``-fold accuracy of the detection classifier telling
    ``n_class`` rows drawn (by ``rng``) from each feature matrix apart: the classifier
    two-sample test :func:`detection_c2st_agg` runs on each table, for feature matrices of
    one's own (e.g. with columns dropped)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    real_take = np.sort(rng.choice(len(real_x), size=n_class, replace=False))
    syn_take = np.sort(rng.choice(len(syn_x), size=n_class, replace=False))
    features = np.vstack([real_x[real_take], syn_x[syn_take]])
    labels = np.concatenate([np.zeros(n_class, dtype=int), np.ones(n_class, dtype=int)])
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    classifier = _make_classifier(seed, n_jobs)[0]
    with threadpool_limits(limits=n_jobs, user_api='openmp'):
        scores = cross_val_score(classifier, features, labels, cv=folds, scoring='accuracy')
    return float(scores.mean())


def detection_c2st_agg(
    real: Tables,
    synthetic: Tables,
    metadata: Any,
    n_folds: int = 5,
    seed: int = 0,
    *,
    max_rows_per_class: int | None = 10_000,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """C2ST-Agg detection (SyntheRela): can a classifier tell real rows from synthetic?

    For each table, features are its own attribute columns plus, for every child table
    referencing it, the children count and child aggregates (numeric means, categorical
    mode and mode frequency); see ``_detection_features``. Rows are labelled real 0 /
    synthetic 1, the larger side is subsampled to the smaller (and both to
    ``max_rows_per_class``), and the mean stratified ``n_folds``-fold accuracy of an
    XGBoost classifier (100 trees, depth 3; scikit-learn's HistGradientBoosting when
    xgboost is not installed) is reported. 0.5 means indistinguishable, 1.0 fully
    separable. Accuracy well below 0.5 means synthetic rows duplicate real ones: a
    test row's twin sits in the training folds with the other label.

    Args:
        real: Real tables by name.
        synthetic: Synthetic tables by name.
        metadata: ``sdv.metadata.Metadata`` or its ``to_dict()`` form.
        n_folds: Cross-validation folds (default: ``5``).
        seed: Seed of subsampling, folds and classifier (default: ``0``).
        max_rows_per_class: Cap on rows per class (default: ``10_000``; ``None``: no cap).
        n_jobs: OpenMP threads of the classifier, set for the duration of the fits
            (default: ``1``: on small tables extra threads mostly spin, and next to
            torch's OpenMP runtime on a busy machine they stall for minutes).

    Returns:
        DataFrame with columns ``table, accuracy, n_rows_per_class, n_features,
        classifier`` (accuracy NaN when a table has no features or too few rows). The
        mean accuracy over tables is in ``result.attrs['mean_accuracy']``.
    """
    meta = _metadata_dict(metadata)
    _check_inputs(meta, ('real', real), ('synthetic', synthetic))
    rows = []
    for index, table in enumerate(sorted(meta['tables'])):
        real_x, syn_x, names = _detection_features(meta, table, real, synthetic)
        n_class = min(len(real_x), len(syn_x))
        if max_rows_per_class is not None:
            n_class = min(n_class, max_rows_per_class)
        classifier_name = _make_classifier(seed, n_jobs)[1]
        accuracy = np.nan
        if names and n_class >= n_folds:
            accuracy = c2st_accuracy(real_x, syn_x, n_class, np.random.default_rng([seed, index]),
                                     n_folds=n_folds, seed=seed, n_jobs=n_jobs)
        else:
            LOGGER.info('C2ST-Agg skips table %r: %d features, %d rows per class.',
                        table, len(names), n_class)
        rows.append({
            'table': table,
            'accuracy': accuracy,
            'n_rows_per_class': int(n_class),
            'n_features': len(names),
            'classifier': classifier_name,
        })
    columns = ['table', 'accuracy', 'n_rows_per_class', 'n_features', 'classifier']
    result = pd.DataFrame(rows, columns=columns)
    accuracies = result['accuracy'].dropna()
    result.attrs['mean_accuracy'] = float(accuracies.mean()) if len(accuracies) else np.nan
    return result
