"""Reference rows of benchmarks.quality (benchmarks/_baselines.py): root splits, subsamples, shuffled links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import _baselines as baselines
from tests.conftest import assert_integrity, children_per_parent


class _Meta(dict):
    """Metadata dict with the ``to_dict()`` that ``assert_integrity`` calls."""

    def to_dict(self):
        return dict(self)


def _rel(parent, child, fk, pk='id'):
    return {'parent_table_name': parent, 'parent_primary_key': pk,
            'child_table_name': child, 'child_foreign_key': fk}


def _movies(seed=0, n_movies=60, n_actors=80):
    """movie_lens-like: movie and actor roots, a link table with both as parents."""
    rng = np.random.default_rng(seed)
    per_movie = rng.integers(0, 6, n_movies)
    link_movie = np.repeat(np.arange(n_movies), per_movie)
    tables = {
        'movie': pd.DataFrame({'id': np.arange(n_movies) + 100, 'year': rng.integers(1950, 2000, n_movies)}),
        'actor': pd.DataFrame({'id': np.arange(n_actors), 'quality': rng.normal(size=n_actors)}),
        'link': pd.DataFrame({
            'id': np.arange(len(link_movie)),
            'movie_id': link_movie + 100,
            'actor_id': rng.integers(0, n_actors - 10, len(link_movie)),  # 10 actors never cast
            'cast_num': rng.integers(0, 4, len(link_movie)),
        }),
    }
    meta = _Meta({
        'tables': {
            'movie': {'primary_key': 'id', 'columns': {'id': {'sdtype': 'id'}, 'year': {'sdtype': 'numerical'}}},
            'actor': {'primary_key': 'id', 'columns': {'id': {'sdtype': 'id'}, 'quality': {'sdtype': 'numerical'}}},
            'link': {'primary_key': 'id', 'columns': {
                'id': {'sdtype': 'id'}, 'movie_id': {'sdtype': 'id'}, 'actor_id': {'sdtype': 'id'},
                'cast_num': {'sdtype': 'numerical'}}},
        },
        'relationships': [_rel('movie', 'link', 'movie_id'), _rel('actor', 'link', 'actor_id')],
    })
    return tables, meta


def test_derived_tables_follow_primary_parent(demo):
    _, metadata = demo
    derived = baselines.derived_tables(metadata, 'customer')
    assert list(derived) == ['customer', 'order', 'order_item']
    assert derived['order_item'].parent == 'order'
    coverage = baselines.root_coverage(metadata, 'customer')
    assert coverage['region'].startswith('shared') and coverage['product'].startswith('shared')


def test_split_by_root_keeps_integrity_and_families(demo):
    tables, metadata = demo
    train, holdout = baselines.split_by_root(tables, metadata, 'customer', np.random.default_rng(0))
    assert_integrity(train, metadata)
    assert_integrity(holdout, metadata)
    # Root rows and their descendants are partitioned: disjoint, nothing lost.
    for table, pk in (('customer', 'customer_id'), ('order', 'order_id'), ('order_item', 'item_id')):
        a, b = set(train[table][pk]), set(holdout[table][pk])
        assert not a & b
        assert a | b == set(tables[table][pk])
    assert abs(len(train['customer']) - len(holdout['customer'])) <= 1
    # Every order sits with its customer (integrity of the half implies it), and every
    # item with its order; both halves have all their items' products.
    assert set(train['order']['customer_id']) <= set(train['customer']['customer_id'])
    assert set(holdout['order_item']['order_id']) <= set(holdout['order']['order_id'])
    # Children per parent are those of the full data for every row that follows the root.
    full = dict(zip(tables['customer']['customer_id'],
                    children_per_parent(tables, {'child_table_name': 'order',
                                                 'child_foreign_key': 'customer_id',
                                                 'parent_table_name': 'customer',
                                                 'parent_primary_key': 'customer_id'})))
    half = children_per_parent(train, {'child_table_name': 'order', 'child_foreign_key': 'customer_id',
                                       'parent_table_name': 'customer', 'parent_primary_key': 'customer_id'})
    assert list(half) == [full[c] for c in train['customer']['customer_id']]


def test_split_and_subsample_shared_parents():
    tables, meta = _movies()
    train, holdout = baselines.split_by_root(tables, meta, 'movie', np.random.default_rng(1))
    assert_integrity(train, meta)
    assert_integrity(holdout, meta)
    cast = set(tables['link']['actor_id'])
    for half in (train, holdout):
        # Cast actors are in a half exactly when one of the half's links uses them.
        in_half = set(half['actor']['id'])
        assert set(half['link']['actor_id']) == in_half & cast
    # Never-cast actors are split by rows, each into exactly one half.
    loose = set(tables['actor']['id']) - cast
    a, b = set(train['actor']['id']) & loose, set(holdout['actor']['id']) & loose
    assert not a & b and a | b == loose

    sub = baselines.subsample_by_root(tables, meta, 'movie', 20, np.random.default_rng(2))
    assert_integrity(sub, meta)
    assert len(sub['movie']) == 20
    chosen = set(sub['movie']['id'])
    expected_links = tables['link'][tables['link']['movie_id'].isin(chosen)]
    assert sorted(sub['link']['id']) == sorted(expected_links['id'])
    assert set(sub['actor']['id']) - loose == set(expected_links['actor_id'])


def test_partition_rejects_bad_labels():
    tables, meta = _movies()
    with pytest.raises(ValueError):
        baselines.partition_by_root(tables, meta, 'movie', np.zeros(3), 2, np.random.default_rng(0))
    with pytest.raises(ValueError):
        baselines.partition_by_root(tables, meta, 'movie', np.full(len(tables['movie']), 2), 2,
                                    np.random.default_rng(0))


def test_shuffle_links_keeps_tables_and_breaks_dependence():
    rng = np.random.default_rng(0)
    parent = pd.DataFrame({'id': np.arange(200), 'x': rng.normal(size=200)})
    owner = rng.integers(0, 200, 3000)
    child = pd.DataFrame({'id': np.arange(3000), 'pid': owner,
                          'y': parent['x'].to_numpy()[owner] + 0.1 * rng.normal(size=3000)})
    child.loc[::10, 'pid'] = np.nan
    tables = {'parent': parent, 'child': child}
    original = child.copy()
    meta = _Meta({'tables': {'parent': {'primary_key': 'id'}, 'child': {'primary_key': 'id'}},
                  'relationships': [_rel('parent', 'child', 'pid')]})
    shuffled = baselines.shuffle_links(tables, meta, np.random.default_rng(1))
    assert_integrity(shuffled, meta)
    pd.testing.assert_frame_equal(shuffled['parent'], parent)
    pd.testing.assert_frame_equal(shuffled['child'].drop(columns='pid'), child.drop(columns='pid'))
    assert shuffled['child']['pid'].isna().sum() == child['pid'].isna().sum()
    rel = meta['relationships'][0]
    assert np.array_equal(children_per_parent(shuffled, rel), children_per_parent(tables, rel))

    def joined_corr(data):
        ok = data['child']['pid'].notna()
        x = data['parent'].set_index('id')['x'].reindex(data['child']['pid'][ok]).to_numpy()
        return np.corrcoef(x, data['child']['y'][ok].to_numpy())[0, 1]

    assert joined_corr(tables) > 0.95
    assert abs(joined_corr(shuffled)) < 0.1
    pd.testing.assert_frame_equal(tables['child'], original)  # input untouched


def test_more_draws_average_every_number_and_keep_the_first_draw(monkeypatch):
    """``benchmarks.quality --draws``: the summary and the strong pairs' scores are the mean
    over the draws, NaN-aware, and each draw's summary is kept (the first is the protocol's
    one sample)."""
    from benchmarks import quality
    from grdm_sdv import evaluation

    draws = iter([{'hop_1_strong': 0.8, 'hop_2_strong': float('nan'), 'note': 'b'},
                  {'hop_1_strong': 0.7, 'hop_2_strong': 0.6, 'note': 'c'}])

    scores = iter([0.8, 0.7])

    class Result:
        params = {'strong_threshold': 0.3}

        def __init__(self):
            self.summary = next(draws)
            self.details = {'k_hop': pd.DataFrame({
                'hop': [1], 'table_a': ['a'], 'column_a': ['x'], 'table_b': ['b'],
                'column_b': ['y'], 'real_strength': [0.5], 'score': [next(scores)]})}

        def to_dict(self):
            return {'summary': self.summary}

    class Fits:
        calls = 0

        def redraw(self):
            Fits.calls += 1
            return {}

    monkeypatch.setattr(evaluation, 'evaluate', lambda *a, **k: Result())
    split = quality._Split('demo', 0, 0, {}, {}, None, {}, None, Fits())
    first = {'hop_1_strong': 0.9, 'hop_2_strong': 0.5, 'note': 'a'}
    pair = {'hop': 1, 'pair': 'a.x ~ b.y', 'real_strength': 0.5}
    record = {'summary': dict(first), 'details': {'strong_pairs': [dict(pair, score=0.9)]}}
    quality._more_draws(record, split, {'draws': 3, 'detection': False})
    assert record['details']['strong_pairs'] == [dict(pair, score=pytest.approx(0.8))]
    assert Fits.calls == 2
    assert record['draw_summaries'][0] == first and len(record['draw_summaries']) == 3
    assert record['summary']['hop_1_strong'] == pytest.approx(0.8)
    assert record['summary']['hop_2_strong'] == pytest.approx(0.55)  # the NaN left out
    assert record['summary']['note'] == 'a'  # not a number: the first draw's
    assert quality.redrawable('grdm') and quality.redrawable('grdm_beta')
    assert not quality.redrawable('grdm_sharded') and not quality.redrawable('hma')


def test_demo_dependencies_sampling_settings_parse():
    import argparse

    from benchmarks.demo_dependencies import _parse_setting

    ap = argparse.ArgumentParser()
    assert _parse_setting(ap, 'guidance_scale=1,parent_lead=0.75') == {'guidance_scale': 1,
                                                                      'parent_lead': 0.75}
    assert _parse_setting(ap, "link_matching=random,match_marginals=False") == {
        'link_matching': 'random', 'match_marginals': False}
    for bad in ('steps=10', 'guidance_scale', 'nonsense=1'):  # steps is a training parameter
        with pytest.raises(SystemExit):
            _parse_setting(ap, bad)


def test_demo_dependencies_gap_summary_and_noise_floor():
    import numpy as np

    from benchmarks.demo_dependencies import FLOOR_SEED, floor_seeds, gap_summary, strengths
    from grdm_sdv.datasets import DEMO_DEPENDENCIES, make_demo_database

    real = np.array([0.8, 0.4])
    draws = np.array([[0.7, 0.45], [0.85, 0.4]])  # worst per draw 0.1 and 0.05; mean gap -0.025 / 0.025
    per_draw, of_mean = gap_summary(draws, real)
    assert per_draw == pytest.approx(0.075) and of_mean == pytest.approx(0.025)
    # The floor's databases are the generator's own, with other seeds than the real one's:
    # each planted strength is well above zero in them and they differ from the real one.
    tables, metadata = make_demo_database(120, seed=0)
    other = strengths(*make_demo_database(120, seed=FLOOR_SEED))
    assert other.shape == (len(DEMO_DEPENDENCIES),) and (other > 0.2).all()
    assert not np.allclose(other, strengths(tables, metadata))
    assert floor_seeds(0, 3) == [FLOOR_SEED, FLOOR_SEED + 1, FLOOR_SEED + 2]
    assert floor_seeds(FLOOR_SEED + 1, 3) == [FLOOR_SEED, FLOOR_SEED + 2, FLOOR_SEED + 3]  # never its own
