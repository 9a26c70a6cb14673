"""The ``grdm-sdv`` command.

    grdm-sdv demo [--output DIR] [--steps N] [--scale S]
    grdm-sdv fit DATA --model model.pkl [--tables a,b] [--steps N] [--n-hops K] [--device auto]
    grdm-sdv sample MODEL --output OUT [--scale S] [--overwrite]
    grdm-sdv evaluate REAL_DIR SYNTH_DIR [--report out.html] [--json out.json]

``DATA``/``OUT`` are folders with one CSV per table and an SDV ``metadata.json`` (the layout
``demo`` and ``sample`` write), or SQLAlchemy database URLs (``sqlite:///shop.db``,
``postgresql+psycopg://user@host/db``: ``grdm_sdv.database``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path


def _print_scores(real, synthetic, metadata, seed: int = 0) -> dict:
    from . import evaluation

    quality = evaluation.quality_report(real, synthetic, metadata)
    print('\nSDMetrics quality report')
    for name, value in quality.items():
        print(f'  {name:<28s} {value:.4f}')
    trends = evaluation.k_hop_trends(real, synthetic, metadata)
    hops = evaluation.summarize_k_hop(trends)
    strong = evaluation.summarize_k_hop(trends, threshold=0.3)
    print('\nk-hop trends (all pairs / pairs with real strength >= 0.3)')
    for hop in sorted(hops):
        s = strong.get(hop, float('nan'))
        print(f'  {hop}-hop                        {hops[hop]:.4f} / {s:.4f}')
    scores = {'quality': quality, 'k_hop': hops, 'k_hop_strong': strong}
    co = evaluation.co_parent_trends(real, synthetic, metadata)
    if len(co):  # only where a table has two foreign keys
        scores['co_parent'] = evaluation.summarize_co_parent(co)
        scores['co_parent_strong'] = evaluation.summarize_co_parent(co, threshold=0.3)
        print(f"  two parents of one row         {scores['co_parent']:.4f} / {scores['co_parent_strong']:.4f}")
    card = evaluation.cardinality_scores(real, synthetic, metadata)
    print(f'\ncardinality (1 - KS, mean over FKs) {card["score"].mean():.4f}')
    return {**scores, 'cardinality_ks': float(card['score'].mean())}


def _steps(args: argparse.Namespace) -> dict:
    """``{'steps': N}`` when ``--steps`` was given; else nothing, so the library default applies
    (one default for the command line and the Python API; the demo trained 1,500 steps before
    0.2.15 while the library trained 2,000)."""
    return {} if args.steps is None else {'steps': args.steps}


def _is_url(target: str) -> bool:
    return '://' in target


def _demo(args: argparse.Namespace) -> int:
    from . import GRDMSynthesizer
    from .database import check_integrity, write_database
    from .datasets import DEMO_DEPENDENCIES, make_demo_database, save_csv_folder
    from .evaluation import cross_table_dependence
    from .timing import fit_and_sample

    tables, metadata = make_demo_database(args.customers, seed=args.seed)
    print('Demo database: ' + ', '.join(f'{t} ({len(df)} rows)' for t, df in tables.items()))
    synth = GRDMSynthesizer(metadata, **_steps(args), n_hops=args.n_hops, device=args.device,
                            seed=args.seed, verbose=not args.quiet)
    synthetic, fit_s, sample_s = fit_and_sample(synth, tables, args.scale)
    print(f'\nFit {fit_s:.1f}s, sample at scale {args.scale} {sample_s:.1f}s: '
          + ', '.join(f'{t} ({len(df)} rows)' for t, df in synthetic.items()))
    out = save_csv_folder(synthetic, metadata, args.output)
    save_csv_folder(tables, metadata, Path(args.output) / 'real')
    print(f'Synthetic CSVs and metadata.json written to {out}/ (the real demo data to {out}/real/)')
    db = out / 'synthetic.db'
    write_database(synthetic, f'sqlite:///{db}', metadata, if_exists='replace')
    print(f'The same synthetic tables as a SQLite database: {db} ('
          f'{_integrity_line(check_integrity(f"sqlite:///{db}"), "sqlite")}). Open it with\n'
          f'  sqlite3 {db} ".tables"    or    python -c "import sqlite3; '
          f"print(sqlite3.connect('{db}').execute('SELECT COUNT(*) FROM customer').fetchone())\"")
    scores = _print_scores(tables, synthetic, metadata, seed=args.seed)
    print('\nPlanted cross-table dependencies (real -> synthetic)')
    for hops, anc, desc in DEMO_DEPENDENCIES:
        r = cross_table_dependence(tables, metadata, anc, desc)
        s = cross_table_dependence(synthetic, metadata, anc, desc)
        print(f'  {hops}-hop {anc[0]}.{anc[1]} -> {desc[0]}.{desc[1]}: {r:.3f} -> {s:.3f}')
    scores['fit_seconds'], scores['sample_seconds'] = fit_s, sample_s
    with open(out / 'scores.json', 'w') as fh:
        json.dump(scores, fh, indent=2, default=str)
    return 0


def _integrity_line(problems: list[str], dialect: str) -> str:
    check = 'PRAGMA foreign_key_check' if dialect == 'sqlite' else 'foreign-key check'
    if not problems:
        return f'{check}: no violation'
    return f'{check}: {len(problems)} problem(s): ' + '; '.join(problems[:5])


def _fit(args: argparse.Namespace) -> int:
    from . import GRDMSynthesizer
    from .database import read_database
    from .datasets import load_csv_folder

    schema = None
    if _is_url(args.data):
        chosen = [t.strip() for t in args.tables.split(',') if t.strip()] if args.tables else None
        tables, metadata, schema = read_database(args.data, chosen)
        print('Read ' + ', '.join(f'{t} ({len(df)} rows)' for t, df in tables.items()))
    else:
        tables, metadata = load_csv_folder(args.data)
    synth = GRDMSynthesizer(metadata, **_steps(args), n_hops=args.n_hops, device=args.device,
                            seed=args.seed, verbose=not args.quiet)
    synth.fit(tables)
    synth.database_schema = schema
    synth.save(args.model)
    print(f'Fitted in {synth.get_info()["fit_seconds"]:.1f}s; saved to {args.model}')
    return 0


def _sample(args: argparse.Namespace) -> int:
    from . import GRDMSynthesizer

    synth = GRDMSynthesizer.load(args.model, device=args.device)
    synth.verbose = not args.quiet
    sharded = args.max_rows_in_memory or int(os.environ.get('WORLD_SIZE', '1')) > 1
    if _is_url(args.output):
        from .database import check_integrity, sample_to_database

        if_exists = 'replace' if args.overwrite else 'fail'
        if sharded:
            rows = _sharded_to_database(synth, args, if_exists)
            if rows is None:
                return 0  # a worker other than rank 0: its shards are written
        else:
            rows = sample_to_database(synth, args.output, scale=args.scale, if_exists=if_exists)
        dialect = args.output.split(':', 1)[0].split('+', 1)[0]
        print('Wrote ' + ', '.join(f'{t} ({n} rows)' for t, n in rows.items())
              + f' to {args.output}; {_integrity_line(check_integrity(args.output), dialect)}')
        return 0
    folder = Path(args.output)
    if sharded or args.format != 'csv':
        return _sample_sharded(synth, folder, args)
    folder.mkdir(parents=True, exist_ok=True)
    # Streamed: each table is written as soon as it is decoded and not kept in memory.
    paths = synth.sample(scale=args.scale, output_folder_path=str(folder), return_data=False)
    with open(folder / 'metadata.json', 'w') as fh:
        json.dump(synth.get_metadata().to_dict(), fh, indent=2)
    print(f'Wrote {", ".join(p.name for p in paths.values())} and metadata.json to {folder}')
    return 0


def _sample_sharded(synth, folder: Path, args: argparse.Namespace) -> int:
    """Shard by shard into part files (also what every ``torchrun`` worker runs)."""
    manifest = synth.sample_sharded(folder, scale=args.scale, max_rows_in_memory=args.max_rows_in_memory,
                                    file_format=args.format, seed=args.seed, overwrite=args.overwrite)
    if int(os.environ.get('RANK', '0')) == 0:
        with open(folder / 'metadata.json', 'w') as fh:
            json.dump(synth.get_metadata().to_dict(), fh, indent=2)
        rows = sum(t['rows'] for t in manifest['tables'].values())
        print(f"Wrote {rows} rows in {manifest['shards']} shards to {folder} (manifest.json lists the parts)")
    return 0


def _sharded_to_database(synth, args: argparse.Namespace, if_exists: str):
    """Shards into ``--work`` (default: a temporary folder, removed once loaded), then into the
    database by rank 0; ``None`` on the other ranks."""
    import tempfile

    from .database import sharded_to_database

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix='grdm-shards-'))
    try:
        import pyarrow  # noqa: F401 - parquet parts keep the dtypes the database gets
        fmt = 'parquet'
    except ImportError:
        fmt = 'csv'
    synth.sample_sharded(work, scale=args.scale, max_rows_in_memory=args.max_rows_in_memory,
                         file_format=fmt, seed=args.seed)
    if int(os.environ.get('RANK', '0')) != 0:
        return None
    rows = sharded_to_database(work, args.output, synth.get_metadata(), synth.database_schema,
                               if_exists)
    if not args.work:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _evaluate(args: argparse.Namespace) -> int:
    from . import evaluation
    from .datasets import load_csv_folder

    real, metadata = load_csv_folder(args.real)
    synthetic, _ = load_csv_folder(args.synthetic)
    result = evaluation.evaluate(real, synthetic, metadata, seed=args.seed)
    print(result.summary.to_string(index=False))
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(result.to_dict(), fh, indent=2)
    if args.report:
        evaluation.write_html_report(result, real, synthetic, metadata, args.report)
        print(f'HTML report written to {args.report}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``grdm-sdv``."""
    p = argparse.ArgumentParser(prog='grdm-sdv', description='Synthetic relational databases with GRDM.')
    sub = p.add_subparsers(dest='command', required=True)

    def model_args(sp) -> None:
        sp.add_argument('--steps', type=int, default=None,
                        help="training steps (default: GRDMSynthesizer's, the library default)")
        sp.add_argument('--n-hops', type=int, default=2, help='GNN layers = hops (default 2)')
        sp.add_argument('--device', default='auto', help="'auto', 'cpu' or 'cuda' (default auto)")
        sp.add_argument('--seed', type=int, default=0)
        sp.add_argument('--quiet', action='store_true', help='no progress bars')

    d = sub.add_parser('demo', help='fit and sample the built-in demo database, print scores')
    model_args(d)
    d.add_argument('--output', default='demo_output', help='folder for the synthetic CSVs')
    d.add_argument('--scale', type=float, default=2.0)
    d.add_argument('--customers', type=int, default=600, help='size of the demo database')
    d.set_defaults(func=_demo)

    f = sub.add_parser('fit', help='fit on a database URL or a folder of CSVs + metadata.json, '
                                   'and save the model')
    f.add_argument('data', help='a SQLAlchemy URL (sqlite:///shop.db) or a folder')
    f.add_argument('--tables', default=None,
                   help='with a URL: comma-separated tables to read (default: all)')
    f.add_argument('--model', required=True, help='where to save the fitted synthesizer')
    model_args(f)
    f.set_defaults(func=_fit)

    s = sub.add_parser('sample', help='sample from a saved synthesizer into a folder or a database')
    s.add_argument('model')
    s.add_argument('--output', required=True,
                   help='a folder, or a SQLAlchemy URL of a new database (sqlite:///synthetic.db)')
    s.add_argument('--overwrite', action='store_true',
                   help='with a URL: replace the tables of the same names in a non-empty database; '
                        'sharded: delete another sample in the folder')
    s.add_argument('--scale', type=float, default=1.0)
    s.add_argument('--max-rows-in-memory', type=int, default=None,
                   help='sample shard by shard into <output>/<table>/part-*.csv with at most this '
                        'many generated rows per shard (the default under torchrun: from the '
                        'memory available)')
    s.add_argument('--format', default='csv', choices=['csv', 'parquet'],
                   help='part file format of a sharded sample (default csv)')
    s.add_argument('--work', default=None,
                   help='with a URL and --max-rows-in-memory: folder for the part files before they '
                        'are loaded (kept, so a rerun continues; default: a temporary folder)')
    s.add_argument('--seed', type=int, default=None,
                   help='seed of a sharded sample (default: continue the one in --output, or draw)')
    s.add_argument('--device', default=None)
    s.add_argument('--quiet', action='store_true')
    s.set_defaults(func=_sample)

    e = sub.add_parser('evaluate', help='score a synthetic database against the real one')
    e.add_argument('real')
    e.add_argument('synthetic')
    e.add_argument('--report', default=None, help='write an HTML report with plots here')
    e.add_argument('--json', default=None, help='write all scores as JSON here')
    e.add_argument('--seed', type=int, default=0)
    e.set_defaults(func=_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``grdm-sdv``."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        # SDV and SDMetrics warn about metadata and future pandas behaviour at every call;
        # the command's own output is what matters here.
        warnings.simplefilter('ignore', FutureWarning)
        warnings.simplefilter('ignore', UserWarning)
        try:
            return args.func(args)
        except _user_errors() as error:
            if os.environ.get('GRDM_SDV_TRACEBACK'):
                raise
            print(f'grdm-sdv {args.command}: error: {type(error).__name__}: {error}\n'
                  '(set GRDM_SDV_TRACEBACK=1 for the traceback)', file=sys.stderr)
            return 1


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that say the input is wrong (a missing file or folder, a parameter out of
    range, data or metadata SDV refuses, a database URL that does not open, a file that is
    not a saved model): the command prints them in one line instead of a traceback."""
    import pickle

    from sdv import errors as sdv_errors
    from sdv.metadata.errors import InvalidMetadataError
    from sqlalchemy.exc import SQLAlchemyError

    return (OSError, ValueError, pickle.UnpicklingError, SQLAlchemyError, InvalidMetadataError,
            sdv_errors.SynthesizerInputError, sdv_errors.InvalidDataError,
            sdv_errors.InvalidDataTypeError, sdv_errors.NotFittedError, sdv_errors.SamplingError)


if __name__ == '__main__':
    sys.exit(main())
