"""The output folder of a sharded sample: part files, commit markers, held-clean arrays, manifest.

Layout::

    <folder>/<table>/part-00003.csv    one file per table per shard that generated rows of it
    <folder>/_grdm/run.json            the settings of the run (seed, scale, shard size, model)
    <folder>/_grdm/shards/00003.json   commit marker of shard 3: its files, rows and bytes
    <folder>/_grdm/arrays/<table>/     the encoded rows of tables that later shards hold clean
    <folder>/manifest.json             written last: every table's parts and row count

A shard writes its files under temporary names, renames them into place, then writes its
marker: a shard without a marker, or whose files are not all there with their recorded
sizes, is not done, and a rerun generates it again. Only ``manifest.json`` says the sample
is complete; it is written when every shard is committed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

FORMATS = ('csv', 'parquet')


class ShardStoreError(ValueError):
    """The output folder holds something the run cannot continue or overwrite."""


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


class ShardStore:
    """One sharded sample's folder. See the module docstring for the layout."""

    def __init__(self, folder: str | os.PathLike, run: dict, file_format: str = 'csv') -> None:
        if file_format not in FORMATS:
            raise ShardStoreError(f"file_format must be one of {FORMATS}, got {file_format!r}")
        if file_format == 'parquet':
            try:
                import pyarrow  # noqa: F401
            except ImportError as err:
                raise ShardStoreError("file_format='parquet' needs pyarrow: pip install pyarrow") from err
        self.folder = Path(folder)
        self.run = dict(run, file_format=file_format)
        self.file_format = file_format
        self.work = self.folder / '_grdm'
        self._shard_of_row: dict[str, np.ndarray] = {}
        self._done: set[int] = set()  # committed shards stay committed: checked once

    # --- opening -------------------------------------------------------------------------
    @staticmethod
    def existing_run(folder: str | os.PathLike) -> dict | None:
        """The settings of the run in ``folder``, or ``None`` when it holds none."""
        path = Path(folder) / '_grdm' / 'run.json'
        return json.loads(path.read_text()) if path.exists() else None

    def prepare(self, tables: list[str], overwrite: bool = False) -> None:
        """Create the folder, or continue the same run in it.

        Raises:
            ShardStoreError: the folder holds another run or other files, and not ``overwrite``.
        """
        old = self.existing_run(self.folder)
        if old is not None and old != self.run and not overwrite:
            diff = sorted(k for k in set(old) | set(self.run) if old.get(k) != self.run.get(k))
            raise ShardStoreError(
                f'{self.folder} holds a sharded sample with other settings ({", ".join(diff)} '
                'differ), which this run cannot continue. Choose another folder, or pass '
                'overwrite=True to delete it.')
        if old is None and self.folder.exists() and any(self.folder.iterdir()) and not overwrite:
            raise ShardStoreError(
                f'{self.folder} is not empty and holds no sharded sample to continue. Choose an '
                'empty folder, or pass overwrite=True to delete its tables and sample files.')
        if overwrite and (old != self.run):
            for t in tables:
                shutil.rmtree(self.folder / t, ignore_errors=True)
            shutil.rmtree(self.work, ignore_errors=True)
            (self.folder / 'manifest.json').unlink(missing_ok=True)
        for t in tables:
            (self.folder / t).mkdir(parents=True, exist_ok=True)
        (self.work / 'shards').mkdir(parents=True, exist_ok=True)
        (self.work / 'arrays').mkdir(exist_ok=True)
        if old != self.run:
            _write_json(self.work / 'run.json', self.run)

    # --- shards --------------------------------------------------------------------------
    def _marker(self, shard: int) -> Path:
        return self.work / 'shards' / f'{shard:05d}.json'

    def done(self, shard: int) -> bool:
        """Whether ``shard`` is committed with all its files in place."""
        if shard in self._done:
            return True
        path = self._marker(shard)
        if not path.exists():
            return False
        files = json.loads(path.read_text())['files']
        if all((self.folder / f['path']).exists()
               and (self.folder / f['path']).stat().st_size == f['bytes'] for f in files):
            self._done.add(shard)
        return shard in self._done

    def wait(self, shards: list[int], poll: float = 0.2) -> None:
        """Block until every shard in ``shards`` is committed (by this or another worker)."""
        pending = [k for k in shards if not self.done(k)]
        while pending:
            time.sleep(poll)
            pending = [k for k in pending if not self.done(k)]

    def wait_manifest(self, poll: float = 0.5) -> dict:
        """Block until ``manifest.json`` is written, and return it."""
        path = self.folder / 'manifest.json'
        while not path.exists():
            time.sleep(poll)
        return json.loads(path.read_text())

    def commit(self, shard: int, frames: dict[str, pd.DataFrame],
               arrays: dict[str, tuple[np.ndarray, np.ndarray]], info: dict | None = None) -> None:
        """Write one shard's tables and arrays, then its marker (see the module docstring);
        ``info`` (e.g. its timings) is recorded in the marker."""
        moves, files = [], []
        for t, df in frames.items():
            if not len(df):
                continue
            final = self.folder / t / f'part-{shard:05d}.{self.file_format}'
            tmp = final.with_name(f'.{final.name}.{os.getpid()}.tmp')
            self._write_frame(df, tmp)
            moves.append((tmp, final))
            files.append({'table': t, 'path': f'{t}/{final.name}', 'rows': len(df),
                          'bytes': tmp.stat().st_size})
        for t, (x_num, x_cat) in arrays.items():
            folder = self.work / 'arrays' / t
            folder.mkdir(exist_ok=True)
            for kind, arr in (('num', x_num), ('cat', x_cat)):
                final = folder / f'{shard:05d}.{kind}.npy'
                tmp = final.with_name(f'.{final.name}.{os.getpid()}.tmp.npy')
                np.save(tmp, np.ascontiguousarray(arr))
                moves.append((tmp, final))
                files.append({'table': t, 'path': str(final.relative_to(self.folder)),
                              'rows': len(arr), 'bytes': tmp.stat().st_size})
        for tmp, final in moves:
            os.replace(tmp, final)
        _write_json(self._marker(shard), {'shard': shard, 'files': files, **(info or {})})

    def _write_frame(self, df: pd.DataFrame, path: Path) -> None:
        if self.file_format == 'csv':
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)

    def load_rows(self, plan, table: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The encoded ``(x_num, x_cat)`` of ``table``'s global ``rows`` (sorted), gathered
        from the arrays of the shards that generated them."""
        shard_of_row = self._shard_of_row.get(table)
        if shard_of_row is None:
            stage = next(s for s, ts in enumerate(plan.stages) if table in ts)
            shard_of_row = np.empty(len(plan.order[table]), np.int32)
            for k in plan.shards_of(stage):
                shard_of_row[plan.rows(k, table)] = k
            self._shard_of_row[table] = shard_of_row
        owner = shard_of_row[rows]
        parts_num, parts_cat, where = [], [], []
        for k in np.unique(owner):
            sel = np.flatnonzero(owner == k)
            pos = np.searchsorted(plan.rows(int(k), table), rows[sel])
            folder = self.work / 'arrays' / table
            parts_num.append(np.load(folder / f'{k:05d}.num.npy', mmap_mode='r')[pos])
            parts_cat.append(np.load(folder / f'{k:05d}.cat.npy', mmap_mode='r')[pos])
            where.append(sel)
        order = np.argsort(np.concatenate(where)) if where else np.empty(0, np.int64)
        return np.concatenate(parts_num)[order], np.concatenate(parts_cat)[order]

    # --- the end -------------------------------------------------------------------------
    def finish(self, n_shards: int, columns: dict[str, list[str]]) -> dict:
        """Write ``manifest.json`` from the shards' markers (every shard must be committed);
        a table without rows gets one part holding its header only."""
        tables = {t: {'rows': 0, 'columns': cols, 'parts': []} for t, cols in columns.items()}
        timings = []
        for k in range(n_shards):
            marker = json.loads(self._marker(k).read_text())
            timings.append({key: marker[key] for key in ('shard', 'rows', 'held_rows', 'seconds', 'rank')
                            if key in marker})
            for f in marker['files']:
                if f['path'].startswith('_grdm'):
                    continue
                entry = tables[f['table']]
                entry['rows'] += f['rows']
                entry['parts'].append({'path': f['path'], 'rows': f['rows'], 'shard': k})
        for t, entry in tables.items():
            if not entry['parts']:
                empty = self.folder / t / f'part-empty.{self.file_format}'
                self._write_frame(pd.DataFrame(columns=entry['columns']), empty)
                entry['parts'].append({'path': f'{t}/{empty.name}', 'rows': 0, 'shard': None})
        manifest = {'run': self.run, 'shards': n_shards, 'tables': tables, 'shard_log': timings}
        _write_json(self.folder / 'manifest.json', manifest)
        return manifest


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a finished sharded sample; ``FileNotFoundError`` when not finished."""
    path = Path(folder) / 'manifest.json'
    if not path.exists():
        raise FileNotFoundError(f'{folder} holds no finished sharded sample (no manifest.json).')
    return json.loads(path.read_text())


def read_part(folder: str | os.PathLike, manifest: dict, table: str, part: dict) -> pd.DataFrame:
    """One part file of ``table`` as a DataFrame, with the table's columns."""
    path = Path(folder) / part['path']
    frame = pd.read_csv(path, low_memory=False) if manifest['run']['file_format'] == 'csv' \
        else pd.read_parquet(path)
    return frame[manifest['tables'][table]['columns']]


def read_sharded(folder: str | os.PathLike, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read a finished sharded sample back as one DataFrame per table (for samples that fit
    in memory: tests, evaluation). Raises ``FileNotFoundError`` when it is not finished."""
    manifest = read_manifest(folder)
    return {t: pd.concat([read_part(folder, manifest, t, p) for p in entry['parts']], ignore_index=True)
            for t, entry in manifest['tables'].items() if tables is None or t in tables}
