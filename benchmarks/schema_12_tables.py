"""Fit and sample GRDM on the generated 12-table schema zoo (datasets.make_relational_zoo).

Default model settings except ``steps`` (300). Prints fit and sample wall time, SDMetrics'
quality report, k-hop trends (all pairs, and pairs with real strength >= 0.3), the zoo's
planted cross-table dependencies (real vs synthetic) and two structure checks. Writes JSON to
benchmarks/results/schema_12_tables.json.

    OMP_NUM_THREADS=1 python -m benchmarks.schema_12_tables [--size 4] [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import warnings
from pathlib import Path

import torch

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.datasets import make_relational_zoo
from grdm_sdv.evaluation import cross_table_dependence
from grdm_sdv.evaluation import k_hop_trends, quality_report, summarize_k_hop
from grdm_sdv.data.schema import RelationalSchema
from grdm_sdv.timing import fit_and_sample

#: The zoo's planted dependencies: (ancestor column, descendant column).
PLANTED = [
    (('driver', 'skill'), ('result', 'points')),
    (('circuit', 'length_km'), ('race', 'laps')),
    (('country', 'continent'), ('circuit', 'kind')),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    # At size 1 the root tables have 10-40 rows, so their column-pair scores are mostly noise.
    ap.add_argument('--size', type=float, default=4.0, help='row-count multiplier of the zoo')
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')

    tables, metadata = make_relational_zoo(size=args.size, seed=args.seed)
    schema = RelationalSchema.from_metadata_dict(metadata.to_dict())
    n_real = sum(len(t) for t in tables.values())
    synth = GRDMSynthesizer(metadata, steps=args.steps, seed=args.seed, verbose=False)
    synthetic, fit_s, sample_s = fit_and_sample(synth, tables, args.scale)
    n_syn = sum(len(t) for t in synthetic.values())

    quality = quality_report(tables, synthetic, metadata)
    trends = k_hop_trends(tables, synthetic, metadata, seed=args.seed)
    k_hop = summarize_k_hop(trends)
    k_hop_strong = summarize_k_hop(trends, threshold=0.3)
    planted = {f'{a[0]}.{a[1]} -> {d[0]}.{d[1]}': {
        'real': cross_table_dependence(tables, metadata, a, d),
        'synthetic': cross_table_dependence(synthetic, metadata, a, d),
    } for a, d in PLANTED}
    flights = synthetic['flight']
    structure = {
        'sponsor_null_rate': {'real': float(tables['race']['sponsor_id'].isna().mean()),
                              'synthetic': float(synthetic['race']['sponsor_id'].isna().mean())},
        'flight_origin_is_destination': {
            'real': float((tables['flight']['origin'] == tables['flight']['destination']).mean()),
            'synthetic': float((flights['origin'] == flights['destination']).mean())},
    }

    print(f'schema: {len(schema.tables)} tables, depth {schema.depth()}, '
          f'{len(schema.foreign_keys)} foreign keys, {len(schema.roots())} roots')
    print(f'{n_real} real rows, {n_syn} synthetic rows (scale {args.scale}); '
          f'fit {fit_s:.1f}s ({args.steps} steps), sample {sample_s:.1f}s '
          f'(torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{platform.processor() or platform.machine()})')
    print('quality:', {k: round(v, 4) for k, v in quality.items()})
    print('k-hop (all pairs):', {k: round(v, 4) for k, v in k_hop.items()})
    print('k-hop (real strength >= 0.3):', {k: round(v, 4) for k, v in k_hop_strong.items()})
    for name, scores in planted.items():
        print(f'planted {name}: real {scores["real"]:.3f}, synthetic {scores["synthetic"]:.3f}')
    for name, scores in structure.items():
        print(f'{name}: real {scores["real"]:.3f}, synthetic {scores["synthetic"]:.3f}')

    out_dir = Path(__file__).parent / 'results'
    out_dir.mkdir(exist_ok=True)
    record = {
        'size': args.size, 'scale': args.scale, 'real_rows': n_real, 'synthetic_rows': n_syn,
        'fit_seconds': fit_s, 'sample_seconds': sample_s, 'threads': torch.get_num_threads(),
        'params': synth.get_parameters(), 'quality': quality, 'k_hop': k_hop,
        'k_hop_strong_0.3': k_hop_strong, 'planted': planted, 'structure': structure,
    }
    with open(out_dir / 'schema_12_tables.json', 'w') as fh:
        json.dump(record, fh, indent=2, default=str)


if __name__ == '__main__':
    main()
