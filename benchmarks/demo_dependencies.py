"""Planted cross-table dependencies of the demo database: GRDM vs a graph-blind GRDM.

The graph-blind baseline is the same model with ``n_hops=0`` (no message passing; it still
sees each row's own child counts). Prints the dependence strength of each planted pair in
the real data and in each synthetic database (sampled at scale 1; with ``--draws N`` the
mean and the draw-to-draw std over N samples of one fit), and the spread of every
parent column (synthetic std / real std, mean over the draws).

The *noise floor* (``--floor N``): N more databases from the demo generator itself, with
other seeds, scored against the real one as a synthetic database is. They are exact draws
from the process that made the real data, so their gap is what a perfect generator scores:
on the database ``grdm-sdv demo`` builds (600 customers, 10 regions) the region-level
strengths move by ~0.07 from one database to the next, so "within 0.05 in every draw" is
below what an exact model of the process reaches (``docs/fidelity.md``).

    python -m benchmarks.demo_dependencies            # the library's defaults
    python -m benchmarks.demo_dependencies --hops 2 --seeds 0 1 --draws 6 --floor 20
    python -m benchmarks.demo_dependencies --steps 1500 --hops 0 2
    python -m benchmarks.demo_dependencies --hops 2 --sampling guidance_scale=1,parent_lead=0.75

``--sampling`` samples each fit again with other sampling parameters (from the state right
after the fit, like the defaults' sample), as another column.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from grdm_sdv.datasets import DEMO_DEPENDENCIES, make_demo_database
from grdm_sdv.evaluation import column_spread, cross_table_dependence

from ._fits import SAMPLING_PARAMS, SharedFit

#: Seeds of the noise floor's databases start here (the run's own seed is skipped).
FLOOR_SEED = 10_000


def strengths(tables: dict, metadata) -> np.ndarray:
    """Each planted pair's strength in ``tables``, in ``DEMO_DEPENDENCIES`` order."""
    return np.array([cross_table_dependence(tables, metadata, a, d) for _, a, d in DEMO_DEPENDENCIES])


def floor_seeds(seed: int, n: int) -> list[int]:
    """Seeds of the noise floor's ``n`` databases: from :data:`FLOOR_SEED` on, without ``seed``
    (the real database's own)."""
    return [k for k in range(FLOOR_SEED, FLOOR_SEED + n + 1) if k != seed][:n]


def gap_summary(draws: np.ndarray, real: np.ndarray) -> tuple[float, float]:
    """``(mean over draws of the worst |gap| of a draw, worst |gap| of the draws' mean)``."""
    return float(np.abs(draws - real).max(1).mean()), float(np.abs(draws.mean(0) - real).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--steps', type=int, default=None, help='training steps (default: the library default)')
    ap.add_argument('--hops', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--customers', type=int, default=600)
    ap.add_argument('--seeds', type=int, nargs='+', default=[0],
                    help='databases (and fits) to run, one after the other')
    ap.add_argument('--seed', type=int, default=None, help='one seed (the same as --seeds SEED)')
    ap.add_argument('--draws', type=int, default=1, help='samples per fit and setting')
    ap.add_argument('--floor', type=int, default=0, metavar='N',
                    help='also score N independent databases from the generator (the noise floor)')
    ap.add_argument('--sampling', action='append', default=[], metavar='K=V[,K=V...]',
                    help='also sample each fit with these sampling parameters '
                         f"(any of {', '.join(SAMPLING_PARAMS)})")
    args = ap.parse_args()
    if args.draws < 1 or args.floor < 0:
        ap.error('--draws must be at least 1 and --floor at least 0')
    settings = [_parse_setting(ap, text) for text in args.sampling]
    warnings.filterwarnings('ignore')
    for seed in ([args.seed] if args.seed is not None else args.seeds):
        _run_seed(args, seed, settings)


def _run_seed(args: argparse.Namespace, seed: int, settings: list[dict]) -> None:
    """Fit, sample and print one seed's tables."""
    tables, metadata = make_demo_database(args.customers, seed=seed)
    real = strengths(tables, metadata)
    rows, spreads = {}, {}
    if args.floor:
        rows[f'generator x{args.floor} (floor)'] = np.stack([
            strengths(*make_demo_database(args.customers, seed=k)) for k in floor_seeds(seed, args.floor)])

    steps = {} if args.steps is None else {'steps': args.steps}
    fits = SharedFit()  # a --sampling setting samples the fit just made, from the same state

    def record(label: str, params: dict) -> tuple[float, float]:
        _, first, fit_s, sample_s = fits.sample(metadata, tables, params)
        draws = [first] + [fits.redraw() for _ in range(args.draws - 1)]
        rows[label] = np.stack([strengths(syn, metadata) for syn in draws])
        frames = [column_spread(tables, syn, metadata) for syn in draws]
        spreads[label] = frames[0].assign(ratio=np.mean([f['ratio'].to_numpy() for f in frames], 0))
        return fit_s, sample_s

    for k in args.hops:
        params = {'n_hops': k, 'seed': seed, 'verbose': False, **steps}
        fit_s, sample_s = record(f'n_hops={k}', params)
        print(f'seed {seed}, n_hops={k}: fit {fit_s:.1f}s sample {sample_s:.1f}s', flush=True)
        for text, values in zip(args.sampling, settings):
            record(f'n_hops={k}, {text}', {**params, **values})

    many = args.draws > 1 or args.floor
    print(f'\nseed {seed}' + (f' ({args.draws} draws per fit: mean ± draw std)' if many else ''))
    print('| hops | ancestor | descendant | real | ' + ' | '.join(rows) + ' |')
    print('|---' * (4 + len(rows)) + '|')
    for i, (h, a, d) in enumerate(DEMO_DEPENDENCIES):
        vals = ' | '.join(_cell(v[:, i], many) for v in rows.values())
        print(f'| {h} | {a[0]}.{a[1]} | {d[0]}.{d[1]} | {real[i]:.3f} | {vals} |')
    summaries = [gap_summary(v, real) for v in rows.values()]
    print('| | worst gap per draw (mean over draws) | | | ' + ' | '.join(f'{s[0]:.3f}' for s in summaries) + ' |')
    if many:
        print('| | worst gap of the mean over draws | | | ' + ' | '.join(f'{s[1]:.3f}' for s in summaries) + ' |')
    print('\n| column | ' + ' | '.join(spreads) + ' |  (synthetic std / real std)')
    print('|---' * (1 + len(spreads)) + '|')
    first = next(iter(spreads.values()))
    for i, r in enumerate(first.itertuples()):
        print(f'| {r.table}.{r.column} | ' + ' | '.join(f"{s['ratio'].iloc[i]:.3f}" for s in spreads.values()) + ' |')


def _cell(values: np.ndarray, many: bool) -> str:
    return f'{values.mean():.3f} ± {values.std():.3f}' if many else f'{values[0]:.3f}'


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
