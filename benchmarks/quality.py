"""Quality benchmark: GRDM against HMA, a graph-blind baseline, shuffled links and a ceiling.

For every dataset and seed the real database is split by root entities into a training
half and a holdout half (``benchmarks/_baselines.py``: each root row and all its
descendants go to one half; rows of tables that do not descend from the root go to every
half that references them). Every method is scored with ``grdm_sdv.evaluation.evaluate``
against the training half (``holdout=`` the other half, for the privacy check):

* ``grdm``: ``GRDMSynthesizer`` fitted on the training half, sampled at scale 1;
* ``hma``: ``sdv.multi_table.HMASynthesizer`` likewise, where it accepts the schema (its
  refusal message is recorded where not);
* ``independent``: ``GRDMSynthesizer(n_hops=0)``: same structure model and per-table
  diffusion, no message passing (graph-blind);
* ``links_shuffled``: the holdout half with every foreign-key column permuted within its
  table: real tables and child counts, no dependence across tables;
* ``ceiling``: the holdout half itself (a real half against the other half).

Datasets: ``demo`` (``grdm_sdv.datasets.make_demo_database``), ``f1`` and ``movie_lens``
from ``../shared/datasets`` (skipped with a message when absent). ``movie_lens`` is too
large for HMA (killed at 24 GiB), so every method there works on a subsample by movies:
``2 * --movies`` random movies with all their link rows and the actors/directors these
use, split into two halves of ``--movies`` movies.

Writes ``benchmarks/results/quality.json`` (raw per-seed numbers) and
``docs/benchmarks.md`` (mean +- std tables); ``--quick`` writes ``quality_quick.json``
and ``docs/benchmarks_quick.md`` instead, so quick runs never overwrite full results.
``--draws N`` scores N samples of each one-piece GRDM fit and reports their mean (the first
draw is the protocol's one sample; one draw per seed leaves a small table's few hub rows
to chance: ``docs/fidelity.md``, 0.2.10). Each run also keeps the score of every strong
cross-table pair (``details['strong_pairs']``, mean over the draws), and the report lists
them pair by pair next to the baselines and the ceiling.

    OMP_NUM_THREADS=1 python -m benchmarks.quality            # full: about 35-40 min, 2 CPU cores (--draws 3: about an hour)
    OMP_NUM_THREADS=1 python -m benchmarks.quality --quick    # about 2 minutes
    python -m benchmarks.quality --datasets demo f1 --seeds 0 1 --steps 500

(from the repository root). The methods are in ``benchmarks/_quality_methods.py``, the
reports in ``benchmarks/_quality_report.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import shlex
import sys
import time
import traceback
import warnings
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from grdm_sdv.timing import timed

from ._baselines import root_coverage, split_by_root, subsample_by_root
from ._fits import SharedFit, grdm_defaults
from ._quality_methods import DEFAULT_METHODS, METHODS, hma_refusal, redrawable, run_method
from ._quality_report import dataset_table, gap_rows, print_gap, save

REPO = Path(__file__).resolve().parents[1]
DATASETS_DIR = Path(__file__).resolve().parents[2] / 'shared' / 'datasets'
RESULTS_DIR = REPO / 'benchmarks' / 'results'
DOCS_DIR = REPO / 'docs'

ALL_DATASETS = ('demo', 'f1', 'movie_lens')
#: Root table of the split (and of the subsample) per dataset. ``demo``: customers rather
#: than its ~10 regions (halves of 5 regions would make a very noisy ceiling); ``f1``:
#: races (circuits are as few; drivers and constructors are shared across races anyway).
ROOTS = {'demo': 'customer', 'f1': 'race', 'movie_lens': 'movie'}

#: Settings per mode. ``steps``/``sampling_steps`` are GRDM's (also for n_hops=0);
#: ``subsample``: root rows kept before the split (None: the whole database), per dataset.
FULL = {
    'seeds': [0, 1],
    'steps': None,  # None: the library's default
    'sampling_steps': None,
    'demo_customers': 1200,
    'movies': 500,
    'f1_races': None,
    'hma_seeds': 1,
    'draws': 1,
}
QUICK = {
    'seeds': [0],
    'steps': 25,
    'sampling_steps': 10,
    'demo_customers': 300,
    'movies': 100,
    'f1_races': 100,
    'hma_seeds': 1,
    'draws': 1,
}


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
def load_dataset(name: str, settings: dict):
    """``(tables, metadata, note)`` or ``None`` (with a message) when the data is absent."""
    if name == 'demo':
        from grdm_sdv.datasets import make_demo_database

        tables, metadata = make_demo_database(settings['demo_customers'], seed=0)
        return tables, metadata, f"make_demo_database(n_customers={settings['demo_customers']}, seed=0)"
    folder = DATASETS_DIR / name
    if not (folder / 'metadata.json').exists():
        print(f'[{name}] {folder} not found: skipped', flush=True)
        return None
    from grdm_sdv.datasets import load_csv_folder

    tables, metadata = load_csv_folder(folder)
    return tables, metadata, str(folder)


def prepare_split(name: str, tables, metadata, seed: int, settings: dict):
    """Training and holdout halves for one seed (and the subsample they come from)."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    root = ROOTS[name]
    n_sub = None
    if name == 'movie_lens':
        n_sub = 2 * settings['movies']
    elif name == 'f1' and settings.get('f1_races'):
        n_sub = 2 * settings['f1_races']
    if n_sub is not None and n_sub < len(tables[root]):
        tables = subsample_by_root(tables, metadata, root, n_sub, rng)
    train, holdout = split_by_root(tables, metadata, root, rng)
    return train, holdout


def split_info(train, holdout, metadata) -> dict:
    """Rows per table in each half and rows present in both (by primary key)."""
    meta = metadata.to_dict()
    info = {}
    for table in sorted(train):
        pk = meta['tables'][table].get('primary_key')
        shared = None
        if isinstance(pk, str):
            shared = int(train[table][pk].isin(holdout[table][pk]).sum())
        info[table] = {'train': len(train[table]), 'holdout': len(holdout[table]),
                       'shared': shared}
    return info



def machine_info() -> dict:
    import sdmetrics
    import sdv
    import torch

    try:
        cpu = next((line.split(':', 1)[1].strip() for line in
                    Path('/proc/cpuinfo').read_text().splitlines()
                    if line.startswith('model name')), platform.processor())
    except OSError:
        cpu = platform.processor() or platform.machine()
    try:
        import xgboost
        xgb = xgboost.__version__
    except ImportError:
        xgb = None
    return {
        'cpu': cpu,
        'cpu_count': os.cpu_count(),
        'affinity': len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None,
        'torch_threads': torch.get_num_threads(),
        'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS'),
        'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        'python': platform.python_version(),
        'platform': platform.platform(),
        'torch': torch.__version__,
        'sdv': sdv.__version__,
        'sdmetrics': sdmetrics.__version__,
        'xgboost': xgb,
    }


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true',
                    help='smoke test: tiny steps, 1 seed, small subsamples; writes *_quick files')
    ap.add_argument('--datasets', nargs='+', choices=ALL_DATASETS, default=list(ALL_DATASETS))
    ap.add_argument('--seeds', nargs='+', type=int, default=None,
                    help=f"default {FULL['seeds']} ({QUICK['seeds']} with --quick)")
    ap.add_argument('--steps', type=int, default=None,
                    help=f"GRDM training steps (default {FULL['steps']}; {QUICK['steps']} with --quick)")
    ap.add_argument('--sampling-steps', type=int, default=None,
                    help=f"GRDM sampling steps (default {FULL['sampling_steps']}; "
                         f"{QUICK['sampling_steps']} with --quick)")
    ap.add_argument('--movies', type=int, default=None,
                    help=f"movies per half of the movie_lens subsample (default {FULL['movies']}; "
                         f"{QUICK['movies']} with --quick)")
    ap.add_argument('--f1-races', type=int, default=None,
                    help='races per half of an F1 subsample (default: all races; '
                         f"{QUICK['f1_races']} with --quick)")
    ap.add_argument('--demo-customers', type=int, default=None,
                    help=f"customers of the demo database before the split (default "
                         f"{FULL['demo_customers']}; {QUICK['demo_customers']} with --quick)")
    ap.add_argument('--hma-seeds', type=int, default=None,
                    help='run HMA on the first N seeds only (default 1)')
    ap.add_argument('--methods', nargs='+', choices=METHODS, default=list(DEFAULT_METHODS))
    ap.add_argument('--draws', type=int, default=None,
                    help='samples drawn from each GRDM fit (one-piece variants), scores averaged '
                         'over them (default 1: the first draw, the protocol of the targets)')
    ap.add_argument('--no-detection', action='store_true', help='skip C2ST-Agg')
    ap.add_argument('--output', type=Path, default=None,
                    help='JSON path (default benchmarks/results/quality[_quick].json)')
    ap.add_argument('--markdown', type=Path, default=None,
                    help='markdown path (default docs/benchmarks[_quick].md)')
    ap.add_argument('--merge', type=Path, nargs='+', default=None, metavar='JSON',
                    help='run nothing: write one report from the JSON files of earlier runs '
                         '(a benchmark run in parts)')
    return ap.parse_args(argv)


def merge_reports(paths: list[Path]) -> dict:
    """One report from several runs' JSON files (datasets in the order given).

    For a benchmark run in parts (e.g. the demo first, then F1 and MovieLens): every part's
    command, date and duration are kept in the merged report's ``command`` line.
    """
    parts = [json.loads(Path(p).read_text(encoding='utf-8')) for p in paths]
    report = dict(parts[0])
    report['datasets'], report['runs'] = {}, []
    for part in parts:
        for name, data in part['datasets'].items():
            report['datasets'][name] = data
            report['runs'] += [r for r in part['runs'] if r['dataset'] == name]
    report['settings'] = dict(parts[0]['settings'])
    report['settings']['datasets'] = list(report['datasets'])
    report['command'] = '`, then `'.join(p['command'] for p in parts)
    report['date'] = ' and '.join(p['date'] for p in parts)
    report['total_seconds'] = sum(p['total_seconds'] for p in parts)
    return report


def _settings(args: argparse.Namespace) -> dict:
    """The run's settings: the mode's (``--quick`` or full), with the command line's on top."""
    settings = dict(QUICK if args.quick else FULL)
    for key, value in (('seeds', args.seeds), ('steps', args.steps),
                       ('sampling_steps', args.sampling_steps), ('movies', args.movies),
                       ('f1_races', args.f1_races), ('demo_customers', args.demo_customers),
                       ('hma_seeds', args.hma_seeds), ('draws', args.draws)):
        if value is not None:
            settings[key] = value
    settings['quick'] = args.quick
    settings['grdm_defaults'] = grdm_defaults()
    settings['datasets'] = args.datasets
    settings['methods'] = args.methods
    settings['detection'] = not args.no_detection
    settings['roots'] = {name: ROOTS[name] for name in args.datasets}
    return settings


def _quiet() -> None:
    """No warnings, and only errors from the libraries' loggers: the progress lines stay readable."""
    warnings.filterwarnings('ignore')
    logging.basicConfig(level=logging.WARNING)
    for noisy in ('sdv', 'rdt', 'sdmetrics', 'copulas', 'grdm_sdv', 'SingleTableSynthesizer',
                  'MultiTableSynthesizer'):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.merge:
        report = merge_reports(args.merge)
        json_path = args.output or RESULTS_DIR / 'quality.json'
        md_path = args.markdown or DOCS_DIR / 'benchmarks.md'
        save(report, json_path, md_path)
        print(f'wrote {json_path} and {md_path} from {len(args.merge)} runs')
        return
    settings = _settings(args)
    suffix = '_quick' if args.quick else ''
    json_path = args.output or RESULTS_DIR / f'quality{suffix}.json'
    md_path = args.markdown or DOCS_DIR / f'benchmarks{suffix}.md'
    _quiet()

    started = time.perf_counter()
    report = {
        'command': ' '.join(['python', '-m', 'benchmarks.quality'] + [shlex.quote(a) for a in sys.argv[1:]]),
        'date': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
        'machine': machine_info(),
        'settings': settings,
        'datasets': {},
        'runs': [],
        'total_seconds': 0.0,
    }
    print(f"quality benchmark ({'quick' if args.quick else 'full'}): {settings}", flush=True)

    def checkpoint() -> None:
        """Save the report so far (a long run keeps what it measured if it is stopped)."""
        report['total_seconds'] = time.perf_counter() - started
        save(report, json_path, md_path)

    for name in args.datasets:
        run_dataset(name, settings, report, checkpoint)
    checkpoint()
    print(f'\nwrote {json_path} and {md_path} ({report["total_seconds"] / 60:.1f} min)', flush=True)


class _Split(NamedTuple):
    """One seed's training and holdout halves of a dataset, and what every method shares."""

    name: str
    seed: int
    seed_index: int
    train: dict
    holdout: dict
    metadata: Any
    info: dict
    hma_refused: str | None
    fits: SharedFit  # the last GRDM fit on this split, for variants that only sample differently


def run_dataset(name: str, settings: dict, report: dict, checkpoint) -> None:
    """Every method on every seed's split of one dataset, into ``report``; ``checkpoint()``
    after each run."""
    loaded = load_dataset(name, settings)
    root = ROOTS[name]
    if loaded is None:
        report['datasets'][name] = {'source': str(DATASETS_DIR / name), 'root': root,
                                    'skipped': f'{DATASETS_DIR / name} not found'}
        return
    tables, metadata, source = loaded
    entry = report['datasets'][name] = _dataset_entry(name, tables, metadata, source, settings)
    print(f"\n== {name}: {sum(len(t) for t in tables.values())} rows in "
          f"{len(tables)} tables; root {root}" + (f"; {entry['subsample']}" if entry['subsample'] else ''),
          flush=True)
    for seed_index, seed in enumerate(settings['seeds']):
        (train, holdout), split_s = timed(prepare_split, name, tables, metadata, seed, settings)
        info = split_info(train, holdout, metadata)
        if seed_index == 0:
            entry['split_first_seed'] = info
        print(f'[{name} seed {seed}] split in {split_s:.1f}s: '
              + ', '.join(f"{t} {s['train']}/{s['holdout']}" for t, s in info.items()),
              flush=True)
        split = _Split(name, seed, seed_index, train, holdout, metadata, info,
                       entry['hma_refused'], SharedFit())
        for method in settings['methods']:
            record = _run_record(method, split, settings)
            report['runs'].append(record)
            _print_record(split, method, record)
            checkpoint()
    records = [r for r in report['runs'] if r['dataset'] == name]
    print(f'\n[{name}] mean ± std over seeds:\n' + dataset_table(records), flush=True)
    rows = gap_rows(records)
    entry['gap'] = rows
    print_gap(name, rows, entry['hma_refused'])
    checkpoint()


def _dataset_entry(name: str, tables, metadata, source: str, settings: dict) -> dict:
    """What the report says about a dataset before any run: source, subsample, coverage."""
    root = ROOTS[name]
    subsample = None
    n_root = len(tables[root])
    if name == 'movie_lens':
        subsample = (f"subsample of {min(2 * settings['movies'], n_root)} movies (all their "
                     'movie2actor/movie2director rows and the actors/directors those use), '
                     'split into two halves')
    elif name == 'f1' and settings.get('f1_races') and 2 * settings['f1_races'] < n_root:
        subsample = (f"subsample of {2 * settings['f1_races']} races (with all rows of their "
                     'descendants and the rows those use), split into halves')
    refusal = hma_refusal(metadata)
    return {
        'source': source, 'root': root, 'subsample': subsample,
        'real_rows': {t: len(df) for t, df in sorted(tables.items())},
        'coverage': root_coverage(metadata, root),
        'hma_refused': refusal,
    }


def _run_record(method: str, split: _Split, settings: dict) -> dict:
    """Run one method on one split and score it: the record the report keeps."""
    record = {'dataset': split.name, 'method': method, 'seed': split.seed, 'status': 'ok',
              'fit_seconds': None, 'sample_seconds': None,
              'evaluate_seconds': None, 'split': split.info}
    if method == 'hma' and split.hma_refused:
        record.update(status='refused', message=split.hma_refused)
        return record
    if method == 'hma' and split.seed_index >= settings['hma_seeds']:
        record.update(status='skipped',
                      message=f"HMA runs on the first {settings['hma_seeds']} seed(s) only")
        return record
    try:
        synthetic, fit_s, sample_s, extra = run_method(
            method, split.name, split.train, split.holdout, split.metadata, split.seed, settings,
            split.fits)
        record.update(fit_seconds=fit_s, sample_seconds=sample_s, **extra)
        record['synthetic_rows'] = {t: len(df) for t, df in sorted(synthetic.items())}
        result, record['evaluate_seconds'] = timed(_score, split, synthetic, settings)
        as_dict = result.to_dict()
        record['summary'] = as_dict['summary']
        record['details'] = {k: v for k, v in as_dict['details'].items()
                             if k != 'k_hop'}
        record['details']['strong_pairs'] = strong_pairs(result.details.get('k_hop'),
                                                         result.params['strong_threshold'])
        record['evaluate_params'] = as_dict['params']
        if settings.get('draws', 1) > 1 and redrawable(method):
            _more_draws(record, split, settings)
    except MemoryError as error:
        record.update(status='error', message=f'MemoryError: {error}')
    except Exception as error:  # noqa: BLE001 - record and go on
        record.update(status='error', message=f'{type(error).__name__}: {error}')
        traceback.print_exc()
    return record


def _score(split: _Split, synthetic: dict, settings: dict):
    """``evaluation.evaluate`` of one sample against the split's training half."""
    from grdm_sdv import evaluation

    return evaluation.evaluate(split.train, synthetic, split.metadata, holdout=split.holdout,
                               seed=split.seed, detection=settings['detection'])


def strong_pair_frame(trends: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The rows of ``k_hop_trends`` that ``hop_<k>_strong`` averages (hop 1 and more, real
    strength at least ``threshold``), each labelled ``pair`` as ``'table.column ~ table.column'``."""
    strong = trends[(trends['hop'] >= 1) & (trends['real_strength'] >= threshold)]
    pair = strong['table_a'] + '.' + strong['column_a'] + ' ~ ' + strong['table_b'] + '.' + strong['column_b']
    return strong.assign(pair=pair)


def strong_pairs(trends: pd.DataFrame | None, threshold: float) -> list[dict]:
    """The cross-table pairs (hop 1 and more) that ``hop_<k>_strong`` averages: real
    strength at least ``threshold``; one row per pair with its score."""
    if trends is None or not len(trends):
        return []
    return _pair_records(strong_pair_frame(trends, threshold))


def mean_pair_scores(draws: list[list[dict]]) -> list[dict]:
    """:func:`strong_pairs` of several draws, each pair's score the mean over the draws
    that scored it (the pairs and real strengths are the training half's, the same in
    every draw)."""
    rows = [row for draw in draws for row in draw]
    if not rows:
        return []
    frame = pd.DataFrame(rows).astype({'score': float})
    return _pair_records(frame.groupby(['hop', 'pair', 'real_strength'], sort=False)['score']
                         .mean().reset_index())


def _pair_records(frame: pd.DataFrame) -> list[dict]:
    """JSON rows ``hop, pair, real_strength, score`` (a missing score as ``None``)."""
    return [{'hop': int(h), 'pair': p, 'real_strength': float(r), 'score': None if pd.isna(x) else float(x)}
            for h, p, r, x in zip(frame['hop'], frame['pair'], frame['real_strength'], frame['score'])]


def _more_draws(record: dict, split: _Split, settings: dict) -> None:
    """Score ``settings['draws'] - 1`` more samples of the split's fit: ``summary`` becomes
    the mean over all draws (the first draw's is kept as ``draw_summaries[0]``), and so do
    the strong pairs' scores (``details['strong_pairs']``); the other ``details`` stay the
    first draw's."""
    summaries = [record['summary']]
    pairs = [record['details']['strong_pairs']]
    for _ in range(settings['draws'] - 1):
        result = _score(split, split.fits.redraw(), settings)
        summaries.append(result.to_dict()['summary'])
        pairs.append(strong_pairs(result.details.get('k_hop'), result.params['strong_threshold']))
    record['details']['strong_pairs'] = mean_pair_scores(pairs)
    record['draw_summaries'] = summaries
    record['summary'] = {
        k: (float(np.nanmean([s[k] for s in summaries]))
            if all(isinstance(s.get(k), (int, float)) for s in summaries) else v)
        for k, v in summaries[0].items()}


def _print_record(split: _Split, method: str, record: dict) -> None:
    name, seed = split.name, split.seed
    if record['status'] == 'ok':
        def show(metric, summary=record['summary']):
            value = summary.get(metric)
            return '-' if value is None else f'{value:.3f}'

        print(f"[{name} seed {seed}] {method:>14}: fit {record['fit_seconds']:7.1f}s "
              f"sample {record['sample_seconds']:6.1f}s eval "
              f"{record['evaluate_seconds']:5.1f}s | quality {show('quality_overall')} "
              f"hop1 {show('hop_1')} hop1s {show('hop_1_strong')} "
              f"det {show('detection_mean_accuracy')}", flush=True)
    else:
        print(f"[{name} seed {seed}] {method:>14}: {record['status']}: "
              f"{record.get('message')}", flush=True)


if __name__ == '__main__':
    main()
