"""Round trip through a real database: read, fit, sample, write, constraint check, timed.

The source is F1 (../shared/datasets/f1, 9 tables, ~74k rows) written into a SQLite file
first; where that folder is absent, the generated demo database (``--customers`` sets its
size; 9,000 customers make ~100k rows); or any database given with ``--source URL``.
Prints a small table and writes benchmarks/results/database_roundtrip_<name>.json.

    python -m benchmarks.database_roundtrip [--source URL] [--steps N] [--scale 1.0]
        [--target-url postgresql+psycopg://...]  [--tables a,b]

Timed: ``read`` (read_database: tables, metadata, DDL), ``fit`` (library defaults unless
``--steps``), ``sample`` (in memory), ``write`` (write_database of that sample, one
transaction), ``sample+write streamed`` (sample_to_database into a second database, each
table written as it is decoded) and the integrity check of each target
(SQLite: PRAGMA foreign_key_check; PostgreSQL: validated constraints, no orphan row).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import warnings
from pathlib import Path

import torch

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.database import check_integrity, read_database, sample_to_database, write_database
from grdm_sdv.datasets import load_csv_folder, make_demo_database
from grdm_sdv.timing import timed

DATASETS = Path(__file__).resolve().parents[2] / 'shared' / 'datasets'


def _source(args, workdir: Path) -> tuple[str, str]:
    """(name, URL) of the database to read; builds a SQLite file when none is given."""
    if args.source:
        return 'source', args.source
    folder = DATASETS / 'f1'
    if folder.exists() and not args.demo:
        name, (tables, metadata) = 'f1', load_csv_folder(folder)
    else:
        if not args.demo:
            print(f'{folder} not found: the demo database with {args.customers} customers instead')
        name, (tables, metadata) = 'demo', make_demo_database(args.customers, seed=args.seed)
    url = f'sqlite:///{workdir / f"{name}.db"}'
    write_database(tables, url, metadata)
    return name, url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--source', default=None, help='read this database instead of building one')
    ap.add_argument('--tables', default=None, help='comma-separated tables to read (default: all)')
    ap.add_argument('--demo', action='store_true', help='the generated demo database, not F1')
    ap.add_argument('--customers', type=int, default=9000, help='demo database size (9,000: ~100k rows)')
    ap.add_argument('--steps', type=int, default=None, help='training steps (default: the library default)')
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--target-url', default=None,
                    help='also write the streamed sample here (an empty database), e.g. PostgreSQL')
    ap.add_argument('--postgres', action='store_true',
                    help='also write into a PostgreSQL server started here with pgserver (pip install pgserver)')
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        name, url = _source(args, workdir)
        chosen = args.tables.split(',') if args.tables else None
        (data, metadata, schema), read_s = timed(read_database, url, chosen)
        n_rows = sum(len(df) for df in data.values())
        kwargs = {'seed': args.seed, **({'steps': args.steps} if args.steps else {})}
        synth = GRDMSynthesizer(metadata, verbose=False, **kwargs)
        _, fit_s = timed(synth.fit, data)
        synth.database_schema = schema
        del data
        sampled, sample_s = timed(synth.sample, scale=args.scale)
        written = f'sqlite:///{workdir / "synthetic.db"}'
        rows, write_s = timed(write_database, sampled, written, metadata, schema)
        del sampled
        problems, check_s = timed(check_integrity, written)
        targets = [('sqlite', f'sqlite:///{workdir / "streamed.db"}')]
        if args.target_url:
            targets.append((args.target_url.split(':', 1)[0], args.target_url))
        if args.postgres:
            import pgserver

            server = pgserver.get_server(str(workdir / 'pg'), cleanup_mode='stop')
            server.psql('CREATE DATABASE synthetic;')
            uri = server.get_uri().replace('postgresql://', 'postgresql+psycopg://')
            targets.append(('postgresql', uri.replace('/postgres?', '/synthetic?')))
        streamed = {}
        for label, target in targets:
            _, stream_s = timed(sample_to_database, synth, target, scale=args.scale)
            target_problems, target_check_s = timed(check_integrity, target)
            streamed[label] = {'sample_write_seconds': stream_s, 'check_seconds': target_check_s,
                               'problems': target_problems}
        if args.postgres:
            server.cleanup()
    result = {
        'database': name, 'tables': len(rows), 'rows': n_rows, 'rows_sampled': sum(rows.values()),
        'scale': args.scale, 'steps': synth.steps, 'read_seconds': read_s, 'fit_seconds': fit_s,
        'sample_seconds': sample_s, 'write_seconds': write_s, 'check_seconds': check_s,
        'problems': problems, 'streamed': streamed,
        'machine': {'python': platform.python_version(), 'torch': torch.__version__,
                    'threads': torch.get_num_threads(), 'cpu': platform.processor() or platform.machine()},
    }
    print(f'\n{name}: {len(rows)} tables, {n_rows} rows read, {result["rows_sampled"]} sampled '
          f'(scale {args.scale}, {synth.steps} steps)')
    print(f'  {"phase":<28s} {"seconds":>9s}')
    for phase in ('read', 'fit', 'sample', 'write', 'check'):
        print(f'  {phase:<28s} {result[f"{phase}_seconds"]:9.1f}')
    print(f'  integrity (sqlite)           {"no violation" if not problems else problems[:3]}')
    for label, s in streamed.items():
        print(f'  {"sample+write streamed, " + label:<28s} {s["sample_write_seconds"]:9.1f}')
        print(f'  {"check, " + label:<28s} {s["check_seconds"]:9.1f}  '
              f'{"no violation" if not s["problems"] else s["problems"][:3]}')
    out = Path(__file__).parent / 'results' / f'database_roundtrip_{name}.json'
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f'written to {out}')


if __name__ == '__main__':
    main()
