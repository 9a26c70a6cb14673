"""Sharded sampling at scale: rows/s per worker with 1 and N ranks, peak memory, and one run
as large as asked (100M rows of an F1-shaped schema on the 2-core machine).

One small model is fitted on an F1-shaped database (``grdm_sdv.datasets.f1_shaped``) and
saved; every measurement is then a fresh ``grdm-sdv sample`` process (under ``torchrun``
for several ranks) writing a sharded sample, so its peak memory is its own (the resident memory of
its process tree, polled every 0.2 s: the sum over workers and the largest worker). Per-shard seconds come from the shards' commit markers (the manifest's
``shard_log``), so the projection to 1B rows is by measurement per shard.

    python -m benchmarks.sharded_scale --rows 5000000 --ranks 1 2            # throughput
    python -m benchmarks.sharded_scale --rows 100000000 --ranks 1 --keep-going   # the big one

Results are appended to ``benchmarks/results/sharded_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / 'benchmarks' / 'results' / 'sharded_scale.json'


def fit_model(path: Path, args: argparse.Namespace) -> dict:
    """Fit the small model every measurement samples from (skipped when ``path`` exists)."""
    from grdm_sdv import GRDMSynthesizer
    from grdm_sdv.datasets.f1_shaped import make_f1_shaped_database

    params = dict(steps=args.steps, hidden_dim=args.hidden_dim, n_hops=args.n_hops,
                  sampling_steps=args.sampling_steps, guidance_scale=args.guidance_scale,
                  seed=0, verbose=False)
    if not path.exists():
        tables, metadata = make_f1_shaped_database(args.fit_rows, seed=0)
        synth = GRDMSynthesizer(metadata, **params)
        synth.fit(tables)
        synth.save(str(path))
    return params


def _run_measured(cmd: list[str], env: dict) -> tuple[int, str, dict]:
    """Run ``cmd``, polling the resident memory of its whole process tree every 0.2 s:
    ``(returncode, stderr, {'total': peak sum over the tree, 'largest': peak of one process})``."""
    import tempfile

    import psutil

    peak = {'total': 0, 'largest': 0}
    with tempfile.TemporaryFile(mode='w+') as err:
        proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        while proc.poll() is None:
            try:
                rss = [p.memory_info().rss for p in [proc, *proc.children(recursive=True)]]
            except psutil.Error:
                rss = []
            peak['total'] = max(peak['total'], sum(rss))
            peak['largest'] = max(peak['largest'], max(rss, default=0))
            time.sleep(0.2)
        err.seek(0)
        return proc.returncode, err.read(), peak


def run_sample(model: Path, out: Path, scale: float, ranks: int, shard_rows: int) -> dict:
    """One sharded sample in a fresh process (or ``ranks`` torchrun workers)."""
    shutil.rmtree(out, ignore_errors=True)
    cli = ['-m', 'grdm_sdv.cli', 'sample', str(model), '--output', str(out), '--scale', str(scale),
           '--max-rows-in-memory', str(shard_rows), '--seed', '0', '--quiet']
    if ranks > 1:
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(ranks),
               '--master_addr', '127.0.0.1', '--master_port', str(port), *cli]
    else:
        cmd = [sys.executable, *cli]
    env = {**os.environ, 'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 1) // ranks))}
    start = time.perf_counter()
    returncode, stderr, peak = _run_measured(cmd, env)
    seconds = time.perf_counter() - start
    if returncode != 0:
        raise RuntimeError(stderr[-3000:])
    manifest = json.loads((out / 'manifest.json').read_text())
    rows = sum(t['rows'] for t in manifest['tables'].values())
    log = manifest['shard_log']
    shard_s = sum(s['seconds'] for s in log)
    shard_rows_done = sum(s['rows'] for s in log)
    disk = sum(p.stat().st_size for p in out.glob('*/part-*'))
    return {
        'ranks': ranks, 'scale': scale, 'shard_rows': shard_rows, 'rows': rows,
        'shards': manifest['shards'], 'seconds': round(seconds, 1),
        'rows_per_s': round(rows / seconds), 'rows_per_s_per_worker': round(rows / seconds / ranks),
        'peak_rss_gib_all_workers': round(peak['total'] / 2**30, 2),
        'peak_rss_gib_largest_worker': round(peak['largest'] / 2**30, 2),
        'shard_seconds_sum': round(shard_s, 1),
        'rows_per_shard_second': round(shard_rows_done / shard_s) if shard_s else None,
        'held_rows_mean': round(sum(s['held_rows'] for s in log) / len(log)),
        'csv_gib': round(disk / 2**30, 2),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[5_000_000])
    ap.add_argument('--ranks', type=int, nargs='+', default=[1, 2])
    ap.add_argument('--shard-rows', type=int, default=4_000_000)
    ap.add_argument('--fit-rows', type=int, default=20_000)
    ap.add_argument('--steps', type=int, default=100)
    ap.add_argument('--hidden-dim', type=int, default=32)
    ap.add_argument('--n-hops', type=int, default=2)
    ap.add_argument('--sampling-steps', type=int, default=5)
    ap.add_argument('--guidance-scale', type=float, default=1.0)
    ap.add_argument('--work', type=Path, default=Path('/tmp/grdm_sharded_scale'))
    ap.add_argument('--keep', action='store_true', help='keep the last sample on disk')
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    model = args.work / f'model_h{args.hidden_dim}_s{args.sampling_steps}.pkl'
    params = fit_model(model, args)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for rows in args.rows:
        for ranks in args.ranks:
            scale = rows / args.fit_rows
            record = run_sample(model, args.work / 'out', scale, ranks, args.shard_rows)
            record.update(params=params, fit_rows=args.fit_rows, machine=f'{os.cpu_count()} CPU cores',
                          date=time.strftime('%Y-%m-%d %H:%M'))
            print(json.dumps(record), flush=True)
            results.append(record)
            RESULTS.write_text(json.dumps(results, indent=1))
    if not args.keep:
        shutil.rmtree(args.work / 'out', ignore_errors=True)


if __name__ == '__main__':
    main()
