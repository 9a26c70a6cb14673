"""Fit and sample GRDM on the real databases in ../shared/datasets with default settings.

Prints fit and sample wall time, and the evaluation summary (SDMetrics quality, k-hop,
cardinality, detection). Writes JSON to benchmarks/results/real_<name>.json.

    python -m benchmarks.real_datasets f1 movie_lens [--steps N] [--scale 1.0]
        [--keep driver circuit constructor]

``--keep`` also samples with those tables kept real (``sample(fixed_tables=...)``), the
protocol of the GRDM reference code on F1, whose config holds driver, circuit and
constructor as "dimension tables" that are never generated.
"""

from __future__ import annotations

import argparse
import json
import platform
import warnings
from pathlib import Path

import torch

from grdm_sdv import GRDMSynthesizer, evaluation
from grdm_sdv.datasets import load_csv_folder
from grdm_sdv.timing import fit_and_sample, timed

DATASETS = Path(__file__).resolve().parents[2] / 'shared' / 'datasets'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('names', nargs='+')
    ap.add_argument('--steps', type=int, default=None, help='override the default steps')
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no-detection', action='store_true')
    ap.add_argument('--keep', nargs='*', default=[], help='tables also kept real in a second sample')
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    out_dir = Path(__file__).parent / 'results'
    out_dir.mkdir(exist_ok=True)
    for name in args.names:
        folder = DATASETS / name
        if not folder.exists():
            print(f'{folder} not found: skipped')
            continue
        tables, metadata = load_csv_folder(folder)
        n = sum(len(t) for t in tables.values())
        kwargs = {'seed': args.seed}
        if args.steps:
            kwargs['steps'] = args.steps
        synth = GRDMSynthesizer(metadata, **kwargs)
        syn, fit_s, sample_s = fit_and_sample(synth, tables, args.scale)
        m = sum(len(t) for t in syn.values())
        result, eval_s = timed(evaluation.evaluate, tables, syn, metadata, detection=not args.no_detection,
                               privacy=False, seed=args.seed)
        print(f'\n== {name}: {n} real rows, {m} synthetic rows; fit {fit_s:.1f}s, '
              f'sample {sample_s:.1f}s, evaluate {eval_s:.1f}s '
              f'(torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()})')
        print(result.summary.to_string(index=False))
        record = {'dataset': name, 'real_rows': n, 'synthetic_rows': m, 'fit_seconds': fit_s,
                  'sample_seconds': sample_s, 'params': synth.get_parameters(),
                  'summary': result.to_dict()}
        keep = [t for t in args.keep if t in tables]
        if keep:
            syn_kept, kept_s = timed(synth.sample, scale=args.scale, fixed_tables={t: tables[t] for t in keep})
            kept = evaluation.evaluate(tables, syn_kept, metadata, detection=not args.no_detection,
                                       privacy=False, seed=args.seed)
            print(f'\n== {name} with {keep} kept real: sample {kept_s:.1f}s')
            print(kept.summary.to_string(index=False))
            record['kept_real'] = {'tables': keep, 'sample_seconds': kept_s, 'summary': kept.to_dict()}
        with open(out_dir / f'real_{name}.json', 'w') as fh:
            json.dump(record, fh, indent=2, default=str)


if __name__ == '__main__':
    main()
