"""Rank columns: a child column numbering each parent's children 1..n comes out so."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from grdm_sdv.data.ranks import RankColumn, apply_ranks, find_rank_columns

from ..conftest import TINY, assert_integrity, with_item_columns


def _is_numbering(values: pd.Series, groups: pd.Series, start: int = 1) -> pd.Series:
    """Per group: are its values exactly start..start + n - 1?"""
    frame = pd.DataFrame({'v': values.to_numpy(), 'g': groups.to_numpy()})
    return frame.groupby('g')['v'].apply(
        lambda s: bool((np.sort(s.to_numpy()) == np.arange(start, start + len(s))).all()))


@pytest.fixture(scope='module')
def ranked_demo(demo):
    """The demo database with order_item.line = 1..n per order (in a random order) and
    order_item.noise, integers that are not a numbering."""
    def make(items, rng):
        line = items.groupby('order_id').cumcount() + 1
        line = line.groupby(items['order_id']).transform(lambda s: rng.permutation(s.to_numpy()))
        return {'line': line, 'noise': rng.integers(1, 4, len(items))}

    return with_item_columns(demo, make)


def _fit(tables, metadata, **kwargs):
    from grdm_sdv import GRDMSynthesizer

    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, **kwargs})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    return synth


def test_found_and_kept(ranked_demo, tmp_path):
    tables, metadata = ranked_demo
    synth = _fit(tables, metadata)
    assert synth.get_info()['rank_columns'] == ['order_item.line: 1, 2, ... per order_id']
    out = synth.sample(scale=1.5)
    assert_integrity(out, metadata)
    items = out['order_item']
    assert items['line'].dtype == tables['order_item']['line'].dtype
    assert _is_numbering(items['line'], items['order_id']).all()
    # The other integer column is no numbering and is left as generated.
    assert not _is_numbering(items['noise'], items['order_id']).all()

    # Off (read when sampling): the tiny model alone does not number the lines, so the
    # check above can fail.
    synth.rank_columns = False
    plain_items = synth.sample(scale=1.5)['order_item']
    synth.rank_columns = True
    assert _is_numbering(plain_items['line'], plain_items['order_id']).mean() < 0.9

    # In shards: an order's items are generated in one shard, so they are numbered too.
    from grdm_sdv.sharding import read_sharded

    manifest = synth.sample_sharded(tmp_path / 'parts', scale=1.0, max_rows_in_memory=600,
                                    file_format='parquet')
    assert manifest['shards'] > 2
    parts = read_sharded(tmp_path / 'parts')['order_item']
    assert _is_numbering(parts['line'], parts['order_id']).all()

    # Known cells come back unchanged: imputation does not re-rank a column it was given.
    given = {k: v.copy() for k, v in tables.items()}
    given['order_item']['line'] = given['order_item']['line'].astype(float)
    given['order_item'].loc[given['order_item'].index[::2], 'line'] = np.nan
    filled = synth.impute(given)['order_item']
    known = given['order_item']['line'].notna().to_numpy()
    np.testing.assert_array_equal(filled['line'].to_numpy()[known],
                                  given['order_item']['line'].to_numpy()[known])


def test_find_and_apply_units():
    from grdm_sdv.data.schema import ForeignKey, RelationalSchema

    rng = np.random.default_rng(1)
    parent = np.repeat(np.arange(40), rng.integers(1, 7, 40))
    parent[:3] = -1  # rows without a parent are ignored and kept
    zero_based = np.zeros(len(parent))
    for p in range(40):
        rows = np.flatnonzero(parent == p)
        zero_based[rows] = rng.permutation(len(rows))
    schema = RelationalSchema(tables=['p', 'c'], primary_keys={'p': 'id', 'c': 'id'},
                              foreign_keys=[ForeignKey('c', 'p_id', 'p', 'id', 'fk0')])
    frame = pd.DataFrame({'pos': zero_based, 'shifted': rng.permutation(zero_based) + 1.5,
                          'half': np.where(np.arange(len(parent)) % 2, zero_based, zero_based + 7)})
    found = find_rank_columns(schema, {'p': pd.DataFrame(), 'c': frame}, {'fk0': parent},
                              lambda t: list(frame.columns) if t == 'c' else [])
    assert [(r.column, r.start, r.share) for r in found] == [('pos', 0, 1.0)]

    generated = pd.DataFrame({'pos': rng.normal(size=len(parent)).round(1)})
    generated.loc[5, 'pos'] = np.nan
    out = apply_ranks(generated.copy(), found, {'fk0': parent}, rng)
    has = parent >= 0
    assert _is_numbering(out['pos'][has], pd.Series(parent[has]), start=0).all()
    np.testing.assert_array_equal(out['pos'][~has], generated['pos'][~has])
    # The model's order within a parent is kept (a missing value ranks last).
    for p in range(40):
        rows = np.flatnonzero(parent == p)
        g = np.nan_to_num(generated['pos'].to_numpy()[rows], nan=np.inf)
        assert (np.diff(g[np.argsort(out['pos'].to_numpy()[rows])]) >= 0).all()
    # A numbering is no rank column when too few parents show it.
    assert find_rank_columns(schema, {'p': pd.DataFrame(), 'c': frame.iloc[:10]}, {'fk0': parent[:10]},
                             lambda t: ['pos'] if t == 'c' else []) == []
    assert isinstance(found[0], RankColumn)
