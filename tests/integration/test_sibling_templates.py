"""Sibling templates: a child column whose values over one parent's children take a few fixed
compositions (one lead item per order) comes out composed so."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from grdm_sdv.data import templates as tpl
from grdm_sdv.data.schema import ForeignKey, RelationalSchema
from grdm_sdv.data.templates import SiblingTemplate, apply_templates, find_sibling_templates

from ..conftest import TINY, assert_integrity, with_item_columns


def _one_lead_share(items: pd.DataFrame) -> float:
    """Share of the orders with exactly one item whose ``lead`` is 1 (the rest 0)."""
    binary = items['lead'].isin([0, 1]).groupby(items['order_id']).all()
    return float((binary & (items.groupby('order_id')['lead'].sum() == 1)).mean())


@pytest.fixture(scope='module')
def lead_demo(demo):
    """The demo database with order_item.lead: exactly one item of each order is 1 (the
    others 0), and order_item.noise, integers 0..2 at random."""
    def make(items, rng):
        lead = (items.groupby('order_id').cumcount() == 0).astype(int)
        lead = lead.groupby(items['order_id']).transform(lambda s: rng.permutation(s.to_numpy()))
        return {'lead': lead, 'noise': rng.integers(0, 3, len(items))}

    return with_item_columns(demo, make)


def test_found_and_kept(lead_demo, tmp_path):
    from grdm_sdv import GRDMSynthesizer
    from grdm_sdv.sharding import read_sharded

    tables, metadata = lead_demo
    assert _one_lead_share(tables['order_item']) == 1.0
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    info = synth.get_info()['sibling_templates']
    assert len(info) == 1 and info[0].startswith('order_item.lead per order_id: ')
    out = synth.sample(scale=1.5)
    assert_integrity(out, metadata)
    items = out['order_item']
    assert items['lead'].dtype == tables['order_item']['lead'].dtype
    # Every order of a size some 3 real orders have (all but the rare largest) leads once.
    assert _one_lead_share(items) > 0.97

    # Off (read when sampling): the tiny model alone does not give one lead per order, so
    # the check above can fail.
    synth.sibling_templates = False
    plain = synth.sample(scale=1.5)['order_item']
    synth.sibling_templates = True
    assert _one_lead_share(plain) < 0.8

    # In shards: an order's items are generated in one shard, so they are composed too.
    manifest = synth.sample_sharded(tmp_path / 'parts', scale=1.0, max_rows_in_memory=600,
                                    file_format='parquet')
    assert manifest['shards'] > 2
    assert _one_lead_share(read_sharded(tmp_path / 'parts')['order_item']) > 0.97


def _schema() -> RelationalSchema:
    return RelationalSchema(tables=['p', 'c'], primary_keys={'p': 'id', 'c': 'id'},
                            foreign_keys=[ForeignKey('c', 'p_id', 'p', 'id', 'fk0')])


def test_find_units():
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 7, 80)
    parent = np.repeat(np.arange(80), sizes)
    parent[:2] = -1  # rows without a parent are ignored
    # 'pair': two 1s per parent (one when it has one child), the rest 0; 'noise': random
    # 0..2; 'many': more distinct values than a template column may have.
    pair = np.zeros(len(parent))
    for p in range(80):
        rows = np.flatnonzero(parent == p)
        pair[rng.permutation(rows)[:2]] = 1
    frame = pd.DataFrame({'pair': pair, 'noise': rng.integers(0, 3, len(parent)).astype(float),
                          'many': rng.integers(0, 40, len(parent)).astype(float)})
    found = find_sibling_templates(_schema(), {'p': pd.DataFrame(), 'c': frame}, {'fk0': parent},
                                   lambda t: list(frame.columns) if t == 'c' else [])
    assert [(f.table, f.column, f.fk, f.fk_column) for f in found] == [('c', 'pair', 'fk0', 'p_id')]
    f = found[0]
    assert f.share == 1.0 and f.baseline < 0.5
    for n, comps in f.templates.items():
        assert comps.shape == (1, n)
        np.testing.assert_array_equal(comps[0], np.r_[np.zeros(max(0, n - 2)), np.ones(min(2, n))])
    # An excluded column (a rank column) is not a candidate.
    assert find_sibling_templates(_schema(), {'p': pd.DataFrame(), 'c': frame}, {'fk0': parent},
                                  lambda t: ['pair'] if t == 'c' else [],
                                  exclude={('c', 'pair')}) == []
    # Too few parents are no evidence.
    few = parent < 15
    assert find_sibling_templates(_schema(), {'p': pd.DataFrame(), 'c': frame[few]},
                                  {'fk0': parent[few]}, lambda t: ['pair'] if t == 'c' else []) == []


def test_rare_compositions_are_not_kept(monkeypatch):
    # 30 parents of 3 children: 27 share [0, 1, 2], three have a composition of their own.
    parent = np.repeat(np.arange(30), 3)
    values = np.tile([2.0, 0.0, 1.0], 30)
    values[-9:] = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    frame = pd.DataFrame({'v': values})
    found = find_sibling_templates(_schema(), {'p': pd.DataFrame(), 'c': frame}, {'fk0': parent},
                                   lambda t: ['v'] if t == 'c' else [])
    np.testing.assert_array_equal(found[0].templates[3], [[0, 1, 2]])
    monkeypatch.setattr(tpl, 'MIN_REPEATS', 1)
    found = find_sibling_templates(_schema(), {'p': pd.DataFrame(), 'c': frame}, {'fk0': parent},
                                   lambda t: ['v'] if t == 'c' else [])
    assert len(found[0].templates[3]) == 4


def test_apply_units():
    rng = np.random.default_rng(2)
    parent = np.repeat(np.arange(50), rng.integers(1, 6, 50))
    parent[:3] = -1
    template = SiblingTemplate('c', 'v', 'fk0', 'p_id', 1.0, 0.1, {
        2: np.array([[0.0, 1.0]]), 3: np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 2.0]]),
        4: np.array([[0.0, 1.0, 1.0, 2.0]])})
    generated = pd.DataFrame({'v': rng.normal(size=len(parent)).round(1) + 1})
    generated.loc[10, 'v'] = np.nan
    out = apply_templates(generated.copy(), [template], {'fk0': parent}, rng)
    assert out['v'].dtype == generated['v'].dtype
    has = (parent >= 0) & generated['v'].notna().to_numpy()
    unchanged = ~has
    for p in range(50):
        rows = np.flatnonzero((parent == p) & has)
        n = len(rows)
        g, o = generated['v'].to_numpy()[rows], out['v'].to_numpy()[rows]
        if n not in template.templates:
            unchanged[rows] = True
            continue
        comps = template.templates[n]
        # The nearest composition to the generated sorted values...
        gap = np.abs(np.sort(g)[None] - comps).sum(1)
        assert any(np.array_equal(np.sort(o), c) for c in comps[gap == gap.min()])
        # ... in the generated order.
        assert (o[:, None] <= o[None])[g[:, None] < g[None]].all()
    np.testing.assert_array_equal(out['v'].to_numpy()[unchanged], generated['v'].to_numpy()[unchanged])
