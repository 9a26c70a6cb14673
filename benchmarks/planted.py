"""Diagnosis bench: a planted database whose true cross-table dependencies are known.

Fits ``GRDMSynthesizer`` variants on ``grdm_sdv.datasets.make_planted_database`` (a hub
parent with Poisson children, a numerical and a categorical 1-hop dependency, a per-parent
effect shared by siblings, a link table with two parents, a 2-hop dependency), samples at
scale 1, and prints side by side with the real values:

* each planted strength (``grdm_sdv.evaluation.cross_table_dependence``, the measure ``evaluate`` uses);
* each table's per-column std ratio (synthetic / real) and marginal distance (KS for
  numbers, total variation for categories);
* the correlation between a parent value and its children's mean (the reverse chain);
* the sibling structure (``grdm_sdv.evaluation.sibling_structure``): within-parent spread
  and the spread of per-parent means.

Each variant runs in its own process; ``--baseline REF`` adds the package as it was at a
git commit (imported first through PYTHONPATH, ``benchmarks/_versions.py``), fitted on the
same data in the same run.

``--draws N`` samples each fit N times and scores the mean over the draws (a sample's
planted strengths move from draw to draw by about as much as the levers here do); the first
draw's scores are kept as ``first_draw``.

    OMP_NUM_THREADS=2 python -m benchmarks.planted --variants default joint hops0 --seeds 0 1
    python -m benchmarks.planted --variants default --seeds 0 1 --draws 3
    python -m benchmarks.planted --baseline HEAD~1 --variants default  # against a previous commit
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ._fits import SharedFit
from ._versions import package_at, run_worker

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / 'benchmarks' / 'results' / 'planted.json'

#: Variant name -> GRDMSynthesizer keyword arguments (on top of the bench's steps/seed).
#: A variant's key for sampling-time settings: name suffix -> sampling parameters
#: (``benchmarks/_fits.py``), each sampled from the variant's one fit.
SAMPLINGS = 'samplings'

VARIANTS: dict[str, dict] = {
    'default': {},
    # The previous defaults: every table at one noise level, seeds-only loss, beta~ variance.
    'joint': {'independent_times': 0.0, 'parent_lead': 0.0, 'sampling_variance': 'posterior',
              'loss_hops': 0, 'steps': 2000},
    'down': {'message_direction': 'down'},
    'hops0': {'n_hops': 0},
    'lead1': {'parent_lead': 1.0},
    'lead0': {'parent_lead': 0.0},
    'posterior': {'sampling_variance': 'posterior'},
    'seeds_loss': {'loss_hops': 0},
    'summaries': {'child_summaries': True},
    # Fitted without the top-level rows' places among their children (the 0.2.11 defaults).
    'noplaces': {'child_places': False},
    # Candidates for the documented larger configuration.
    'long': {'steps': 3000},
    # The default until 0.2.13 (0.2.14 doubled the training steps).
    'steps1000': {'steps': 1000},
    'wide': {'hidden_dim': 256},
    # Classifier-free guidance on the neighbourhood: one fit, sampled at several scales.
    'cfg': {'context_dropout': 0.1,
            SAMPLINGS: {'': {}, **{f' w{w}': {'guidance_scale': w} for w in (1.15, 1.25, 1.35, 1.5, 2.0)}}},
    # The defaults' one fit sampled with a longer parent lead instead of guidance (children
    # then hear finished parents; docs/fidelity.md, "Where the small parents' shortfall").
    'leadcfg': {SAMPLINGS: {'': {}, ' cfg1 lead0.75': {'guidance_scale': 1.0, 'parent_lead': 0.75},
                            ' lead0.75': {'parent_lead': 0.75}}},
    # The defaults' one fit sampled with matched marginals (0.2.5), without (0.2.3), and with
    # numbers only matched (0.2.4).
    'match': {SAMPLINGS: {'': {}, ' unmatched': {'match_marginals': False},
                          ' numbers only': {'match_marginals': 'numerical'}}},
    # The defaults' one fit sampled with the posterior's variance (what the default 'auto'
    # takes for a free sample since 0.2.10) and with beta_t (the 0.2.9 default).
    'variance': {SAMPLINGS: {'': {}, ' beta': {'sampling_variance': 'beta'}}},
    # The defaults' one fit sampled with and without guidance (guidance_scale=1).
    'guidance': {SAMPLINGS: {'': {}, ' w1': {'guidance_scale': 1.0}}},
}

#: (parent table, parent column, child table, child column): parent value vs children's mean.
REVERSE_CHAIN = [
    ('region', 'wealth', 'customer', 'income'),
    ('region', 'wealth', 'customer', 'visits'),
    ('customer', 'income', 'purchase', 'amount'),
]


def _worker(data_path: str, out_path: str, params: dict, draws: int = 1) -> None:
    """Fit and sample (``draws`` times per sampling) in this process (the package from
    PYTHONPATH); pickle the result."""
    from sdv.metadata import Metadata

    with open(data_path, 'rb') as fh:
        tables, meta = pickle.load(fh)
    metadata = Metadata.load_from_dict(meta)
    params = {'verbose': False, **params}
    samplings = params.pop(SAMPLINGS, {'': {}})
    fits = SharedFit(rewind=False)
    out = {}
    for suffix, attrs in samplings.items():
        for draw in range(draws):
            # Later draws continue the random stream of the first (SharedFit(rewind=False)).
            _, synthetic, fit_s, sample_s = fits.sample(metadata, tables, {**params, **attrs})
            got = out.setdefault(suffix, {'synthetic': [], 'fit_s': fit_s, 'sample_s': []})
            got['synthetic'].append(synthetic)
            got['sample_s'].append(sample_s)
    with open(out_path, 'wb') as fh:
        pickle.dump(out, fh)


def _children_mean_corr(tables, metadata, parent, pcol, child, ccol) -> float:
    meta = metadata.to_dict()
    rel = next(r for r in meta['relationships']
               if r['parent_table_name'] == parent and r['child_table_name'] == child)
    means = tables[child].groupby(rel['child_foreign_key'])[ccol].mean()
    values = tables[parent].set_index(rel['parent_primary_key'])[pcol]
    joined = pd.concat([values, means], axis=1, join='inner').astype(float)
    return float(joined.corr().iloc[0, 1])


def _marginals(real, synthetic, metadata) -> list[dict]:
    from grdm_sdv.evaluation import _ks_statistic

    rows = []
    for table, tmeta in metadata.to_dict()['tables'].items():
        for col, spec in tmeta['columns'].items():
            if spec['sdtype'] == 'numerical':
                r, s = real[table][col].astype(float), synthetic[table][col].astype(float)
                rows.append({'column': f'{table}.{col}', 'std_ratio': float(s.std() / r.std()),
                             'distance': _ks_statistic(r.dropna().to_numpy(), s.dropna().to_numpy())})
            elif spec['sdtype'] == 'categorical':
                r = real[table][col].value_counts(normalize=True)
                s = synthetic[table][col].value_counts(normalize=True)
                tvd = 0.5 * float(r.subtract(s, fill_value=0).abs().sum())
                rows.append({'column': f'{table}.{col}', 'std_ratio': np.nan, 'distance': tvd})
    return rows


def score(real, synthetic, metadata) -> dict:
    """Every number the bench prints, for one synthetic database."""
    from grdm_sdv.datasets import PLANTED_DEPENDENCIES
    from grdm_sdv.evaluation import cross_table_dependence
    from grdm_sdv.evaluation import sibling_structure

    planted = {f'{h}-hop {a[0]}.{a[1]} -> {d[0]}.{d[1]}': cross_table_dependence(synthetic, metadata, a, d)
               for h, a, d in PLANTED_DEPENDENCIES}
    chain = {f'{p}.{pc} ~ mean {c}.{cc}': _children_mean_corr(synthetic, metadata, p, pc, c, cc)
             for p, pc, c, cc in REVERSE_CHAIN}
    sib = sibling_structure(real, synthetic, metadata)
    siblings = {f'{r.child}.{r.column} by {r.parent}: {r.statistic}': r.synthetic
                for r in sib.itertuples()}
    marg = _marginals(real, synthetic, metadata)
    return {'planted': planted, 'chain': chain, 'siblings': siblings,
            'std_ratio': {m['column']: m['std_ratio'] for m in marg if np.isfinite(m['std_ratio'])},
            'distance': {m['column']: m['distance'] for m in marg}}


def score_draws(real, draws: list, metadata) -> dict:
    """:func:`score` of each sampled database, averaged over the draws; the first draw's
    scores also under ``first_draw`` when there are several."""
    scores = [score(real, synthetic, metadata) for synthetic in draws]
    out = {part: {k: float(np.mean([sc[part][k] for sc in scores])) for k in scores[0][part]}
           for part in scores[0]}
    if len(scores) > 1:
        out['first_draw'] = scores[0]
    return out


def _run(variant: str, params: dict, data_path: str, code_dir: str | None, draws: int = 1) -> dict:
    out = tempfile.mktemp(suffix='.pkl')
    proc = run_worker('planted', ['--worker', data_path, out, json.dumps(params), str(draws)], code_dir)
    if proc.returncode:
        print(f'[{variant}] failed:\n{proc.stderr[-3000:]}', flush=True)
        return {}
    with open(out, 'rb') as fh:
        res = pickle.load(fh)
    os.unlink(out)
    return res


def _table(rows: dict[str, dict[str, float]], real: dict[str, float] | None, title: str) -> str:
    names = list(rows)
    keys = list(next(iter(rows.values())).keys()) if rows else []
    head = f'| {title} |' + (' real |' if real is not None else '') + ''.join(f' {n} |' for n in names)
    lines = [head, '|' + '---|' * (1 + (real is not None) + len(names))]
    for k in keys:
        cells = ''.join(f' {rows[n].get(k, np.nan):.3f} |' for n in names)
        lines.append(f'| {k} |' + (f' {real[k]:.3f} |' if real is not None else '') + cells)
    return '\n'.join(lines)


def summary(real: dict, records: list[dict]) -> dict:
    """One line per variant (means over seeds): how far from the planted truth."""
    def avg(f):
        return float(np.mean([f(r) for r in records]))

    planted = list(real['planted'])
    sib = [k for k in real['siblings'] if k.endswith('between_std')]
    return {
        'planted |gap| mean': avg(lambda r: np.mean([abs(r['planted'][k] - real['planted'][k]) for k in planted])),
        'planted |gap| max': avg(lambda r: max(abs(r['planted'][k] - real['planted'][k]) for k in planted)),
        '2-hop strength': avg(lambda r: r['planted'][planted[-1]]),
        'std ratio min': avg(lambda r: min(r['std_ratio'].values())),
        'std ratio mean': avg(lambda r: np.mean(list(r['std_ratio'].values()))),
        'between-parent std ratio mean': avg(lambda r: np.mean([r['siblings'][k] / real['siblings'][k] for k in sib])),
        'fit s': avg(lambda r: r['fit_s']),
        'sample s': avg(lambda r: r['sample_s']),
    }


def summary_table(real: dict, results: dict[str, list[dict]]) -> str:
    rows = {name: summary(real, recs) for name, recs in results.items()}
    keys = list(next(iter(rows.values())))
    lines = ['| variant | ' + ' | '.join(keys) + ' |', '|---|' + '---|' * len(keys)]
    for name, row in rows.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{row[k]:.3f}' if 's' != k[-1] else f'{row[k]:.1f}'
                                                  for k in keys) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--variants', nargs='+', default=['default'], choices=sorted(VARIANTS))
    ap.add_argument('--seeds', nargs='+', type=int, default=[0])
    ap.add_argument('--steps', type=int, default=None, help='training steps (default: the library default)')
    ap.add_argument('--regions', type=int, default=60)
    ap.add_argument('--draws', type=int, default=1,
                    help='samples per fit; the scores are their means (default 1)')
    ap.add_argument('--baseline', default=None, help='git ref of a previous version to fit too')
    ap.add_argument('--out', default=str(RESULTS))
    ap.add_argument('--summarize', nargs='+', metavar='JSON',
                    help='only print the summary table of earlier runs (their JSON files)')
    args = ap.parse_args(argv)
    if args.draws < 1:
        ap.error(f'--draws must be at least 1, got {args.draws}')
    if args.summarize:
        merged, real = {}, None
        for path in args.summarize:
            data = json.loads(Path(path).read_text())
            real = data['real']
            merged.update(data['results'])
        print(summary_table(real, merged))
        return

    from grdm_sdv.datasets import make_planted_database

    runs = [(v, VARIANTS[v], None) for v in args.variants]
    if args.baseline:
        folder, sha = package_at(args.baseline)
        if folder is None:
            ap.error(f'--baseline {args.baseline!r} is not a git ref of this repository')
        runs.insert(0, (f'previous ({sha})', {}, folder))
    tables, metadata = make_planted_database(n_regions=args.regions, seed=0)
    data_path = tempfile.mktemp(suffix='.pkl')
    with open(data_path, 'wb') as fh:
        pickle.dump((tables, metadata.to_dict()), fh)
    real = score(tables, tables, metadata)
    results: dict[str, list[dict]] = {}
    for name, params, code in runs:
        for seed in args.seeds:
            steps = {} if args.steps is None else {'steps': args.steps}
            got = _run(name, {**steps, **params, 'seed': seed}, data_path, code, args.draws)
            for suffix, res in got.items():
                sc = score_draws(tables, res['synthetic'], metadata)
                sc.update(fit_s=res['fit_s'], sample_s=float(np.mean(res['sample_s'])), seed=seed)
                results.setdefault(name + suffix, []).append(sc)
                print(f'[{name + suffix} seed {seed}] fit {sc["fit_s"]:.1f}s sample {sc["sample_s"]:.1f}s',
                      flush=True)
    os.unlink(data_path)

    def mean(name, part):
        recs = results[name]
        return {k: float(np.mean([r[part][k] for r in recs])) for k in recs[0][part]}

    print(f'\nplanted database ({", ".join(f"{t} {len(v)}" for t, v in tables.items())} rows), '
          f'steps {args.steps or "default"}, seeds {args.seeds}, {args.draws} draw(s) per fit; '
          'means over seeds (and draws)\n')
    for part, title in (('planted', 'planted strength'), ('chain', 'parent vs children mean (corr)'),
                        ('siblings', 'sibling spread (in real std units)'),
                        ('std_ratio', 'std ratio syn/real'), ('distance', 'marginal distance')):
        ref = None if part in ('std_ratio', 'distance') else real[part]
        print(_table({n: mean(n, part) for n in results}, ref, title) + '\n', flush=True)
    print(summary_table(real, results))
    if args.draws > 1:
        first = {n: [r['first_draw'] | {k: r[k] for k in ('fit_s', 'sample_s')} for r in recs]
                 for n, recs in results.items()}
        print('\nfirst draw only:\n' + summary_table(real, first))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({'args': vars(args), 'real': real, 'results': results},
                                         indent=1, default=float))


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--worker':
        _worker(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    else:
        main()
