"""Writing sampled tables to CSV files: all or nothing, never over existing files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from sdv.errors import SynthesizerInputError


def check_output_folder(output_folder_path, tables) -> None:
    """Refuse to overwrite ``<table>.csv`` files (SDV's own check raises a bare ``AssertionError``)."""
    if not isinstance(output_folder_path, (str, os.PathLike)) or not output_folder_path:
        return  # the base raises the bad-path errors
    folder = Path(output_folder_path)
    existing = [str(folder / f'{t}.csv') for t in tables if (folder / f'{t}.csv').exists()]
    if existing:
        raise SynthesizerInputError(
            f'Sampling would overwrite existing file(s) {existing}. Choose another '
            "'output_folder_path', or move or delete those files first."
        )


class CsvWriter:
    """Writes tables to ``<folder>/<table>.csv`` one at a time, all or nothing.

    Each table goes to a hidden temporary file first; only when the ``with`` block ends
    without error are they renamed into place, so a failure (full disk, permissions, an
    error while sampling) leaves no partial files.
    """

    def __init__(self, folder, keep: bool) -> None:
        self.folder, self.keep = Path(folder), keep
        self.temporary: dict[str, Path] = {}
        self.paths: dict[str, Path] = {}
        self.kept: dict[str, pd.DataFrame] = {}

    def __call__(self, table: str, df: pd.DataFrame) -> None:
        tmp = self.folder / f'.{table}.csv.{os.getpid()}.partial'
        self.temporary[table] = tmp
        df.to_csv(tmp, index=False)
        self.paths[table] = self.folder / f'{table}.csv'
        if self.keep:
            self.kept[table] = df

    def __enter__(self) -> 'CsvWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        done: list[Path] = []
        try:
            if exc_type is None:
                for table, tmp in self.temporary.items():
                    os.replace(tmp, self.paths[table])
                    done.append(self.paths[table])
                return
        except BaseException:
            self._remove(done)
            raise
        self._remove(done)  # the block failed; its exception propagates

    def _remove(self, renamed: list[Path]) -> None:
        for path in [*self.temporary.values(), *renamed]:
            path.unlink(missing_ok=True)
