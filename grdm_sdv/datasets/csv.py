"""A database as a folder: one ``<table>.csv`` per table and an SDV ``metadata.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def load_csv_folder(path: str | Path) -> tuple[dict[str, pd.DataFrame], object]:
    """Load ``<table>.csv`` files and ``metadata.json`` from a folder.

    Datetime columns with a ``datetime_format`` in the metadata are left as strings, as SDV
    expects; id columns are read as they are written.

    Args:
        path: folder holding one CSV per table and an SDV ``metadata.json``.

    Returns:
        ``(tables, metadata)``: a dict of DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    folder = Path(path)
    meta_path = folder / 'metadata.json'
    if not meta_path.exists():
        raise FileNotFoundError(f"No 'metadata.json' in {folder}: save one with metadata.save_to_json.")
    metadata = Metadata.load_from_json(str(meta_path))
    tables = {}
    for name in sorted(metadata.tables):
        csv = folder / f'{name}.csv'
        if not csv.exists():
            raise FileNotFoundError(f"Table '{name}' is in the metadata but {csv} does not exist.")
        tables[name] = pd.read_csv(csv, low_memory=False)
    return tables, metadata


def save_csv_folder(tables: dict[str, pd.DataFrame], metadata, path: str | Path) -> Path:
    """Write ``<table>.csv`` per table and ``metadata.json`` into ``path`` (created if needed)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f'{name}.csv', index=False)
    with open(folder / 'metadata.json', 'w') as fh:
        json.dump(metadata.to_dict(), fh, indent=2)
    return folder
