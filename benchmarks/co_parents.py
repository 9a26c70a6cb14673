"""Co-parent dependencies: how the two parents of one child row go together.

``grdm_sdv.evaluation.co_parent_trends`` pairs the columns of the two parents of every row
of a table with two foreign keys (F1: a qualifying row's driver and team, so a driver's
nationality against his team's; MovieLens: a rating's user and movie). Which rows the links
bring together carries these dependencies, and no chain of keys joins the two parents, so
the k-hop scores of ``benchmarks.quality`` do not see them.

For each dataset, on the quality benchmark's split (``--seed``), this fits the default
``GRDMSynthesizer`` on the training half (or loads ``--model DATASET=PATH``, a fit of that
half), samples it ``--draws`` times at scale 1 and scores every co-parent pair against
the training half, next to two real baselines scored the same way: the holdout half with
its links shuffled (every foreign key permuted within its table) and the holdout half
itself (the ceiling). It prints per pair the real strength (Cramér's V or ``|r|``), each
method's score and the generated strength, and the means over all pairs, over the pairs of
real strength 0.2 or more and over the strong ones (0.3, ``evaluate``'s threshold).

    python -m benchmarks.co_parents                                   # demo, F1, MovieLens
    python -m benchmarks.co_parents --datasets f1 --model f1=fit.pkl  # a saved fit of F1

Writes ``benchmarks/results/co_parents.json``. Datasets absent from ``../shared/datasets``
are skipped.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib

import numpy as np
import pandas as pd

from ._baselines import shuffle_links
from .quality import ALL_DATASETS, FULL, RESULTS_DIR, _quiet, load_dataset, prepare_split

#: Real strengths at which the means are also reported (0.3: ``evaluate``'s strong pairs).
THRESHOLDS = (0.2, 0.3)


def _means(frame: pd.DataFrame, column: str) -> dict[str, float]:
    """Mean of ``column`` over all pairs and over the pairs at each of :data:`THRESHOLDS`."""
    out = {'all': float(frame[column].mean()) if len(frame) else float('nan')}
    for t in THRESHOLDS:
        part = frame.loc[frame['real_strength'] >= t, column]
        out[f'>={t}'] = float(part.mean()) if len(part) else float('nan')
    return out


def co_parent_report(train, holdout, metadata, synthetic: list[dict], seed: int, name: str) -> dict:
    """Per pair and in the mean: the draws' scores and strengths, links shuffled, ceiling."""
    from grdm_sdv.evaluation import co_parent_trends

    keys = ['path', 'column_a', 'column_b']
    draws = [co_parent_trends(train, s, metadata, seed=seed) for s in synthetic]
    frame = draws[0][keys + ['metric', 'real_strength']].copy()
    frame['grdm'] = np.mean([d['score'].to_numpy() for d in draws], axis=0)
    frame['grdm_strength'] = np.mean([d['synthetic_strength'].to_numpy() for d in draws], axis=0)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 1])
    for label, tables in (('links_shuffled', shuffle_links(holdout, metadata, rng)),
                          ('ceiling', holdout)):
        other = co_parent_trends(train, tables, metadata, seed=seed)
        frame[label] = other['score'].to_numpy()
        frame[f'{label}_strength'] = other['synthetic_strength'].to_numpy()
    return {
        'pairs': frame.round(4).to_dict(orient='records'),
        'means': {m: _means(frame, m) for m in ('grdm', 'links_shuffled', 'ceiling')},
        'draw_means': [_means(d, 'score') for d in draws],
    }


def _print(name: str, report: dict) -> None:
    frame = pd.DataFrame(report['pairs'])
    frame['path'] = (frame['path'].str.replace(r' <-\[\w+\]- ', ' <- ', regex=True)
                     .str.replace(r' -\[\w+\]-> ', ' -> ', regex=True))
    print(f'\n[{name}] co-parent pairs (scores against the training half; '
          f'GRDM: mean of {len(report["draw_means"])} draws)')
    cols = ['path', 'column_a', 'column_b', 'real_strength', 'grdm', 'links_shuffled', 'ceiling',
            'grdm_strength', 'ceiling_strength']
    print(frame[cols].sort_values('real_strength', ascending=False).round(3).to_string(index=False))
    for method, means in report['means'].items():
        print(f'  {method:15s} ' + '  '.join(f'{k} {v:.3f}' for k, v in means.items()))


def main(argv=None) -> None:
    from grdm_sdv import GRDMSynthesizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', default=list(ALL_DATASETS), choices=ALL_DATASETS)
    parser.add_argument('--seed', type=int, default=0, help='split and fit seed (default: 0)')
    parser.add_argument('--draws', type=int, default=3, help='samples per fit (default: 3)')
    parser.add_argument('--model', nargs='*', default=[], metavar='DATASET=PATH',
                        help='a saved GRDMSynthesizer fitted on that dataset\'s training half '
                        'of --seed with the defaults, used instead of fitting one')
    args = parser.parse_args(argv)
    _quiet()
    models = dict(item.split('=', 1) for item in args.model)
    report = {'seed': args.seed, 'draws': args.draws, 'datasets': {}}
    for name in args.datasets:
        loaded = load_dataset(name, FULL)
        if loaded is None:
            continue
        tables, metadata, _ = loaded
        train, holdout = prepare_split(name, tables, metadata, args.seed, FULL)
        start = time.perf_counter()
        if name in models:
            synth = GRDMSynthesizer.load(models[name])
        else:
            synth = GRDMSynthesizer(metadata, seed=args.seed)
            synth.fit(train)
        fit_s = time.perf_counter() - start
        synth.reset_sampling()
        synthetic = [synth.sample(scale=1.0) for _ in range(args.draws)]
        entry = co_parent_report(train, holdout, metadata, synthetic, args.seed, name)
        entry['model'] = models.get(name, 'fitted here')
        entry['fit_seconds'] = round(fit_s, 1)
        report['datasets'][name] = entry
        _print(name, entry)
    path = RESULTS_DIR / 'co_parents.json'
    path.write_text(json.dumps(report, indent=1) + '\n')
    print(f'\nwrote {path.relative_to(RESULTS_DIR.parents[1])}')


if __name__ == '__main__':
    main()
