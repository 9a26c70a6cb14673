"""Fit and sample speed of GRDM on generated F1-shaped databases of growing size.

For each total size (default 10k, 100k, 1M rows) a fresh process generates an F1-shaped
database (circuit -> race -> result/qualify/standings, with driver and constructor as second
and third parents), fits ``--steps`` training steps and samples at scale 1 with
``--sampling-steps`` reverse steps. Reported: fit throughput (training subgraph nodes per
second), fit seconds per 1000 steps, sampling seconds per million rows, peak resident
memory, and how each grows with size. HMA refuses this schema (depth 3); the refusal is
recorded. Writes benchmarks/results/speed.json and prints a markdown table.

    python benchmarks/speed.py [--sizes 10000 100000 1000000] [--steps 100] [--sampling-steps 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def f1_like(total_rows: int, seed: int = 0):
    """An F1-shaped database with about ``total_rows`` rows in all."""
    from sdv.metadata import Metadata

    rng = np.random.default_rng(seed)
    # F1 proportions: ~1.1% races, 27% results, 38% standings, 6% qualify, 1.2% drivers...
    n_race = max(10, int(total_rows * 0.011))
    n_circ = max(3, n_race // 10)
    n_drv = max(10, int(total_rows * 0.012))
    n_con = max(5, int(total_rows * 0.003))
    race = pd.DataFrame({'race_id': np.arange(n_race), 'circuit_id': rng.integers(0, n_circ, n_race),
                         'year': rng.integers(1950, 2024, n_race), 'round': rng.integers(1, 22, n_race)})
    circuit = pd.DataFrame({'circuit_id': np.arange(n_circ), 'country': rng.choice(list('ABCDEFGH'), n_circ),
                            'lat': rng.normal(30, 20, n_circ)})
    driver = pd.DataFrame({'driver_id': np.arange(n_drv), 'nationality': rng.choice(list('abcdefghij'), n_drv)})
    constructor = pd.DataFrame({'constructor_id': np.arange(n_con), 'nationality': rng.choice(list('abcde'), n_con)})

    def child(name, per_race, parents):
        r = np.repeat(np.arange(n_race), rng.poisson(per_race, n_race))
        df = pd.DataFrame({f'{name}_id': np.arange(len(r)), 'race_id': r})
        for p, n in parents:
            df[f'{p}_id'] = rng.integers(0, n, len(r))
        df['position'] = rng.integers(1, 25, len(r))
        df['points'] = np.round(rng.exponential(3, len(r)), 1)
        return df

    result = child('result', 25, [('driver', n_drv), ('constructor', n_con)])
    result['status'] = rng.choice(['Finished', '+1 Lap', 'Engine', 'Accident'], len(result))
    standings = child('standings', 34, [('driver', n_drv)])
    qualify = child('qualify', 5.5, [('driver', n_drv), ('constructor', n_con)])
    tables = {'circuit': circuit, 'race': race, 'driver': driver, 'constructor': constructor,
              'result': result, 'standings': standings, 'qualify': qualify}
    idc = {'sdtype': 'id'}
    num = {'sdtype': 'numerical'}
    cat = {'sdtype': 'categorical'}
    meta = {'tables': {
        'circuit': {'primary_key': 'circuit_id', 'columns': {'circuit_id': idc, 'country': cat, 'lat': num}},
        'race': {'primary_key': 'race_id', 'columns': {'race_id': idc, 'circuit_id': idc, 'year': num, 'round': num}},
        'driver': {'primary_key': 'driver_id', 'columns': {'driver_id': idc, 'nationality': cat}},
        'constructor': {'primary_key': 'constructor_id', 'columns': {'constructor_id': idc, 'nationality': cat}},
    }, 'relationships': [{'parent_table_name': 'circuit', 'parent_primary_key': 'circuit_id',
                          'child_table_name': 'race', 'child_foreign_key': 'circuit_id'}]}
    for name, parents in [('result', ['driver', 'constructor']), ('standings', ['driver']),
                          ('qualify', ['driver', 'constructor'])]:
        cols = {f'{name}_id': idc, 'race_id': idc, 'position': num, 'points': num}
        cols.update({f'{p}_id': idc for p in parents})
        if name == 'result':
            cols['status'] = cat
        meta['tables'][name] = {'primary_key': f'{name}_id', 'columns': cols}
        for p in ['race'] + parents:
            meta['relationships'].append({'parent_table_name': p, 'parent_primary_key': f'{p}_id',
                                          'child_table_name': name, 'child_foreign_key': f'{p}_id'})
    return tables, Metadata.load_from_dict(meta)


def run_one(size: int, steps: int, sampling_steps: int, device: str) -> dict:
    from grdm_sdv import GRDMSynthesizer

    warnings.filterwarnings('ignore')
    tables, metadata = f1_like(size)
    rows = sum(len(t) for t in tables.values())
    synth = GRDMSynthesizer(metadata, steps=steps, sampling_steps=sampling_steps, device=device,
                            seed=0, verbose=False)
    t0 = time.perf_counter()
    synth.fit(tables)
    fit_s = time.perf_counter() - t0
    loss = pd.DataFrame(synth._loss_history)
    t0 = time.perf_counter()
    out = synth.sample(scale=1.0)
    sample_s = time.perf_counter() - t0
    out_rows = sum(len(t) for t in out.values())
    try:
        from sdv.multi_table import HMASynthesizer
        HMASynthesizer(metadata)
        hma = 'accepted'
    except Exception as err:  # record the refusal verbatim
        hma = f'refused: {str(err).splitlines()[0][:120]}'
    return {'size': size, 'rows': rows, 'fit_seconds': fit_s, 'steps': steps,
            'train_nodes_per_s': float(loss['Nodes'].sum() / synth._fit_seconds),
            'sample_seconds': sample_s, 'sampled_rows': out_rows, 'sampling_steps': sampling_steps,
            'sample_s_per_million_rows': sample_s / out_rows * 1e6,
            'peak_rss_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 'hma': hma}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--sizes', type=int, nargs='+', default=[10_000, 100_000, 1_000_000])
    ap.add_argument('--steps', type=int, default=100)
    ap.add_argument('--sampling-steps', type=int, default=20)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--one', type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.steps, args.sampling_steps, args.device)))
        return
    import torch

    results = []
    for size in args.sizes:
        # A fresh process per size, so peak memory is that size's own.
        proc = subprocess.run([sys.executable, __file__, '--one', str(size), '--steps', str(args.steps),
                               '--sampling-steps', str(args.sampling_steps), '--device', args.device],
                              capture_output=True, text=True)
        if proc.returncode:
            print(f'size {size} failed:\n{proc.stderr[-2000:]}')
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    machine = f'{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, {args.device}'
    print(f'\nMachine: {machine}; fit {args.steps} steps, sample {args.sampling_steps} reverse steps\n')
    print('| rows | fit s | train nodes/s | sample s | sample s / 1M rows | peak RSS GiB | growth vs previous (rows / sample s / RSS) |')
    print('|---|---|---|---|---|---|---|')
    prev = None
    for r in results:
        growth = '' if prev is None else (f"x{r['rows'] / prev['rows']:.1f} / x{r['sample_seconds'] / prev['sample_seconds']:.1f}"
                                          f" / x{r['peak_rss_gib'] / prev['peak_rss_gib']:.1f}")
        print(f"| {r['rows']:,} | {r['fit_seconds']:.1f} | {r['train_nodes_per_s']:,.0f} | {r['sample_seconds']:.1f} | "
              f"{r['sample_s_per_million_rows']:.1f} | {r['peak_rss_gib']:.2f} | {growth} |")
        prev = r
    if results:
        print(f"\nHMA: {results[0]['hma']}")
    out = Path(__file__).parent / 'results' / 'speed.json'
    out.write_text(json.dumps({'machine': machine, 'results': results}, indent=2))


if __name__ == '__main__':
    main()
