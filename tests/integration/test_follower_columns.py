"""Follower columns: a child column whose values never rise along a rank column of its table
(an order's line amounts along its line numbers) comes out in that order."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from grdm_sdv.data.follows import FollowerColumn, apply_followers, find_followers
from grdm_sdv.data.ranks import RankColumn
from grdm_sdv.data.schema import ForeignKey, RelationalSchema

from ..conftest import TINY, assert_integrity, with_item_columns


def _crossed_share(items: pd.DataFrame) -> float:
    """Share of the orders (2+ items) whose ``amount`` rises somewhere along ``line``."""
    g = items.sort_values(['order_id', 'line'])
    rises = (g.groupby('order_id')['amount'].diff() > 0).groupby(g['order_id']).any()
    return float(rises[g.groupby('order_id').size() >= 2].mean())


@pytest.fixture(scope='module')
def lines_demo(demo):
    """The demo database with order_item.line (1..n per order) and order_item.amount, whose
    values never rise along the lines (the largest line first)."""
    def make(items, rng):
        amount = np.round(rng.gamma(2.0, 20.0, len(items)), 2)
        frame = pd.DataFrame({'order_id': items['order_id'].to_numpy(), 'amount': amount})
        frame = frame.sort_values(['order_id', 'amount'], ascending=[True, False])
        frame['line'] = frame.groupby('order_id').cumcount() + 1
        frame = frame.sort_index()
        return {'line': frame['line'].to_numpy(), 'amount': frame['amount'].to_numpy()}

    return with_item_columns(demo, make)


def test_found_and_kept(lines_demo, tmp_path):
    from grdm_sdv import GRDMSynthesizer
    from grdm_sdv.sharding import read_sharded

    tables, metadata = lines_demo
    assert _crossed_share(tables['order_item']) == 0.0
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    assert synth.get_info()['rank_columns'] == ['order_item.line: 1, 2, ... per order_id']
    info = synth.get_info()['follower_columns']
    assert len(info) == 1 and info[0].startswith(
        'order_item.amount per order_id: never rises along line (100% of the parents, ')
    out = synth.sample(scale=1.5)
    assert_integrity(out, metadata)
    items = out['order_item']
    assert items['amount'].dtype == tables['order_item']['amount'].dtype
    assert _crossed_share(items) == 0.0

    # Off (read when sampling): the same model's amounts cross their lines, so the check
    # above can fail; each order's amounts are the same multiset either way.
    synth.follower_columns = False
    plain = synth.sample(scale=1.5)['order_item']
    synth.follower_columns = True
    assert _crossed_share(plain) > 0.3

    # In shards: an order's items are generated in one shard, so they are ordered too.
    synth.sample_sharded(tmp_path / 'parts', scale=1.0, max_rows_in_memory=600, file_format='parquet')
    assert _crossed_share(read_sharded(tmp_path / 'parts')['order_item']) == 0.0


def _schema() -> RelationalSchema:
    return RelationalSchema(tables=['p', 'c'], primary_keys={'p': 'id', 'c': 'id'},
                            foreign_keys=[ForeignKey('c', 'p_id', 'p', 'id', 'fk0'),
                                          ForeignKey('c', 'q_id', 'p', 'id', 'fk1')])


def _planted(rng):
    sizes = rng.integers(2, 7, 60)
    parent = np.repeat(np.arange(60), sizes)
    position = (np.arange(len(parent)) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1).astype(float)
    # 'points' never rise along the positions (all but 3 parents), 'bonus' never falls,
    # 'noise' is unrelated.
    points = np.maximum(0, 4 - position)
    for p in range(3):
        rows = np.flatnonzero(parent == p)
        points[rows] = points[rows][::-1]
    frame = pd.DataFrame({'position': position, 'points': points, 'bonus': position * 2.5,
                          'noise': rng.integers(0, 3, len(parent)).astype(float)})
    return parent, frame


def test_find_units():
    parent, frame = _planted(np.random.default_rng(3))
    other = np.random.default_rng(4).integers(0, 60, len(parent))
    links = {'fk0': parent, 'fk1': other}
    rank = RankColumn('c', 'position', 'fk0', 'p_id', 1, 1.0)
    numerical = {'p': [], 'c': list(frame.columns)}.get
    found = find_followers(_schema(), {'p': pd.DataFrame(), 'c': frame}, links, numerical, [rank])
    got = {f.column: f for f in found}
    assert set(got) == {'points', 'bonus'}  # not the rank itself, not the noise
    assert (got['points'].sign, got['points'].rank, got['points'].fk) == (-1, 'position', 'fk0')
    assert got['points'].share == pytest.approx(57 / 60) and got['points'].baseline < 0.5
    assert (got['bonus'].sign, got['bonus'].share) == (1, 1.0)
    # A column kept composed along another foreign key (a template column) is left alone.
    found = find_followers(_schema(), {'p': pd.DataFrame(), 'c': frame}, links, numerical, [rank],
                           grouped={('c', 'points'): 'fk1'})
    assert [f.column for f in found] == ['bonus']
    # Too few parents are no evidence.
    few = parent < 15
    found = find_followers(_schema(), {'p': pd.DataFrame(), 'c': frame[few].reset_index(drop=True)},
                           {'fk0': parent[few], 'fk1': other[few]}, numerical, [rank])
    assert found == []


def test_apply_units():
    rng = np.random.default_rng(5)
    parent, frame = _planted(rng)
    parent = parent.copy()
    parent[:2] = -1  # rows without a parent keep their values
    generated = frame.assign(points=rng.normal(size=len(parent)).round(2), bonus=rng.normal(size=len(parent)))
    generated.loc[10, 'points'] = np.nan  # a missing value stays missing, in its row
    rules = [FollowerColumn('c', 'points', 'fk0', 'p_id', 'position', -1, 1.0, 0.0),
             FollowerColumn('c', 'bonus', 'fk0', 'p_id', 'position', 1, 1.0, 0.0)]
    out = apply_followers(generated.copy(), rules, {'fk0': parent}, rng)
    assert out['points'].dtype == generated['points'].dtype
    assert np.isnan(out.loc[10, 'points'])
    np.testing.assert_array_equal(out.loc[:1, ['points', 'bonus']], generated.loc[:1, ['points', 'bonus']])
    g = out.assign(parent=parent)[parent >= 0].sort_values(['parent', 'position'])
    assert (g.groupby('parent')['points'].diff().dropna() <= 0).all()
    assert (g.groupby('parent')['bonus'].diff().dropna() >= 0).all()
    for p in range(60):  # each parent keeps its multiset of values
        rows = parent == p
        for column in ('points', 'bonus'):
            np.testing.assert_array_equal(np.sort(out[column][rows]), np.sort(generated[column][rows]))
