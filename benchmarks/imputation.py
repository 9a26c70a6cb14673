"""Imputation accuracy of GRDM against column mean/mode imputation on a real database.

Masks a share of the attribute cells of every table (10%, 30%, 50%), then whole tables
(every attribute of one table at a time, keys kept), imputes with ``GRDMSynthesizer.impute``
and scores the masked cells: categorical/boolean accuracy against mode imputation, and
numerical/datetime mean absolute error divided by the column's standard deviation against
mean imputation, for both forms of ``impute``: one draw from the conditional
(``method='draw'``) and a point estimate over ``--n-draws`` draws (``method='point'``).
Prints a markdown table and writes benchmarks/results/imputation_<name>.json.

    python -m benchmarks.imputation f1 --steps 1000 --whole-tables result driver_standings
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.datasets import load_csv_folder
from grdm_sdv.timing import timed

DATASETS = Path(__file__).resolve().parents[2] / 'shared' / 'datasets'


def attribute_columns(metadata, table):
    meta = metadata.to_dict()
    keys = {meta['tables'][table].get('primary_key')}
    keys |= {r['child_foreign_key'] for r in meta['relationships'] if r['child_table_name'] == table}
    return {c: spec['sdtype'] for c, spec in meta['tables'][table]['columns'].items()
            if c not in keys and spec['sdtype'] in ('numerical', 'datetime', 'categorical', 'boolean')}


def as_number(series, sdtype):
    if sdtype == 'datetime':
        return pd.to_datetime(series, errors='coerce').astype('int64').where(series.notna()).astype(float)
    return pd.to_numeric(series, errors='coerce').astype(float)


def score(real, imputed, masks, metadata):
    """Per masked column: model score and baseline score (accuracy up, NMAE down)."""
    rows = []
    for table, mask in masks.items():
        for col, sdtype in attribute_columns(metadata, table).items():
            m = mask[col].to_numpy() & real[table][col].notna().to_numpy()
            known = ~mask[col].to_numpy() & real[table][col].notna().to_numpy()
            if m.sum() < 5:
                continue
            truth, pred = real[table][col][m], imputed[table][col][m]
            if sdtype in ('categorical', 'boolean'):
                pool = real[table][col][known] if known.any() else real[table][col]
                mode = pool.mode().iloc[0]
                rows.append((table, col, 'accuracy', float((pred.astype(str).to_numpy() == truth.astype(str).to_numpy()).mean()),
                             float((truth.astype(str) == str(mode)).mean())))
            else:
                t = as_number(truth, sdtype)
                p = as_number(pred, sdtype)
                allv = as_number(real[table][col], sdtype)
                sd = allv.std() or 1.0
                base = (allv[known].mean() if known.any() else allv.mean())
                rows.append((table, col, 'nmae', float(np.nanmean(np.abs(p - t)) / sd),
                             float(np.nanmean(np.abs(base - t)) / sd)))
    return pd.DataFrame(rows, columns=['table', 'column', 'metric', 'grdm', 'baseline'])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('name')
    ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--rates', type=float, nargs='+', default=[0.1, 0.3, 0.5])
    ap.add_argument('--whole-tables', nargs='*', default=[])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--methods', nargs='+', default=['draw', 'point'], choices=['draw', 'point'])
    ap.add_argument('--n-draws', type=int, default=5, help='draws behind a point estimate')
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    real, metadata = load_csv_folder(DATASETS / args.name)
    synth = GRDMSynthesizer(metadata, steps=args.steps, seed=args.seed, verbose=False)
    _, fit_s = timed(synth.fit, real)
    print(f'fit {fit_s:.0f}s ({args.steps} steps)')
    rng = np.random.default_rng(args.seed)
    settings = [(f'{int(r * 100)}% of cells', r, None) for r in args.rates]
    settings += [(f'whole table {t}', None, t) for t in args.whole_tables]
    results = []
    for label, rate, whole in settings:
        data, masks = {}, {}
        for table, df in real.items():
            cols = attribute_columns(metadata, table)
            mask = pd.DataFrame(False, index=df.index, columns=list(cols))
            if rate is not None:
                mask[:] = rng.random(mask.shape) < rate
            elif table == whole:
                mask[:] = True
            data[table] = df.copy()
            for c in cols:
                data[table].loc[mask[c].to_numpy(), c] = np.nan
            masks[table] = mask
        row = {'setting': label}
        for method in args.methods:
            imputed, secs = timed(synth.impute, data, method=method, n_draws=args.n_draws)
            s = score(real, imputed, masks, metadata)
            acc = s[s.metric == 'accuracy']
            nmae = s[s.metric == 'nmae']
            row.update({f'{method}_seconds': secs, f'{method}_accuracy': float(acc.grdm.mean()),
                        f'{method}_nmae': float(nmae.grdm.mean()),
                        f'{method}_columns': s.to_dict(orient='records'),
                        'mode_accuracy': float(acc.baseline.mean()),
                        'mean_nmae': float(nmae.baseline.mean())})
            print(f'{label}: impute ({method}) {secs:.0f}s', flush=True)
        results.append(row)
    heads = [f'GRDM {m} accuracy' for m in args.methods] + ['mode accuracy'] \
        + [f'GRDM {m} NMAE' for m in args.methods] + ['mean-imputation NMAE']
    print(f'\n| {args.name}: masked | ' + ' | '.join(heads) + ' |')
    print('|---|' + '---|' * len(heads))
    for r in results:
        cells = [r[f'{m}_accuracy'] for m in args.methods] + [r['mode_accuracy']] \
            + [r[f'{m}_nmae'] for m in args.methods] + [r['mean_nmae']]
        print(f"| {r['setting']} | " + ' | '.join(f'{v:.3f}' for v in cells) + ' |')
    out = Path(__file__).parent / 'results' / f'imputation_{args.name}.json'
    out.write_text(json.dumps({'dataset': args.name, 'steps': args.steps, 'n_draws': args.n_draws,
                               'results': results}, indent=2))


if __name__ == '__main__':
    main()
