"""What tells F1's generated races (and results) from real ones: a diagnostic of C2ST-Agg.

The default ``GRDMSynthesizer`` is fitted on the quality benchmark's seed-0 training half
of F1 (``benchmarks/quality.py``'s split) and sampled at scale 1, with its rank columns
numbered (the default) and without. For the ``race`` and ``result`` tables it prints and
saves:

* the C2ST-Agg accuracy (``grdm_sdv.evaluation``'s features: a row's own columns, its
  children counts and its children's means / modes), and the same after dropping the
  detector's top features one by one, so each feature's share of the separation shows;
* the features with the largest total gain of one detector fitted on all rows;
* two accounting identities of real F1: a race's standings rows count the wins so far in
  its season, so ``sum(wins)`` over a race's driver (constructor) standings equals its
  ``round``; the share of races where that holds, real against generated;
* which child tables carry ``race``'s separation: its accuracy on one child table's
  aggregates, alone and with the race's own columns, and on every feature but one child
  table's;
* an upper bound on what one accounting rule is worth: ``race``'s accuracy once every
  generated ``result.points`` is replaced by the points the training half most often gives
  that finishing position in that year (the points system), so the points a race hands
  out are exactly right for its positions.

    python -m benchmarks.race_detection      # about 12 minutes on 2 CPU cores
    python -m benchmarks.race_detection --model fit.pkl   # that fit (saved) instead

Writes ``benchmarks/results/race_detection.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .quality import FULL, RESULTS_DIR, load_dataset, prepare_split

TOP = 8  # features listed and dropped one by one


def identity_share(tables: dict[str, pd.DataFrame], child: str) -> float:
    """Share of races whose ``child`` rows' wins sum to the race's round."""
    wins = tables[child].groupby('race_id')['wins'].sum()
    races = tables['race'].set_index('race_id')
    joined = races.join(wins.rename('wins'), how='inner')
    return float((joined['wins'] == joined['round']).mean()) if len(joined) else float('nan')


def points_by_rule(train: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame]) -> dict:
    """``tables`` with each ``result.points`` set to the training half's most common points
    for its race's year and its ``position_order`` (kept where that pair never occurs)."""
    def with_year(db):
        return db['result'].merge(db['race'][['race_id', 'year']], on='race_id', how='left')

    rule = with_year(train).groupby(['year', 'position_order'])['points'].agg(
        lambda v: v.mode().iloc[0])
    result = with_year(tables)
    points = rule.reindex(pd.MultiIndex.from_arrays([result['year'], result['position_order']]))
    out = dict(tables)
    out['result'] = tables['result'].copy()
    out['result']['points'] = np.where(points.isna(), result['points'], points.to_numpy())
    return out


def _accuracy(real_x: np.ndarray, syn_x: np.ndarray, keep: list[int], seed: int = 0) -> float:
    """C2ST accuracy on the kept feature columns (the evaluation's classifier and folds)."""
    from grdm_sdv.evaluation.metrics.detection import c2st_accuracy

    n = min(len(real_x), len(syn_x), 10_000)
    return c2st_accuracy(real_x[:, keep], syn_x[:, keep], n, np.random.default_rng(seed), seed=seed)


def _features(real: dict, synthetic: dict, metadata, table: str):
    """``(real_x, syn_x, names)``: the C2ST-Agg feature matrices of ``table``."""
    from grdm_sdv.evaluation._tables import _metadata_dict
    from grdm_sdv.evaluation.metrics.detection import _detection_features

    return _detection_features(_metadata_dict(metadata), table, real, synthetic)


def table_accuracy(real: dict, synthetic: dict, metadata, table: str) -> float:
    """Detection accuracy of ``table`` on all its features."""
    real_x, syn_x, names = _features(real, synthetic, metadata, table)
    return _accuracy(real_x, syn_x, list(range(len(names))))


def table_report(real: dict, synthetic: dict, metadata, table: str) -> dict:
    """Detection of ``table``, its top features and the accuracy without them."""
    from xgboost import XGBClassifier

    real_x, syn_x, names = _features(real, synthetic, metadata, table)
    x = np.vstack([real_x, syn_x])
    y = np.repeat([0, 1], [len(real_x), len(syn_x)])
    model = XGBClassifier(n_estimators=100, max_depth=3, tree_method='hist', random_state=0,
                          n_jobs=1, verbosity=0, importance_type='total_gain').fit(x, y)
    gain = model.feature_importances_
    order = [int(i) for i in np.argsort(-gain)[:min(TOP, len(names) - 1)]]
    keep = list(range(len(names)))
    dropped = []
    for index in order:
        keep.remove(index)
        dropped.append({'dropped': names[index], 'accuracy': _accuracy(real_x, syn_x, keep)})
    return {
        'accuracy': _accuracy(real_x, syn_x, list(range(len(names)))),
        'top_features': [{'feature': names[i], 'gain_share': float(gain[i] / gain.sum())}
                         for i in order],
        'accuracy_after_dropping': dropped,
    }


def child_tables_report(real: dict, synthetic: dict, metadata, table: str) -> dict:
    """Which child tables tell ``table`` apart: the detection accuracy on ``table``'s own
    columns alone, on one child table's aggregates (its count and its columns' means /
    modes) alone and with the own columns, and on every feature but one child table's.

    Returns ``{'all', 'own', 'alone': {child: acc}, 'own_and': {child: acc},
    'without': {child: acc}}``.
    """
    real_x, syn_x, names = _features(real, synthetic, metadata, table)
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        # Child aggregates are named 'child.fk.column.stat' (or 'child.fk.count').
        groups.setdefault(name.split('.')[0] if '.' in name else '', []).append(index)
    own = groups.pop('', [])
    every = list(range(len(names)))
    return {
        'all': _accuracy(real_x, syn_x, every),
        'own': _accuracy(real_x, syn_x, own) if own else float('nan'),
        'alone': {child: _accuracy(real_x, syn_x, cols) for child, cols in groups.items()},
        'own_and': {child: _accuracy(real_x, syn_x, own + cols) for child, cols in groups.items()},
        'without': {child: _accuracy(real_x, syn_x, [i for i in every if i not in cols])
                    for child, cols in groups.items()},
    }


def main(argv=None) -> None:
    from grdm_sdv import GRDMSynthesizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', help='a saved GRDMSynthesizer fitted on the seed-0 training '
                        'half with the defaults, used instead of fitting one')
    args = parser.parse_args(argv)
    tables, metadata, _ = load_dataset('f1', FULL)
    train, _holdout = prepare_split('f1', tables, metadata, 0, FULL)
    if args.model:
        synth = GRDMSynthesizer.load(args.model)
    else:
        synth = GRDMSynthesizer(metadata, seed=0)
        synth.fit(train)
    report = {'real_wins_sum_equals_round': {
        child: identity_share(train, child) for child in ('driver_standings', 'constructor_standings')}}
    for label, ranks in (('rank_columns=True', True), ('rank_columns=False', False)):
        synth.rank_columns = ranks
        synth.reset_sampling()
        synthetic = synth.sample(scale=1.0)
        report[label] = {table: table_report(train, synthetic, metadata, table)
                         for table in ('race', 'result')}
        if ranks:
            report[label]['race_by_child_table'] = child_tables_report(train, synthetic, metadata, 'race')
            report[label]['race_accuracy_points_by_rule'] = table_accuracy(
                train, points_by_rule(train, synthetic), metadata, 'race')
        report[label]['wins_sum_equals_round'] = {
            child: identity_share(synthetic, child)
            for child in ('driver_standings', 'constructor_standings')}
        print(label, json.dumps(report[label], indent=1), flush=True)
    print('real', report['real_wins_sum_equals_round'])
    path = RESULTS_DIR / 'race_detection.json'
    path.write_text(json.dumps(report, indent=1) + '\n')
    print(f'wrote {Path(path).relative_to(RESULTS_DIR.parents[1])}')


if __name__ == '__main__':
    main()
