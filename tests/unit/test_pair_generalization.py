"""benchmarks.pair_generalization: remembered against learned strong pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import _baselines as baselines
from benchmarks import pair_generalization as pg
from grdm_sdv.datasets import make_demo_database


class _Memoriser:
    """A stand-in synthesizer that gives back the training half's value of every cell whose
    row it was fitted on (by primary key) and a value shuffled across the table elsewhere:
    everything remembered, nothing learned."""

    def __init__(self, train: dict[str, pd.DataFrame], meta: dict, seed: int = 0) -> None:
        self.train, self.meta = train, meta
        self.rng = np.random.default_rng(seed)

    def sample(self, scale: float = 1.0) -> dict[str, pd.DataFrame]:
        return {t: df.copy() for t, df in self.train.items()}

    def impute(self, data: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        out = {}
        for t, df in data.items():
            df = df.copy()
            pk = self.meta['tables'][t]['primary_key']
            seen = self.train[t].set_index(pk)
            for c in df.columns[df.isna().any()]:
                known = df[pk].map(seen[c])
                shuffled = self.rng.permutation(seen[c].to_numpy())[np.arange(len(df)) % len(seen)]
                df[c] = known.where(df[pk].isin(seen.index), shuffled)
            out[t] = df
        return out


@pytest.fixture(scope='module')
def halves():
    tables, metadata = make_demo_database(400, seed=0)
    train, holdout = baselines.split_by_root(tables, metadata, 'customer', np.random.default_rng(0))
    return train, holdout, metadata


def test_attribute_columns_leave_out_keys(halves):
    _, _, metadata = halves
    meta = metadata.to_dict()
    for table in meta['tables']:
        cols = pg.attribute_columns(metadata, table)
        assert cols, table
        assert meta['tables'][table]['primary_key'] not in cols
        fks = {r['child_foreign_key'] for r in meta['relationships'] if r['child_table_name'] == table}
        assert not fks & set(cols)


def test_permuted_keeps_values_and_breaks_pairs(halves):
    train, holdout, metadata = halves
    base = pg.strong_pair_scores(train, train, metadata)
    assert len(base) and np.allclose(base['score'], 1.0)  # the half against itself
    table = base['table_a'].iloc[0]
    shuffled = pg.permuted(train, table, metadata, np.random.default_rng(0))
    for c in pg.attribute_columns(metadata, table):
        assert sorted(shuffled[table][c].astype(str)) == sorted(train[table][c].astype(str))
    pairs = pg.strong_pair_scores(train, shuffled, metadata).set_index('pair')['score']
    hit = base[base['table_a'] == table]['pair']
    assert (pairs[hit] < 0.95).all()


def test_a_memoriser_remembers_and_learns_nothing(halves):
    train, holdout, metadata = halves
    meta = metadata.to_dict()
    frame = pg.generalization(_Memoriser(train, meta), train, holdout, metadata, draws=1)
    assert len(frame) and set(frame['side']) <= {'child', 'parent'}
    # Every training cell comes back: each pair as in the training half.
    assert np.allclose(frame['remembered'], 1.0)
    assert np.allclose(frame['sampled'], 1.0)
    # Unseen rows (the customers' side of the split) get shuffled values: at the floor, far
    # below the holdout half's own score.
    new = frame[frame['unseen'] == 1.0]
    assert set(new['imputed']) == {'customer', 'order', 'order_item'}
    assert (new['learned'] - new['floor']).abs().mean() < 0.03
    assert (new['ceiling'] - new['learned']).mean() > 0.15
    # Regions and products are shared by both halves: their holdout rows were seen.
    seen = frame[frame['unseen'] == 0.0]
    assert set(seen['imputed']) == {'product', 'region'}
    assert np.allclose(seen['learned'], seen['ceiling'])
    assert '| `order_item` (child, 100%) | 1.000 |' in pg.markdown(frame)


def test_children_detection_tells_shuffled_children_apart(halves):
    train, holdout, metadata = halves
    meta = metadata.to_dict()
    memoriser = _Memoriser(train, meta)
    frame = pg.children_detection(memoriser, train, holdout, metadata, [memoriser.sample()])
    assert set(frame['table']) == {'region', 'customer', 'order', 'product'}
    rows = frame.set_index('table')
    assert rows.loc['order', 'children'] == ['order_item']
    # The training half given back: a parent with its own children is the training row itself.
    assert rows['remembered'].max() < 0.6 and rows['sampled'].max() < 0.6
    # Unseen rows get values shuffled across their table: a parent whose children are new
    # rows is told apart by its children's aggregates (with XGBoost or without it: the margins
    # measured are 0.26-0.27 for customers, 0.07-0.25 for orders and products).
    assert rows.loc['customer', 'learned'] > rows.loc['customer', 'ceiling'] + 0.15
    for parent in ('order', 'product'):
        assert rows.loc[parent, 'learned'] > rows.loc[parent, 'ceiling'] + 0.04


def test_children_from_takes_each_parents_children_from_its_draw(halves):
    train, _, metadata = halves
    draws = []
    for k in range(3):  # draw k: every order's total moved by 1000 k
        db = dict(train)
        db['order'] = train['order'].assign(total=train['order']['total'] + 1000.0 * k)
        draws.append(db)
    choice = np.random.default_rng(0).integers(0, 3, len(train['customer']))
    out = pg.children_from(draws, metadata, 'customer', choice)
    who = dict(zip(train['customer']['customer_id'], choice))
    want = train['order']['total'] + 1000.0 * train['order']['customer_id'].map(who)
    assert np.allclose(out['order']['total'], want)
    assert set(np.unique(choice)) == {0, 1, 2}
    # Only the parent's own child tables change; the others are the first draw's.
    assert out['order_item'] is draws[0]['order_item']
    assert list(out['order'].columns) == list(train['order'].columns)


def test_best_of_draws_finds_real_looking_children_among_shuffled_ones(halves):
    train, holdout, metadata = halves
    meta = metadata.to_dict()
    # The holdout's customers are unseen: the memoriser gives their orders shuffled values,
    # some draws of which look more real than others. Choosing among 4 brings the customers
    # closer to real ones (measured 0.74 -> 0.61 / 0.62 with XGBoost / scikit-learn).
    best = pg.best_of_draws(_Memoriser(train, meta), train, holdout, metadata, holdout,
                            'customer', draws=4)
    assert best['children'] == ['order']
    rows = {r['draws']: r for r in best['rows']}
    assert set(rows) == {1, 4}
    assert rows[4]['train'] < rows[1]['train'] - 0.05
    assert rows[4]['p_real'] > rows[1]['p_real']
