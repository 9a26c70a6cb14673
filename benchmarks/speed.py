"""Fit and sample speed of GRDM on generated F1-shaped databases of growing size.

For each total size (default 10k, 100k, 1M and 10M rows) the F1-shaped database of
``grdm_sdv.datasets.make_f1_shaped_database`` (circuit -> race -> result/qualify/standings,
with driver and constructor as second and third parents; seed 0) is generated, and a fresh
process fits ``--steps`` training steps and samples at scale 1 with ``--sampling-steps``
reverse steps. Reported: fit throughput (training subgraph nodes per second), fit seconds
per 1000 steps, sampling seconds per million rows, peak resident memory, and how each grows
with size. HMA refuses this schema (depth 3); the refusal is recorded. Writes
benchmarks/results/speed.json and prints a markdown table.

    python -m benchmarks.speed [--sizes 10000 100000 1000000 10000000] [--steps 100]
        [--sampling-steps 20] [--baseline HEAD~1] [--precision auto|bf16|fp32] [--compile]

The same run times the package as it was at ``--baseline`` (default: the previous commit) on
the same data, in its own process (``benchmarks/_versions.py``), and HMA on the 4-table
part of the schema it accepts at the smallest sizes, and prints ratios. ``--one SIZE`` runs
one size of the current code in this process and prints its JSON record.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from ._versions import package_at, run_worker, timing


def hma_subset(tables, metadata):
    """The part of the F1 shape HMA accepts: race, driver, constructor -> result (depth 2)."""
    from sdv.metadata import Metadata

    keep = ['race', 'driver', 'constructor', 'result']
    meta = metadata.to_dict()
    meta['tables'] = {t: meta['tables'][t] for t in keep}
    meta['tables']['race']['columns'].pop('circuit_id')
    meta['relationships'] = [r for r in meta['relationships']
                             if r['parent_table_name'] in keep and r['child_table_name'] in keep]
    sub = {t: tables[t] for t in keep}
    sub['race'] = sub['race'].drop(columns='circuit_id')
    return sub, Metadata.load_from_dict(meta)


def time_hma(tables, metadata, steps: int, sampling_steps: int, device: str) -> dict:
    """HMA and GRDM fit and sample times on the subset HMA accepts."""
    from sdv.multi_table import HMASynthesizer

    from grdm_sdv import GRDMSynthesizer

    sub, meta = hma_subset(tables, metadata)
    out = {'hma_rows': sum(len(t) for t in sub.values())}
    for name, synth in [('hma', HMASynthesizer(meta, verbose=False)),
                        ('grdm', GRDMSynthesizer(meta, steps=steps, sampling_steps=sampling_steps,
                                                 device=device, seed=0, verbose=False))]:
        _, out[f'{name}_subset_fit_seconds'], out[f'{name}_subset_sample_seconds'] = \
            timing.fit_and_sample(synth, sub, 1.0)
    return out


def run_one(size: int, steps: int, sampling_steps: int, device: str, precision: str,
            compile_: bool = False, with_hma: bool = False, data: str | None = None) -> dict:
    """Fit and sample one size in this process (the ``grdm_sdv`` it imports).

    ``data``: a pickle of ``(tables, metadata dict)`` written by :func:`main` (so an older
    version is timed on the same database); without it the database is generated here.
    """
    import grdm_sdv
    from grdm_sdv import GRDMSynthesizer

    warnings.filterwarnings('ignore')
    tables, metadata = _load_or_generate(size, data)
    rows = sum(len(t) for t in tables.values())
    kwargs = {} if precision == 'auto' else {'mixed_precision': precision == 'bf16'}
    if compile_:
        kwargs['torch_compile'] = True
    synth = GRDMSynthesizer(metadata, steps=steps, sampling_steps=sampling_steps, device=device,
                            seed=0, verbose=False, **kwargs)
    out, fit_s, sample_s = timing.fit_and_sample(synth, tables, 1.0)
    loss = pd.DataFrame(synth._loss_history)
    out_rows = sum(len(t) for t in out.values())
    try:
        from sdv.multi_table import HMASynthesizer
        HMASynthesizer(metadata)
        hma = 'accepted'
    except Exception as err:  # record the refusal verbatim
        hma = f'refused: {str(err).splitlines()[0][:120]}'
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # before HMA runs here
    hma_times = time_hma(tables, metadata, steps, sampling_steps, device) if with_hma else {}
    return {**hma_times, 'size': size, 'rows': rows, 'fit_seconds': fit_s, 'steps': steps,
            # The training loop alone where the code records it, else the whole fit.
            'train_nodes_per_s': float(loss['Nodes'].sum() / getattr(synth, '_train_seconds', synth._fit_seconds)),
            'train_loop_seconds': getattr(synth, '_train_seconds', None),
            'sample_seconds': sample_s, 'sample_phases': getattr(synth, '_sample_seconds', None),
            'code': str(Path(grdm_sdv.__file__).parent.parent), 'sampled_rows': out_rows, 'sampling_steps': sampling_steps,
            'sample_s_per_million_rows': sample_s / out_rows * 1e6,
            'peak_rss_gib': peak, 'hma': hma}


def _load_or_generate(size: int, data: str | None):
    from sdv.metadata import Metadata

    if data is None:
        from grdm_sdv.datasets import make_f1_shaped_database

        return make_f1_shaped_database(size)
    with open(data, 'rb') as fh:
        tables, meta = pickle.load(fh)
    return tables, Metadata.load_from_dict(meta)


def _write_database(size: int, folder: str) -> str:
    """The database of one size, pickled for the workers; its path."""
    from grdm_sdv.datasets import make_f1_shaped_database

    tables, metadata = make_f1_shaped_database(size)
    path = os.path.join(folder, f'f1_shaped_{size}.pkl')
    with open(path, 'wb') as fh:
        pickle.dump((tables, metadata.to_dict()), fh)
    return path


def main() -> None:
    args = _parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.steps, args.sampling_steps, args.device, args.precision,
                                 args.compile, args.hma, args.data)))
        return
    import torch

    baseline_dir, baseline_sha = None, None
    if args.baseline != 'none':
        baseline_dir, baseline_sha = package_at(args.baseline)
        if baseline_sha is None:
            print(f'baseline {args.baseline!r} not found; timing the current code only')
    results, baseline = _run_sizes(args, baseline_dir)
    machine = (f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
               f'{torch.get_num_threads()} torch threads, torch {torch.__version__}, {args.device}')
    print(f'\nMachine: {machine}; fit {args.steps} steps, sample {args.sampling_steps} reverse steps\n')
    print('| rows | fit s | train nodes/s | sample s | sample s / 1M rows | peak RSS GiB | growth vs previous size (rows / sample s / RSS) |')
    print('|---|---|---|---|---|---|---|')
    prev = None
    for r in results:
        growth = '' if prev is None else (f"x{r['rows'] / prev['rows']:.1f} / x{r['sample_seconds'] / prev['sample_seconds']:.1f}"
                                          f" / x{r['peak_rss_gib'] / prev['peak_rss_gib']:.1f}")
        print(f"| {r['rows']:,} | {r['fit_seconds']:.1f} | {r['train_nodes_per_s']:,.0f} | {r['sample_seconds']:.1f} | "
              f"{r['sample_s_per_million_rows']:.1f} | {r['peak_rss_gib']:.2f} | {growth} |")
        prev = r
    if baseline:
        print(f'\nAgainst the previous version ({args.baseline} = {baseline_sha}), same run, ratio = previous / current:\n')
        print('| rows | train nodes/s (current / previous) | sample s (previous / current) | peak RSS (previous / current) |')
        print('|---|---|---|---|')
        for r in results:
            b = baseline.get(r['size'])
            if b:
                print(f"| {r['rows']:,} | x{r['train_nodes_per_s'] / b['train_nodes_per_s']:.2f} | "
                      f"{b['sample_seconds']:.1f} / {r['sample_seconds']:.1f} = x{b['sample_seconds'] / r['sample_seconds']:.2f} | "
                      f"{b['peak_rss_gib']:.2f} / {r['peak_rss_gib']:.2f} = x{b['peak_rss_gib'] / r['peak_rss_gib']:.2f} |")
    hma_rows = [r for r in results if 'hma_rows' in r]
    if hma_rows:
        print('\nHMA on the 4-table part of the schema it accepts (race, driver, constructor -> result), same run:\n')
        print('| rows | HMA fit s | GRDM fit s | HMA sample s | GRDM sample s | sample ratio HMA / GRDM |')
        print('|---|---|---|---|---|---|')
        for r in hma_rows:
            print(f"| {r['hma_rows']:,} | {r['hma_subset_fit_seconds']:.1f} | {r['grdm_subset_fit_seconds']:.1f} | "
                  f"{r['hma_subset_sample_seconds']:.1f} | {r['grdm_subset_sample_seconds']:.1f} | "
                  f"x{r['hma_subset_sample_seconds'] / r['grdm_subset_sample_seconds']:.1f} |")
    if results:
        print(f"\nHMA on the full F1 shape: {results[0]['hma']}")
    out = Path(__file__).parent / 'results' / 'speed.json'
    out.write_text(json.dumps({'machine': machine, 'baseline': baseline_sha, 'results': results,
                               'baseline_results': baseline}, indent=2))


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--sizes', type=int, nargs='+', default=[10_000, 100_000, 1_000_000, 10_000_000])
    ap.add_argument('--steps', type=int, default=100)
    ap.add_argument('--sampling-steps', type=int, default=20)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--precision', choices=['auto', 'bf16', 'fp32'], default='auto')
    ap.add_argument('--compile', action='store_true', help='torch_compile=True')
    ap.add_argument('--baseline', default='HEAD~1',
                    help="git ref whose grdm_sdv is timed in the same run for ratios ('none' to skip)")
    ap.add_argument('--baseline-max-size', type=int, default=1_000_000,
                    help='largest size the baseline is timed at (older code may not fit in memory)')
    ap.add_argument('--hma-max-size', type=int, default=10_000,
                    help='largest size HMA is timed at, on the 4-table part of the schema it accepts')
    ap.add_argument('--one', type=int, help=argparse.SUPPRESS)
    ap.add_argument('--hma', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--data', help=argparse.SUPPRESS)  # with --one: the pickled database
    return ap.parse_args()


def _run_sizes(args: argparse.Namespace, baseline_dir: str | None) -> tuple[list[dict], dict[int, dict]]:
    """Every size in a fresh worker of the current code, and of ``baseline_dir``'s up to
    ``--baseline-max-size``: ``(results, baseline results by size)``."""

    def worker(size: int, data: str, code_dir: str | None, hma: bool) -> dict | None:
        cmd = ['--one', str(size), '--data', data, '--steps', str(args.steps),
               '--sampling-steps', str(args.sampling_steps), '--device', args.device,
               '--precision', args.precision] + (['--compile'] if args.compile else []) \
            + (['--hma'] if hma else [])
        # A fresh process per run, so peak memory is that run's own.
        proc = run_worker('speed', cmd, code_dir)
        if proc.returncode:
            print(f'size {size} ({code_dir or "current"}) failed:\n{proc.stderr[-2000:]}')
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1])

    results, baseline = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            # Generated here, by this checkout: an older version is timed on the same database.
            data = _write_database(size, folder)
            r = worker(size, data, None, size <= args.hma_max_size)
            if r is None:
                continue
            results.append(r)
            print(r, flush=True)
            if baseline_dir and size <= args.baseline_max_size:
                b = worker(size, data, baseline_dir, False)
                if b is not None:
                    baseline[size] = b
                    print('baseline', b, flush=True)
            os.unlink(data)
    return results, baseline


if __name__ == '__main__':
    main()
