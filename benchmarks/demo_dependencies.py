"""Planted cross-table dependencies of the demo database: GRDM vs a graph-blind GRDM.

The graph-blind baseline is the same model with ``n_hops=0`` (no message passing; it still
sees each row's own child counts). Prints the dependence strength of each planted pair in
the real data and in each synthetic database (sampled at scale 1), and the spread of every
parent column (synthetic std / real std).

    python -m benchmarks.demo_dependencies            # the library's defaults
    python -m benchmarks.demo_dependencies --steps 1500 --hops 0 2
    python -m benchmarks.demo_dependencies --hops 2 --sampling guidance_scale=1,parent_lead=0.75

``--sampling`` samples each fit again with other sampling parameters (from the state right
after the fit, like the defaults' sample), as another column.
"""

from __future__ import annotations

import argparse
import warnings

from grdm_sdv.datasets import DEMO_DEPENDENCIES, make_demo_database
from grdm_sdv.evaluation import cross_table_dependence
from grdm_sdv.evaluation import column_spread

from ._fits import SAMPLING_PARAMS, SharedFit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--steps', type=int, default=None, help='training steps (default: the library default)')
    ap.add_argument('--hops', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--customers', type=int, default=600)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--sampling', action='append', default=[], metavar='K=V[,K=V...]',
                    help='also sample each fit with these sampling parameters '
                         f"(any of {', '.join(SAMPLING_PARAMS)})")
    args = ap.parse_args()
    settings = [_parse_setting(ap, text) for text in args.sampling]
    warnings.filterwarnings('ignore')
    tables, metadata = make_demo_database(args.customers, seed=args.seed)
    rows = {'real': [cross_table_dependence(tables, metadata, a, d) for _, a, d in DEMO_DEPENDENCIES]}
    spreads = {}

    def record(label: str, synthetic: dict) -> None:
        rows[label] = [cross_table_dependence(synthetic, metadata, a, d) for _, a, d in DEMO_DEPENDENCIES]
        spreads[label] = column_spread(tables, synthetic, metadata)

    steps = {} if args.steps is None else {'steps': args.steps}
    fits = SharedFit()  # a --sampling setting samples the fit just made, from the same state
    for k in args.hops:
        params = {'n_hops': k, 'seed': args.seed, 'verbose': False, **steps}
        _, syn, fit_s, sample_s = fits.sample(metadata, tables, params)
        record(f'n_hops={k}', syn)
        print(f'n_hops={k}: fit {fit_s:.1f}s sample {sample_s:.1f}s', flush=True)
        for text, values in zip(args.sampling, settings):
            record(f'n_hops={k}, {text}', fits.sample(metadata, tables, {**params, **values})[1])
    print('| hops | ancestor | descendant | ' + ' | '.join(rows) + ' |')
    print('|---' * (3 + len(rows)) + '|')
    for i, (h, a, d) in enumerate(DEMO_DEPENDENCIES):
        vals = ' | '.join(f'{rows[k][i]:.3f}' for k in rows)
        print(f'| {h} | {a[0]}.{a[1]} | {d[0]}.{d[1]} | {vals} |')
    print('\n| column | ' + ' | '.join(spreads) + ' |  (synthetic std / real std)')
    print('|---' * (1 + len(spreads)) + '|')
    first = next(iter(spreads.values()))
    for i, r in enumerate(first.itertuples()):
        print(f'| {r.table}.{r.column} | ' + ' | '.join(f"{s['ratio'].iloc[i]:.3f}" for s in spreads.values()) + ' |')


def _parse_setting(ap: argparse.ArgumentParser, text: str) -> dict:
    """``'guidance_scale=1,parent_lead=0.75'`` -> ``{'guidance_scale': 1.0, 'parent_lead': 0.75}``."""
    out = {}
    for part in text.split(','):
        name, sep, value = part.partition('=')
        if not sep or name not in SAMPLING_PARAMS:
            ap.error(f'--sampling {text!r}: expected K=V pairs with K one of {", ".join(SAMPLING_PARAMS)}')
        try:
            out[name] = int(value) if value.isdigit() else float(value)
        except ValueError:
            out[name] = {'True': True, 'False': False}.get(value, value)
    return out


if __name__ == '__main__':
    main()
