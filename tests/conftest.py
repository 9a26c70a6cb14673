"""Shared fixtures: a small demo database and one tiny fitted synthesizer per session."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / 'shared' / 'datasets'

# Tiny model: the suite checks properties, not quality at scale.
TINY = dict(steps=40, batch_size=128, hidden_dim=32, n_hops=1, sampling_steps=10, verbose=False)


def draw_columns(weight: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column per row of ``weight`` (``n x k``, non-negative), drawn in proportion to the
    row's weights (planted databases: a result's driver among those of its race's era)."""
    return (weight.cumsum(1) / weight.sum(1, keepdims=True) > rng.random((len(weight), 1))).argmax(1)


@pytest.fixture(autouse=True)
def _quiet_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        yield


@pytest.fixture(scope='session')
def demo():
    from grdm_sdv.datasets import make_demo_database

    return make_demo_database(n_customers=120, seed=1)


@pytest.fixture(scope='session')
def fitted(demo):
    from grdm_sdv import GRDMSynthesizer

    tables, metadata = demo
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    return synth


def assert_integrity(data: dict[str, pd.DataFrame], metadata) -> None:
    """Every PK unique and non-null; every non-null FK points at an existing PK."""
    meta = metadata.to_dict()
    for name, table in meta['tables'].items():
        pk = table.get('primary_key')
        if pk:
            assert data[name][pk].notna().all(), f'{name}.{pk} has nulls'
            assert data[name][pk].is_unique, f'{name}.{pk} is not unique'
    for rel in meta['relationships']:
        fk = data[rel['child_table_name']][rel['child_foreign_key']]
        parent = data[rel['parent_table_name']][rel['parent_primary_key']]
        ok = fk.dropna().isin(parent)
        assert ok.all(), f"{rel['child_table_name']}.{rel['child_foreign_key']}: {(~ok).sum()} dangling"


def children_per_parent(data, rel) -> np.ndarray:
    fk = data[rel['child_table_name']][rel['child_foreign_key']].dropna()
    parent = data[rel['parent_table_name']][rel['parent_primary_key']]
    return fk.value_counts().reindex(parent.to_numpy(), fill_value=0).to_numpy()


def with_item_columns(demo, make) -> tuple[dict[str, pd.DataFrame], object]:
    """The demo database with numerical columns added to ``order_item``:
    ``make(items, rng) -> {column: values}`` (rng seeded with 0)."""
    from sdv.metadata import Metadata

    tables, metadata = demo
    tables = {k: v.copy() for k, v in tables.items()}
    items = tables['order_item']
    meta = metadata.to_dict()
    for column, values in make(items, np.random.default_rng(0)).items():
        items[column] = values
        meta['tables']['order_item']['columns'][column] = {'sdtype': 'numerical'}
    return tables, Metadata.load_from_dict(meta)
