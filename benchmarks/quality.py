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

    OMP_NUM_THREADS=1 python benchmarks/quality.py            # full: about 35-40 min, 2 CPU cores
    OMP_NUM_THREADS=1 python benchmarks/quality.py --quick    # about 2 minutes
    python benchmarks/quality.py --datasets demo f1 --seeds 0 1 --steps 500
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import platform
import shlex
import sys
import time
import traceback
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baselines import root_coverage, shuffle_links, split_by_root, subsample_by_root  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATASETS_DIR = Path(__file__).resolve().parents[2] / 'shared' / 'datasets'
RESULTS_DIR = REPO / 'benchmarks' / 'results'
DOCS_DIR = REPO / 'docs'

ALL_DATASETS = ('demo', 'f1', 'movie_lens')
#: GRDM variants: method -> GRDMSynthesizer options on top of the library's defaults.
GRDM_VARIANTS = {
    'grdm': {},
    'independent': {'n_hops': 0},
    'grdm_down': {'message_direction': 'down'},
    # The defaults before the cross-table fidelity work: every table at one noise level,
    # the loss on the seed rows only, the posterior variance, 2,000 steps.
    'grdm_joint': {'context_dropout': 0.0, 'guidance_scale': 1.0,
                   'independent_times': 0.0, 'parent_lead': 0.0, 'loss_hops': 0,
                   'sampling_variance': 'posterior', 'steps': 2000},
    'grdm_summaries': {'child_summaries': True},
    # The defaults of 0.2.0: no classifier-free guidance.
    'grdm_v020': {'context_dropout': 0.0, 'guidance_scale': 1.0},
    # The larger configuration documented for users with more time or a GPU.
    'grdm_large': {'steps': 3000},
    # Other guidance scales of the default fit (one fit serves every scale).
    'grdm_cfg1': {'guidance_scale': 1.0},
    'grdm_cfg13': {'guidance_scale': 1.3},
    'grdm_cfg15': {'guidance_scale': 1.5},
}
METHODS = ('grdm', 'hma', 'independent', 'links_shuffled', 'ceiling', 'grdm_down', 'grdm_joint',
           'grdm_summaries', 'grdm_v020', 'grdm_cfg1', 'grdm_cfg13', 'grdm_cfg15', 'grdm_large')
#: Run unless --methods says otherwise (the others are opt-in variants; grdm_v020 is the
#: previous version's defaults, measured in the same run).
DEFAULT_METHODS = ('grdm', 'grdm_v020', 'hma', 'independent', 'links_shuffled', 'ceiling')
METHOD_LABELS = {
    'grdm': 'GRDM',
    'hma': 'HMA',
    'independent': 'per-table (n_hops=0)',
    'links_shuffled': 'links shuffled',
    'ceiling': 'ceiling (real half)',
    'grdm_down': "GRDM, message_direction='down'",
    'grdm_joint': 'GRDM, joint schedule (0.1 defaults)',
    'grdm_summaries': 'GRDM, child_summaries=True',
    'grdm_v020': 'GRDM 0.2.0 defaults (no guidance)',
    'grdm_large': 'GRDM, steps=3000 (larger configuration)',
    'grdm_cfg1': 'GRDM, guidance_scale=1 (same fit)',
    'grdm_cfg13': 'GRDM, guidance_scale=1.3 (same fit)',
    'grdm_cfg15': 'GRDM, guidance_scale=1.5 (same fit)',
}
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
}
QUICK = {
    'seeds': [0],
    'steps': 25,
    'sampling_steps': 10,
    'demo_customers': 300,
    'movies': 100,
    'f1_races': 100,
    'hma_seeds': 1,
}

#: Metrics where lower is better (the others: higher is better, except the DCR distances,
#: which are privacy diagnostics rather than quality scores).
LOWER_IS_BETTER = {'detection_mean_accuracy'}

#: Gap shares are left out ('-') where the floor is this close to the ceiling.
MIN_GAP = 0.01


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


# --------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------
def grdm_defaults() -> dict:
    """GRDMSynthesizer's keyword defaults, read from its signature."""
    import inspect

    from grdm_sdv import GRDMSynthesizer

    return {name: p.default for name, p in inspect.signature(GRDMSynthesizer).parameters.items()
            if p.default is not inspect.Parameter.empty}


#: Parameters read only when sampling: variants that differ only in these share one fit.
SAMPLING_PARAMS = ('sampling_steps', 'parent_lead', 'sampling_variance', 'guidance_scale')


def run_grdm(train, metadata, seed, settings, cache: dict, **options):
    """Fit (or reuse the fit ``cache`` holds for the same data and training settings), sample."""
    from grdm_sdv import GRDMSynthesizer

    kwargs = {'seed': seed, 'verbose': False, **options}
    # Steps given on the command line (or by --quick) apply to every GRDM variant.
    kwargs.update({k: settings[k] for k in ('steps', 'sampling_steps') if settings[k] is not None})
    fit_key = (id(train), seed, sorted((k, repr(v)) for k, v in kwargs.items() if k not in SAMPLING_PARAMS))
    if cache.get('key') == fit_key:
        synth, fit_s = cache['synth'], cache['fit_s']
        defaults = grdm_defaults()
        for k in SAMPLING_PARAMS:
            setattr(synth, k, kwargs.get(k, defaults[k]))
    else:
        cache.clear()
        synth = GRDMSynthesizer(metadata, **kwargs)
        start = time.perf_counter()
        synth.fit(train)
        fit_s = time.perf_counter() - start
        cache.update(key=fit_key, synth=synth, fit_s=fit_s)
    synth.reset_sampling()
    start = time.perf_counter()
    synthetic = synth.sample(scale=1.0)
    sample_s = time.perf_counter() - start
    info = synth.get_info()
    extra = {'params': {k: v for k, v in synth.get_parameters().items() if k != 'locales'},
             'device': info.get('fit_device'), 'num_parameters': info.get('num_parameters')}
    return synthetic, fit_s, sample_s, extra


def run_hma(train, metadata, seed, settings):
    from sdv.multi_table import HMASynthesizer

    synth = HMASynthesizer(metadata, verbose=False)  # raises on >5 tables or depth > 2
    np.random.seed(seed)
    start = time.perf_counter()
    synth.fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = synth.sample_scale(1.0)
    sample_s = time.perf_counter() - start
    return synthetic, fit_s, sample_s, {}


def hma_refusal(metadata) -> str | None:
    """HMA's refusal message for this schema, or None when it accepts it."""
    from sdv.errors import SynthesizerInputError
    from sdv.multi_table import HMASynthesizer

    try:
        HMASynthesizer(metadata, verbose=False)
    except SynthesizerInputError as error:
        return str(error).split('\n')[0]
    return None


def run_method(method, name, train, holdout, metadata, seed, settings, cache):
    if method in GRDM_VARIANTS:
        return run_grdm(train, metadata, seed, settings, cache, **GRDM_VARIANTS[method])
    if method == 'hma':
        return run_hma(train, metadata, seed, settings)
    if method == 'links_shuffled':
        start = time.perf_counter()
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 1])
        synthetic = shuffle_links(holdout, metadata, rng)
        return synthetic, 0.0, time.perf_counter() - start, {}
    if method == 'ceiling':
        return holdout, 0.0, 0.0, {}
    raise ValueError(method)


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------
def _finite(values):
    return [v for v in values if v is not None and isinstance(v, (int, float)) and math.isfinite(v)]


def _mean_std(values) -> tuple[float, float, int]:
    vals = _finite(values)
    if not vals:
        return math.nan, math.nan, 0
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, len(vals)


def _fmt(values, digits=3) -> str:
    mean, std, n = _mean_std(values)
    if n == 0:
        return '-'
    if n == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def _metric_names(records) -> list[str]:
    names: list[str] = []
    for record in records:
        for metric in record.get('summary', {}):
            if metric not in names:
                names.append(metric)
    return names


def dataset_table(records: list[dict]) -> str:
    """Markdown table: one row per metric (and timing), one column per method."""
    by_method = {m: [r for r in records if r['method'] == m] for m in METHODS}
    methods = [m for m in METHODS if by_method[m]]
    header = ['metric']
    for m in methods:
        ok = [r for r in by_method[m] if r['status'] == 'ok']
        if ok:
            header.append(f'{METHOD_LABELS[m]} (n={len(ok)})')
        else:
            header.append(f'{METHOD_LABELS[m]}')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    metrics = _metric_names([r for r in records if r['status'] == 'ok'])
    rows = [(metric, lambda r, metric=metric: r['summary'].get(metric), 3) for metric in metrics]
    rows += [
        ('fit seconds', lambda r: r['fit_seconds'], 1),
        ('sample seconds', lambda r: r['sample_seconds'], 1),
        ('evaluate seconds', lambda r: r['evaluate_seconds'], 1),
    ]
    for label, get, digits in rows:
        cells = [label + (' (lower is better, 0.5 ideal)' if label in LOWER_IS_BETTER else '')]
        for m in methods:
            ok = [r for r in by_method[m] if r['status'] == 'ok']
            if not ok:
                cells.append(by_method[m][0]['status'])
            else:
                cells.append(_fmt([get(r) for r in ok], digits))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _method_means(records: list[dict]) -> dict[str, dict[str, float]]:
    means: dict[str, dict[str, float]] = {}
    for m in METHODS:
        ok = [r for r in records if r['method'] == m and r['status'] == 'ok']
        if ok:
            means[m] = {metric: _mean_std([r['summary'].get(metric) for r in ok])[0]
                        for metric in _metric_names(ok)}
    return means


def gap_rows(records: list[dict]) -> list[dict]:
    """Share of the floor-to-ceiling gap GRDM closes per hop: (GRDM - floor) / (ceiling - floor).

    Floors: HMA (when it ran) and the per-table baseline; also for the links-shuffled
    reference. Means over seeds first.
    """
    means = _method_means(records)
    if 'grdm' not in means or 'ceiling' not in means:
        return []
    hops = sorted(int(k.split('_')[1]) for k in means['ceiling']
                  if k.startswith('hop_') and not k.endswith('_strong'))
    rows = []
    for hop in hops:
        for suffix, label in (('', 'all pairs'), ('_strong', 'strong pairs')):
            key = f'hop_{hop}{suffix}'
            row = {'hop': hop, 'pairs': label, 'metric': key,
                   'ceiling': means['ceiling'].get(key, math.nan),
                   'grdm': means['grdm'].get(key, math.nan)}
            for floor in ('hma', 'independent', 'links_shuffled'):
                row[floor] = means.get(floor, {}).get(key, math.nan)
                gap = row['ceiling'] - row[floor]
                row[f'closed_vs_{floor}'] = ((row['grdm'] - row[floor]) / gap
                                             if math.isfinite(gap) and abs(gap) >= MIN_GAP
                                             else math.nan)
            rows.append(row)
    return rows


def gap_table(rows: list[dict], hma_note: str | None) -> str:
    def pct(value):
        return '-' if not math.isfinite(value) else f'{100 * value:.0f}%'

    def num(value):
        return '-' if not math.isfinite(value) else f'{value:.3f}'

    lines = [
        '| hop | pairs | HMA | per-table | links shuffled | GRDM | ceiling | '
        'closed vs HMA | closed vs per-table | closed vs links shuffled |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        lines.append(
            f"| {row['hop']} | {row['pairs']} | {num(row['hma'])} | {num(row['independent'])} | "
            f"{num(row['links_shuffled'])} | {num(row['grdm'])} | {num(row['ceiling'])} | "
            f"{pct(row['closed_vs_hma'])} | {pct(row['closed_vs_independent'])} | "
            f"{pct(row['closed_vs_links_shuffled'])} |"
        )
    if hma_note:
        lines.append('')
        lines.append(f'HMA: {hma_note}')
    return '\n'.join(lines)


def print_gap(name: str, rows: list[dict], hma_refused: str | None) -> None:
    print(f'\n[{name}] share of the floor-to-ceiling gap GRDM closes, (GRDM - floor) / '
          f'(ceiling - floor), means over seeds:', flush=True)
    if hma_refused:
        print(f'  HMA refused this schema ({hma_refused}); the per-table floor is shown instead.')
    for row in rows:
        parts = []
        for floor, label in (('hma', 'vs HMA'), ('independent', 'vs per-table'),
                             ('links_shuffled', 'vs links-shuffled')):
            value = row[f'closed_vs_{floor}']
            if math.isfinite(value):
                parts.append(f'{label} {100 * value:6.1f}%')
            elif floor == 'hma':
                parts.append(f'{label}    n/a')
        print(f"  hop {row['hop']} {row['pairs']:>12}: GRDM {row['grdm']:.3f} ceiling "
              f"{row['ceiling']:.3f} | " + ', '.join(parts), flush=True)


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


def write_markdown(path: Path, report: dict) -> None:
    settings = report['settings']
    machine = report['machine']
    quick = settings['quick']
    lines = [
        '# Quality benchmarks' + (' (quick mode: smoke test, not results)' if quick else ''),
        '',
        f"Generated by `{report['command']}` on {report['date']} "
        f"(total {report['total_seconds'] / 60:.1f} min).",
        '',
        f"Machine: {machine['cpu']}, {machine['affinity'] or machine['cpu_count']} CPU cores "
        f"available, torch {machine['torch']} with {machine['torch_threads']} thread(s) "
        f"(OMP_NUM_THREADS={machine['OMP_NUM_THREADS']}), "
        f"{'GPU ' + machine['cuda'] if machine['cuda'] else 'no GPU'}; sdv {machine['sdv']}, "
        f"sdmetrics {machine['sdmetrics']}, xgboost {machine['xgboost']}, "
        f"Python {machine['python']}.",
        '',
        '## Protocol',
        '',
        f"Seeds {settings['seeds']}. For every dataset and seed the real database is split by "
        'root entities into a training half and a holdout half (each root row and all its '
        'descendants go to one half; multi-parent tables follow their primary parent, the one '
        'reached from the root; rows of tables that do not descend from the root go to every '
        'half whose rows reference them, so both halves keep referential integrity, and those '
        'tables overlap between halves: see "shared" below). Every method is scored by '
        '`grdm_sdv.evaluation.evaluate(train, synthetic, metadata, holdout=holdout, seed=seed)` '
        '(SDMetrics quality report, cardinality, k-hop trends over all pairs and over pairs '
        'with real strength >= 0.3, C2ST-Agg detection with XGBoost, DCR privacy).',
        '',
        '* **GRDM**: `GRDMSynthesizer(metadata, seed=seed'
        + ''.join(f', {k}={settings[k]}' for k in ('steps', 'sampling_steps') if settings[k] is not None)
        + ')`, fitted on the training half, `sample(scale=1.0)`; other parameters at the '
        'library defaults: ' + ', '.join(f'{k}={v!r}' for k, v in settings['grdm_defaults'].items()
                                         if k not in ('locales', 'verbose', 'seed', 'device')
                                         and settings.get(k) is None)
        + '.',
        '* **HMA**: `sdv.multi_table.HMASynthesizer(metadata)` with its defaults, '
        '`sample_scale(1.0)`, where it accepts the schema (it refuses more than 5 tables or a '
        f"depth above 2: F1 and the demo database); run on the first {settings['hma_seeds']} "
        "seed(s) only, as HMA's sampling is slow (about 8 min for 500 movies on 2 cores).",
        '* **per-table (n_hops=0)**: the same GRDM with `n_hops=0`: same structure model and '
        'per-table diffusion, no message passing (graph-blind).',
        *[f"* **{METHOD_LABELS[m]}**: the same GRDM with "
          + ', '.join(f'`{k}={v!r}`' for k, v in GRDM_VARIANTS[m].items()) + '.'
          for m in settings['methods'] if m in GRDM_VARIANTS and m not in ('grdm', 'independent')],
        '* **links shuffled**: the holdout half with every foreign-key column randomly permuted '
        'within its table: real tables and children-per-parent counts, no dependence across '
        'tables. Scored against the training half like the ceiling, so the two differ only in '
        'the links.',
        '* **ceiling**: the holdout half itself against the training half.',
        '',
        'Datasets and splits (rows per table in the training/holdout half of seed '
        f"{settings['seeds'][0]}):",
        '',
    ]
    for name, data in report['datasets'].items():
        lines.append(f"* **{name}**: {data['source']}; root `{data['root']}`"
                     + (f"; {data['subsample']}" if data.get('subsample') else '') + '.')
        if data.get('skipped'):
            lines.append(f"  Skipped: {data['skipped']}")
            continue
        split = data.get('split_first_seed') or {}
        coverage = data.get('coverage', {})
        parts = []
        for table, sizes in split.items():
            shared = sizes['shared']
            cov = coverage.get(table, '')
            tag = ', shared' if cov.startswith('shared') else ''
            shared_txt = f', {shared} in both' if shared else ''
            parts.append(f"{table} {sizes['train']}/{sizes['holdout']}{shared_txt}{tag}")
        lines.append('  ' + '; '.join(parts) + '.')
    lines += [
        '',
        'Reading the tables: values are mean ± sample standard deviation over seeds (a single '
        'value where n=1). All scores are higher-is-better in [0, 1] except '
        '`detection_mean_accuracy` (0.5 = indistinguishable, 1 = fully separable) and the '
        '`dcr_*` privacy diagnostics (synthetic rows as far from the training rows as the '
        'holdout rows are is good; `dcr_share_below_holdout_p5` about 0.05 is good). '
        'The ceiling also has sampling noise: with halves of a few hundred root rows the '
        'ceiling is itself well below 1. The links-shuffled and ceiling rows copy real '
        'rows, so their DCR rows are those of real data, not of a synthesizer. The '
        'synthesizers are scored against the half they were fitted on, the ceiling against '
        'fresh real data: a synthesizer that reproduces its training half closely (see '
        '`dcr_*`) can score above the ceiling, and gap shares above 100% can happen.',
        '',
    ]
    for name, data in report['datasets'].items():
        if data.get('skipped'):
            continue
        records = [r for r in report['runs'] if r['dataset'] == name]
        lines += [f'## {name}', '', dataset_table(records), '']
        notes = sorted({f"{METHOD_LABELS[r['method']]}: {r['status']}: {r.get('message', '')}"
                        for r in records if r['status'] != 'ok'})
        if notes:
            lines += ['Not run:', ''] + [f'* {note}' for note in notes] + ['']
        lines += detail_tables(records)
        rows = gap_rows(records)
        if rows:
            lines += [
                f'Share of the floor-to-ceiling gap GRDM closes on {name}, '
                '(GRDM - floor) / (ceiling - floor), on seed means (\'-\' where the floor '
                f'is missing or within {MIN_GAP} of the ceiling):',
                '',
                gap_table(rows, data.get('hma_refused')),
                '',
            ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines), encoding='utf-8')


def _detail_means(records: list[dict], detail: str, keys: list[str], value: str) -> pd.DataFrame:
    """Seed means of one column of a per-item detail frame, one column per method."""
    frames = []
    for r in records:
        rows = (r.get('details') or {}).get(detail)
        if r['status'] == 'ok' and rows:
            frame = pd.DataFrame(rows)[keys + [value]]
            frame['method'] = METHOD_LABELS[r['method']]
            frames.append(frame)
    if not frames:
        return pd.DataFrame()
    data = pd.concat(frames)
    order = list(dict.fromkeys(data['method']))
    return data.pivot_table(index=keys, columns='method', values=value, aggfunc='mean')[order]


def _markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    names = list(frame.index.names)
    lines = ['| ' + ' | '.join(names + cols) + ' |', '|' + '---|' * (len(names) + len(cols))]
    for idx, row in frame.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        cells = ['-' if not np.isfinite(v) else f'{v:.3f}' for v in row.to_numpy(dtype=float)]
        lines.append('| ' + ' | '.join([str(i) for i in idx] + cells) + ' |')
    return '\n'.join(lines)


def detail_tables(records: list[dict]) -> list[str]:
    """Per-table detection, per-column spread and sibling structure, method by method."""
    out = []
    detection = _detail_means(records, 'detection', ['table'], 'accuracy')
    if len(detection):
        out += ['Detection accuracy per table (C2ST-Agg; 0.5 is ideal):', '', _markdown(detection), '']
    spread = _detail_means(records, 'spread', ['table', 'column'], 'ratio')
    if len(spread):
        out += ['Standard deviation of each numerical column, synthetic / real:', '',
                _markdown(spread), '']
    siblings = _detail_means(records, 'siblings', ['child', 'column', 'parent', 'statistic'], 'ratio')
    if len(siblings):
        out += ['Sibling structure, synthetic / real (`within_std`: mean over parents of the '
                "spread among one parent's children; `between_std`: spread over parents of "
                "the children's mean; `evaluation.sibling_structure`):", '', _markdown(siblings), '']
    return out


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


def _clean(value):
    """NaN -> None recursively (json.dump writes NaN otherwise)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def save(report: dict, json_path: Path, md_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_suffix('.json.tmp')
    tmp.write_text(json.dumps(_clean(report), indent=1, default=_json_default), encoding='utf-8')
    tmp.replace(json_path)
    write_markdown(md_path, report)


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


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.merge:
        report = merge_reports(args.merge)
        json_path = args.output or RESULTS_DIR / 'quality.json'
        md_path = args.markdown or DOCS_DIR / 'benchmarks.md'
        save(report, json_path, md_path)
        print(f'wrote {json_path} and {md_path} from {len(args.merge)} runs')
        return
    settings = dict(QUICK if args.quick else FULL)
    for key, value in (('seeds', args.seeds), ('steps', args.steps),
                       ('sampling_steps', args.sampling_steps), ('movies', args.movies),
                       ('f1_races', args.f1_races), ('demo_customers', args.demo_customers),
                       ('hma_seeds', args.hma_seeds)):
        if value is not None:
            settings[key] = value
    settings['quick'] = args.quick
    settings['grdm_defaults'] = grdm_defaults()
    settings['datasets'] = args.datasets
    settings['methods'] = args.methods
    settings['detection'] = not args.no_detection
    settings['roots'] = {name: ROOTS[name] for name in args.datasets}
    suffix = '_quick' if args.quick else ''
    json_path = args.output or RESULTS_DIR / f'quality{suffix}.json'
    md_path = args.markdown or DOCS_DIR / f'benchmarks{suffix}.md'

    warnings.filterwarnings('ignore')
    logging.basicConfig(level=logging.WARNING)
    for noisy in ('sdv', 'rdt', 'sdmetrics', 'copulas', 'grdm_sdv', 'SingleTableSynthesizer',
                  'MultiTableSynthesizer'):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    from grdm_sdv import evaluation

    started = time.perf_counter()
    report = {
        'command': 'python ' + ' '.join(shlex.quote(a) for a in
                                        [os.path.relpath(__file__, REPO)] + sys.argv[1:]),
        'date': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
        'machine': machine_info(),
        'settings': settings,
        'datasets': {},
        'runs': [],
        'total_seconds': 0.0,
    }
    print(f"quality benchmark ({'quick' if args.quick else 'full'}): {settings}", flush=True)

    for name in args.datasets:
        loaded = load_dataset(name, settings)
        root = ROOTS[name]
        if loaded is None:
            report['datasets'][name] = {'source': str(DATASETS_DIR / name), 'root': root,
                                        'skipped': f'{DATASETS_DIR / name} not found'}
            continue
        tables, metadata, source = loaded
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
        report['datasets'][name] = {
            'source': source, 'root': root, 'subsample': subsample,
            'real_rows': {t: len(df) for t, df in sorted(tables.items())},
            'coverage': root_coverage(metadata, root),
            'hma_refused': refusal,
        }
        print(f"\n== {name}: {sum(len(t) for t in tables.values())} rows in "
              f"{len(tables)} tables; root {root}" + (f'; {subsample}' if subsample else ''),
              flush=True)
        for seed_index, seed in enumerate(settings['seeds']):
            split_start = time.perf_counter()
            train, holdout = prepare_split(name, tables, metadata, seed, settings)
            fits: dict = {}  # the last GRDM fit on this split, for variants that only sample differently
            info = split_info(train, holdout, metadata)
            if seed_index == 0:
                report['datasets'][name]['split_first_seed'] = info
            print(f'[{name} seed {seed}] split in {time.perf_counter() - split_start:.1f}s: '
                  + ', '.join(f"{t} {s['train']}/{s['holdout']}" for t, s in info.items()),
                  flush=True)
            for method in args.methods:
                record = {'dataset': name, 'method': method, 'seed': seed, 'status': 'ok',
                          'fit_seconds': None, 'sample_seconds': None,
                          'evaluate_seconds': None, 'split': info}
                if method == 'hma' and refusal:
                    record.update(status='refused', message=refusal)
                elif method == 'hma' and seed_index >= settings['hma_seeds']:
                    record.update(status='skipped',
                                  message=f"HMA runs on the first {settings['hma_seeds']} seed(s) only")
                else:
                    try:
                        synthetic, fit_s, sample_s, extra = run_method(
                            method, name, train, holdout, metadata, seed, settings, fits)
                        record.update(fit_seconds=fit_s, sample_seconds=sample_s, **extra)
                        record['synthetic_rows'] = {t: len(df) for t, df in sorted(synthetic.items())}
                        start = time.perf_counter()
                        result = evaluation.evaluate(
                            train, synthetic, metadata, holdout=holdout, seed=seed,
                            detection=settings['detection'])
                        record['evaluate_seconds'] = time.perf_counter() - start
                        as_dict = result.to_dict()
                        record['summary'] = as_dict['summary']
                        record['details'] = {k: v for k, v in as_dict['details'].items()
                                             if k != 'k_hop'}
                        record['evaluate_params'] = as_dict['params']
                    except MemoryError as error:
                        record.update(status='error', message=f'MemoryError: {error}')
                    except Exception as error:  # noqa: BLE001 - record and go on
                        record.update(status='error', message=f'{type(error).__name__}: {error}')
                        traceback.print_exc()
                report['runs'].append(record)
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
                report['total_seconds'] = time.perf_counter() - started
                save(report, json_path, md_path)
        records = [r for r in report['runs'] if r['dataset'] == name]
        print(f'\n[{name}] mean ± std over seeds:\n' + dataset_table(records), flush=True)
        rows = gap_rows(records)
        report['datasets'][name]['gap'] = rows
        print_gap(name, rows, refusal)
        report['total_seconds'] = time.perf_counter() - started
        save(report, json_path, md_path)

    report['total_seconds'] = time.perf_counter() - started
    save(report, json_path, md_path)
    print(f'\nwrote {json_path} and {md_path} ({report["total_seconds"] / 60:.1f} min)', flush=True)


if __name__ == '__main__':
    main()
