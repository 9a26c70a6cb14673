"""Unit tests for grdm_sdv.evaluation on tiny hand-made databases."""

import copy
import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from grdm_sdv.evaluation import (
    EvaluationResult,
    cardinality_scores,
    co_parent_trends,
    detection_c2st_agg,
    evaluate,
    k_hop_trends,
    plot_column_distributions,
    plot_correlation_difference,
    plot_hops,
    privacy_dcr,
    quality_report,
    summarize_k_hop,
    write_html_report,
)

METADATA = {
    'METADATA_SPEC_VERSION': 'V1',
    'tables': {
        'customer': {
            'primary_key': 'customer_id',
            'columns': {
                'customer_id': {'sdtype': 'id'},
                'x': {'sdtype': 'numerical'},
                'segment': {'sdtype': 'categorical'},
            },
        },
        'order': {
            'primary_key': 'order_id',
            'columns': {
                'order_id': {'sdtype': 'id'},
                'customer_id': {'sdtype': 'id'},
                'y': {'sdtype': 'numerical'},
                'channel': {'sdtype': 'categorical'},
                'placed': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
            },
        },
        'item': {
            'primary_key': 'item_id',
            'columns': {
                'item_id': {'sdtype': 'id'},
                'order_id': {'sdtype': 'id'},
                'z': {'sdtype': 'numerical'},
                'returned': {'sdtype': 'boolean'},
            },
        },
    },
    'relationships': [
        {
            'parent_table_name': 'customer',
            'parent_primary_key': 'customer_id',
            'child_table_name': 'order',
            'child_foreign_key': 'customer_id',
        },
        {
            'parent_table_name': 'order',
            'parent_primary_key': 'order_id',
            'child_table_name': 'item',
            'child_foreign_key': 'order_id',
        },
    ],
}

# XGBoost is an optional extra ('.[eval]'); without it the metric uses scikit-learn.
try:
    import xgboost  # noqa: F401
    EXPECTED_CLASSIFIER = 'XGBClassifier'
except ImportError:
    EXPECTED_CLASSIFIER = 'HistGradientBoostingClassifier'


def make_database(seed, n_customers=300, y_shift=0.0):
    """Chain customer -> order -> item with planted x -> y -> z and segment -> channel."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_customers)
    segment = rng.choice(['a', 'b', 'c'], size=n_customers)
    customer = pd.DataFrame({'customer_id': np.arange(n_customers), 'x': x, 'segment': segment})

    order_parent = np.repeat(np.arange(n_customers), rng.poisson(2.5, n_customers))
    n_orders = len(order_parent)
    y = 0.8 * x[order_parent] + 0.6 * rng.normal(size=n_orders) + y_shift
    preferred = pd.Series(segment[order_parent]).map({'a': 'web', 'b': 'store', 'c': 'phone'})
    random_channel = rng.choice(['web', 'store', 'phone'], size=n_orders)
    channel = np.where(rng.random(n_orders) < 0.8, preferred.to_numpy(), random_channel)
    placed = pd.Timestamp('2020-01-01') + pd.to_timedelta(rng.integers(0, 365, n_orders), 'D')
    order = pd.DataFrame({
        'order_id': np.arange(n_orders),
        'customer_id': order_parent,
        'y': y,
        'channel': channel,
        'placed': placed,
    })

    item_parent = np.repeat(np.arange(n_orders), rng.poisson(2.0, n_orders))
    n_items = len(item_parent)
    item = pd.DataFrame({
        'item_id': np.arange(n_items),
        'order_id': item_parent,
        'z': 0.8 * y[item_parent] + 0.6 * rng.normal(size=n_items),
        'returned': rng.random(n_items) < 0.1,
    })
    return {'customer': customer, 'order': order, 'item': item}


@pytest.fixture(scope='module')
def real():
    return make_database(0)


def _copy(data):
    return {name: frame.copy() for name, frame in data.items()}


def _shuffle_links(data, seed=0):
    shuffled = _copy(data)
    rng = np.random.default_rng(seed)
    order = shuffled['order']
    order['customer_id'] = rng.permutation(order['customer_id'].to_numpy())
    return shuffled


def test_identical_data_scores_one(real):
    # Run
    cardinality = cardinality_scores(real, _copy(real), METADATA)
    trends = k_hop_trends(real, _copy(real), METADATA)

    # Assert
    assert list(cardinality['child']) == ['order', 'item']
    np.testing.assert_allclose(cardinality['score'], 1.0)
    assert sorted(trends['hop'].unique()) == [0, 1, 2]
    np.testing.assert_allclose(trends['score'], 1.0, atol=1e-12)
    assert summarize_k_hop(trends) == pytest.approx({0: 1.0, 1: 1.0, 2: 1.0})
    two_hop = trends[trends['hop'] == 2]
    assert set(two_hop['table_a']) == {'item'}
    assert set(two_hop['table_b']) == {'customer'}
    assert set(two_hop['path']) == {'item -[order_id]-> order -[customer_id]-> customer'}


def test_k_hop_pairs_and_max_hops(real):
    # Run
    trends = k_hop_trends(real, real, METADATA, max_hops=1)

    # Assert: 1 + 3 + 1 intra-table pairs; order x customer 3*2, item x order 2*3 at 1 hop
    assert sorted(trends['hop'].unique()) == [0, 1]
    assert (trends['hop'] == 0).sum() == 1 + 3 + 1
    assert (trends['hop'] == 1).sum() == 6 + 6
    pair = trends[(trends['column_a'] == 'y') & (trends['column_b'] == 'x')].iloc[0]
    assert pair['metric'] == 'pearson'
    assert pair['real_strength'] == pytest.approx(0.8, abs=0.06)
    mixed = trends[(trends['column_a'] == 'channel') & (trends['column_b'] == 'segment')].iloc[0]
    assert mixed['metric'] == 'contingency'
    assert mixed['real_strength'] > 0.5


def test_parallel_foreign_keys_and_self_reference_paths():
    # Setup: match has two FKs to team; team references itself (parent club)
    rng = np.random.default_rng(0)
    n_teams, n_matches = 20, 60
    team = pd.DataFrame({
        'team_id': np.arange(n_teams),
        'parent_id': rng.integers(0, n_teams, n_teams),
        'rating': rng.normal(size=n_teams),
    })
    match = pd.DataFrame({
        'match_id': np.arange(n_matches),
        'home_id': rng.integers(0, n_teams, n_matches),
        'away_id': rng.integers(0, n_teams, n_matches),
        'goals': rng.poisson(2, n_matches).astype(float),
    })
    data = {'team': team, 'match': match}
    relationship = {'parent_table_name': 'team', 'parent_primary_key': 'team_id'}
    metadata = {
        'tables': {
            'team': {
                'primary_key': 'team_id',
                'columns': {
                    'team_id': {'sdtype': 'id'},
                    'parent_id': {'sdtype': 'id'},
                    'rating': {'sdtype': 'numerical'},
                },
            },
            'match': {
                'primary_key': 'match_id',
                'columns': {
                    'match_id': {'sdtype': 'id'},
                    'home_id': {'sdtype': 'id'},
                    'away_id': {'sdtype': 'id'},
                    'goals': {'sdtype': 'numerical'},
                },
            },
        },
        'relationships': [
            {**relationship, 'child_table_name': 'match', 'child_foreign_key': 'home_id'},
            {**relationship, 'child_table_name': 'match', 'child_foreign_key': 'away_id'},
            {**relationship, 'child_table_name': 'team', 'child_foreign_key': 'parent_id'},
        ],
    }

    # Run
    trends = k_hop_trends(data, data, metadata)
    cardinality = cardinality_scores(data, data, metadata)

    # Assert: one path per FK; the self-reference never revisits team
    assert list(trends['path']) == [
        'match -[away_id]-> team',
        'match -[home_id]-> team',
    ]
    np.testing.assert_allclose(trends['score'], 1.0)
    assert list(cardinality['fk']) == ['away_id', 'home_id', 'parent_id']


def _co_parent_database(seed, n_users=200, n_movies=80, n_ratings=1500):
    """Users rate movies of their taste (country 'x' users mostly genre 'drama', older users
    older movies); friends (two keys into ``user``) have similar ages."""
    rng = np.random.default_rng(seed)
    user = pd.DataFrame({'user_id': np.arange(n_users), 'age': rng.normal(40, 12, n_users),
                         'country': rng.choice(['x', 'y'], n_users)})
    movie = pd.DataFrame({'movie_id': np.arange(n_movies), 'year': rng.normal(1990, 15, n_movies),
                          'genre': rng.choice(['drama', 'comedy'], n_movies)})
    raters = rng.integers(0, n_users, n_ratings)
    want_drama = (user['country'].to_numpy()[raters] == 'x') == (rng.random(n_ratings) < 0.85)
    older = user['age'].to_numpy()[raters] > 40
    movies = np.empty(n_ratings, np.int64)
    for drama in (False, True):  # a movie of the wanted genre, old for older users
        for old in (False, True):
            rows = np.flatnonzero((want_drama == drama) & (older == old))
            pool = np.flatnonzero((movie['genre'].to_numpy() == 'drama') == drama)
            pool = pool[np.argsort(movie['year'].to_numpy()[pool])]
            half = pool[: len(pool) // 2] if old else pool[len(pool) // 2:]
            movies[rows] = rng.choice(half, len(rows))
    rating = pd.DataFrame({'rating_id': np.arange(n_ratings), 'user_id': raters, 'movie_id': movies,
                           'stars': rng.integers(1, 6, n_ratings).astype(float)})
    a = rng.integers(0, n_users, 400)
    b = np.argsort(user['age'].to_numpy())[np.clip(np.argsort(np.argsort(user['age'].to_numpy()))[a]
                                                   + rng.integers(-5, 6, 400), 0, n_users - 1)]
    friend = pd.DataFrame({'friend_id': np.arange(400), 'a_id': a, 'b_id': b})
    return {'user': user, 'movie': movie, 'rating': rating, 'friend': friend}


def _shuffle_foreign_keys(data, metadata, seed=0):
    """Every foreign-key column permuted within its table."""
    shuffled, rng = _copy(data), np.random.default_rng(seed)
    for rel in metadata['relationships']:
        frame = shuffled[rel['child_table_name']]
        frame[rel['child_foreign_key']] = rng.permutation(frame[rel['child_foreign_key']].to_numpy())
    return shuffled


CO_PARENT_METADATA = {
    'tables': {
        'user': {'primary_key': 'user_id', 'columns': {
            'user_id': {'sdtype': 'id'}, 'age': {'sdtype': 'numerical'},
            'country': {'sdtype': 'categorical'}}},
        'movie': {'primary_key': 'movie_id', 'columns': {
            'movie_id': {'sdtype': 'id'}, 'year': {'sdtype': 'numerical'},
            'genre': {'sdtype': 'categorical'}}},
        'rating': {'primary_key': 'rating_id', 'columns': {
            'rating_id': {'sdtype': 'id'}, 'user_id': {'sdtype': 'id'},
            'movie_id': {'sdtype': 'id'}, 'stars': {'sdtype': 'numerical'}}},
        'friend': {'primary_key': 'friend_id', 'columns': {
            'friend_id': {'sdtype': 'id'}, 'a_id': {'sdtype': 'id'}, 'b_id': {'sdtype': 'id'}}},
    },
    'relationships': [
        {'parent_table_name': 'user', 'parent_primary_key': 'user_id',
         'child_table_name': 'rating', 'child_foreign_key': 'user_id'},
        {'parent_table_name': 'movie', 'parent_primary_key': 'movie_id',
         'child_table_name': 'rating', 'child_foreign_key': 'movie_id'},
        {'parent_table_name': 'user', 'parent_primary_key': 'user_id',
         'child_table_name': 'friend', 'child_foreign_key': 'a_id'},
        {'parent_table_name': 'user', 'parent_primary_key': 'user_id',
         'child_table_name': 'friend', 'child_foreign_key': 'b_id'},
    ],
}


def test_co_parent_trends_see_which_rows_the_links_bring_together():
    """The planted tastes (country ~ genre, age ~ year through ratings; ages of friends) are
    strong co-parent pairs, which k-hop trends cannot see (no chain joins user and movie);
    with the links shuffled the same tables keep every column and lose them."""
    real = _co_parent_database(0)

    same = co_parent_trends(real, real, CO_PARENT_METADATA)
    shuffled = co_parent_trends(real, _shuffle_foreign_keys(real, CO_PARENT_METADATA), CO_PARENT_METADATA)
    other = co_parent_trends(real, _co_parent_database(1), CO_PARENT_METADATA)

    assert set(same['path']) == {'movie <-[movie_id]- rating -[user_id]-> user',
                                 'user <-[a_id]- friend -[b_id]-> user'}
    assert len(same) == 2 * 2 + 2 * 2  # movie x user columns; user x user columns
    np.testing.assert_allclose(same['score'], 1.0)
    np.testing.assert_allclose(same['synthetic_strength'], same['real_strength'])
    pair = {(r.column_a, r.column_b): r for r in same.itertuples()}
    assert pair['genre', 'country'].real_strength > 0.5  # Cramér's V of the planted taste
    assert pair['year', 'age'].real_strength > 0.3
    friends = same[same['path'].str.startswith('user <-[a_id]')].set_index(['column_a', 'column_b'])
    assert friends.loc[('age', 'age'), 'real_strength'] > 0.8
    strong = lambda f: f[f['real_strength'] >= 0.3]  # noqa: E731
    assert len(strong(same)) == 3
    # Shuffled links keep every table's columns but pair rows at random: strengths near 0.
    assert strong(shuffled)['synthetic_strength'].max() < 0.15
    assert strong(shuffled)['score'].max() < 0.85
    # Another database drawn the same way keeps them (scores well above the shuffled ones).
    assert strong(other)['score'].min() > strong(shuffled)['score'].max()
    pd.testing.assert_frame_equal(
        co_parent_trends(real, real, CO_PARENT_METADATA, threshold=0.3), strong(same).reset_index(drop=True))


def test_threshold_keeps_strong_pairs(real):
    # Setup
    trends = k_hop_trends(real, real, METADATA)

    # Run
    strong = k_hop_trends(real, real, METADATA, threshold=0.3)

    # Assert
    expected = trends[trends['real_strength'] >= 0.3].reset_index(drop=True)
    pd.testing.assert_frame_equal(strong, expected)
    assert 0 < len(strong) < len(trends)


def test_synthetic_strength_says_how_strong_a_pair_came_out(real):
    """Scored against itself, a pair is as strong in the synthetic data as in the real;
    with the links shuffled the planted pair (r ~ 0.8) comes out near 0: too weak."""
    same = k_hop_trends(real, real, METADATA)
    np.testing.assert_allclose(same['synthetic_strength'], same['real_strength'])
    trends = k_hop_trends(real, _shuffle_links(real), METADATA)
    planted = trends[(trends['hop'] == 1) & (trends['column_a'] == 'y') & (trends['column_b'] == 'x')].iloc[0]
    assert planted['real_strength'] > 0.7 and planted['synthetic_strength'] < 0.2, planted.to_dict()


def test_shuffled_links_lower_one_hop(real):
    # Setup
    shuffled = _shuffle_links(real)

    # Run
    trends = k_hop_trends(real, shuffled, METADATA)

    # Assert
    planted = trends[
        (trends['hop'] == 1) & (trends['column_a'] == 'y') & (trends['column_b'] == 'x')
    ]['score'].iloc[0]
    assert planted < 0.75  # real r ~ 0.8, shuffled r ~ 0 -> about 0.6
    all_pairs = summarize_k_hop(trends)
    strong = summarize_k_hop(trends, threshold=0.3)
    assert all_pairs[0] == pytest.approx(1.0)  # tables themselves untouched
    assert strong[1] < all_pairs[1] < 1.0
    assert strong[1] < 0.8


def test_known_correlation_gives_known_score():
    # Setup: exact sample correlations, real r = 0.8 and synthetic r = 0
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 2))
    z -= z.mean(axis=0)
    z[:, 1] -= z[:, 0] * (z[:, 0] @ z[:, 1]) / (z[:, 0] @ z[:, 0])
    z /= z.std(axis=0)
    real = {'t': pd.DataFrame({'a': z[:, 0], 'b': 0.8 * z[:, 0] + 0.6 * z[:, 1]})}
    synthetic = {'t': pd.DataFrame({'a': z[:, 0], 'b': z[:, 1]})}
    metadata = {
        'tables': {
            't': {'columns': {'a': {'sdtype': 'numerical'}, 'b': {'sdtype': 'numerical'}}}
        },
        'relationships': [],
    }

    # Run
    trends = k_hop_trends(real, synthetic, metadata)

    # Assert
    assert len(trends) == 1
    assert trends['real_strength'].iloc[0] == pytest.approx(0.8, abs=1e-9)
    assert trends['score'].iloc[0] == pytest.approx(0.6, abs=0.02)


def test_contingency_similarity_known_value():
    # Setup: real on the diagonal, synthetic uniform over the four cells -> TVD 0.5
    real = {'t': pd.DataFrame({'a': list('aabb') * 50, 'b': list('aabb') * 50})}
    synthetic = {'t': pd.DataFrame({'a': list('aabb') * 50, 'b': list('abab') * 50})}
    metadata = {
        'tables': {
            't': {'columns': {'a': {'sdtype': 'categorical'}, 'b': {'sdtype': 'categorical'}}}
        },
    }

    # Run
    trends = k_hop_trends(real, synthetic, metadata)

    # Assert
    assert trends['metric'].iloc[0] == 'contingency'
    assert trends['real_strength'].iloc[0] == pytest.approx(1.0)
    assert trends['score'].iloc[0] == pytest.approx(0.5)


def test_cardinality_matches_scipy_ks():
    # Setup
    rng = np.random.default_rng(3)
    n_parents = 200
    real_counts = rng.poisson(2.0, n_parents)
    syn_counts = rng.poisson(3.0, n_parents)
    metadata = {
        'tables': {
            'p': {'primary_key': 'id', 'columns': {'id': {'sdtype': 'id'}}},
            'c': {
                'primary_key': 'cid',
                'columns': {'cid': {'sdtype': 'id'}, 'pid': {'sdtype': 'id'}},
            },
        },
        'relationships': [{
            'parent_table_name': 'p',
            'parent_primary_key': 'id',
            'child_table_name': 'c',
            'child_foreign_key': 'pid',
        }],
    }

    def database(counts):
        parents = np.repeat(np.arange(n_parents), counts)
        return {
            'p': pd.DataFrame({'id': np.arange(n_parents)}),
            'c': pd.DataFrame({'cid': np.arange(len(parents)), 'pid': parents}),
        }

    # Run
    scores = cardinality_scores(database(real_counts), database(syn_counts), metadata)

    # Assert
    expected = 1.0 - ks_2samp(real_counts, syn_counts).statistic
    assert (real_counts == 0).any()
    assert scores['score'].iloc[0] == pytest.approx(expected, abs=1e-12)
    assert scores['score'].iloc[0] < 0.9


def test_detection_independent_draw_near_half(real):
    # Run
    result = detection_c2st_agg(real, make_database(1), METADATA)

    # Assert
    assert list(result['table']) == ['customer', 'item', 'order']
    assert result.attrs['mean_accuracy'] < 0.65
    assert (result['accuracy'] < 0.7).all()
    assert (result['classifier'] == EXPECTED_CLASSIFIER).all()
    customer_features = result.set_index('table').loc['customer', 'n_features']
    assert customer_features == 2 + 1 + 1 + 2 + 1  # own; order count, y, channel(2), placed


def test_detection_shifted_column_is_detected(real):
    # Run
    result = detection_c2st_agg(real, make_database(1, y_shift=3.0), METADATA)

    # Assert
    accuracy = result.set_index('table')['accuracy']
    assert accuracy['order'] > 0.9
    assert accuracy['customer'] > 0.9  # seen through the child mean of y


def test_detection_falls_back_without_xgboost(real, monkeypatch):
    # Setup
    monkeypatch.setitem(sys.modules, 'xgboost', None)

    # Run
    result = detection_c2st_agg(real, make_database(1, y_shift=3.0), METADATA, n_folds=3)

    # Assert
    assert (result['classifier'] == 'HistGradientBoostingClassifier').all()
    assert result.set_index('table').loc['order', 'accuracy'] > 0.9


def test_privacy_dcr_copies_and_fresh_draws(real):
    # Setup
    holdout = make_database(2)

    # Run
    copied = privacy_dcr(real, holdout, _copy(real), METADATA)
    fresh = privacy_dcr(real, holdout, make_database(1), METADATA)

    # Assert
    assert list(copied['table']) == ['customer', 'item', 'order']
    np.testing.assert_allclose(copied['dcr_synthetic_median'], 0.0, atol=1e-12)
    assert (copied['share_below_holdout_p5'] > 0.9).all()
    assert (fresh['share_below_holdout_p5'] < 0.3).all()
    assert (fresh['dcr_synthetic_median'] > 0).all()


def test_privacy_dcr_splits_without_holdout(real):
    # Run
    result = privacy_dcr(real, None, make_database(1), METADATA)

    # Assert
    assert result[['dcr_synthetic_median', 'dcr_holdout_median']].notna().all().all()


def test_quality_report_identical_near_one(real):
    # Run
    scores = quality_report(real, _copy(real), METADATA)

    # Assert
    assert set(scores) == {
        'overall', 'column_shapes', 'column_pair_trends', 'cardinality', 'intertable_trends',
    }
    assert scores['overall'] > 0.95


def test_evaluate_summary_json_and_untouched_inputs(real):
    # Setup
    from sdv.metadata import Metadata

    synthetic = make_database(1)
    real_before = copy.deepcopy(real)
    synthetic_before = copy.deepcopy(synthetic)
    metadata = Metadata.load_from_dict(METADATA)

    # Run
    result = evaluate(real, synthetic, metadata, strong_threshold=0.3)

    # Assert
    assert isinstance(result, EvaluationResult)
    assert list(result.summary.columns) == ['metric', 'value']
    metrics = set(result.summary['metric'])
    expected = {
        'quality_overall', 'column_shapes', 'column_pair_trends', 'cardinality',
        'intertable_trends', 'cardinality_ks', 'hop_0', 'hop_1', 'hop_2', 'hop_1_strong',
        'co_parent', 'co_parent_strong', 'detection_mean_accuracy', 'dcr_synthetic_median', 'dcr_share_below_holdout_p5',
    }
    assert expected <= metrics
    assert result['detection_mean_accuracy'] < 0.7
    assert set(result.details) == {'cardinality', 'k_hop', 'co_parent', 'spread', 'siblings',
                                   'detection', 'privacy'}
    # A chain of one-parent tables has no co-parents: an empty table, NaN in the summary.
    assert result.details['co_parent'].empty and np.isnan(result['co_parent'])
    serialized = json.loads(json.dumps(result.to_dict()))
    assert serialized['summary']['hop_1'] == pytest.approx(result['hop_1'])
    assert serialized['params']['detection_classifier'] == EXPECTED_CLASSIFIER
    for name in real:
        pd.testing.assert_frame_equal(real[name], real_before[name])
        pd.testing.assert_frame_equal(synthetic[name], synthetic_before[name])


def test_evaluate_is_repeatable(real):
    # Setup
    synthetic = _shuffle_links(make_database(1))

    # Run
    first = evaluate(real, synthetic, METADATA, quality=False)
    second = evaluate(real, synthetic, METADATA, quality=False)

    # Assert
    pd.testing.assert_frame_equal(first.summary, second.summary)
    for name in first.details:
        pd.testing.assert_frame_equal(first.details[name], second.details[name])


def test_missing_tables_and_columns_are_named(real):
    # Setup
    synthetic = _copy(real)
    del synthetic['item']
    synthetic['order'] = synthetic['order'].drop(columns=['y'])

    # Run / Assert
    with pytest.raises(ValueError, match=r"no table 'item'.*lacks columns \['y'\]"):
        cardinality_scores(real, synthetic, METADATA)


def test_plots_and_html_report(real, tmp_path):
    # Setup
    synthetic = make_database(1)
    result = evaluate(real, synthetic, METADATA, quality=False, privacy=False)

    # Run
    hops_png = plot_hops(result, tmp_path / 'plots' / 'hops.png')
    column_pngs = plot_column_distributions(real, synthetic, METADATA, tmp_path / 'plots')
    correlation_pngs = plot_correlation_difference(real, synthetic, METADATA, tmp_path / 'plots')
    report = write_html_report(result, real, synthetic, METADATA, tmp_path / 'report.html')

    # Assert
    assert hops_png.exists()
    assert [p.name for p in column_pngs] == [
        'columns_customer.png', 'columns_item.png', 'columns_order.png',
    ]
    assert [p.name for p in correlation_pngs] == ['correlation_order.png']
    text = report.read_text()
    assert '<img' in text
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == 1 + 3 + 1
    for source in sources:
        assert (tmp_path / source).is_file()
        assert (tmp_path / source).read_bytes()[:4] == b'\x89PNG'
    assert 'detection_mean_accuracy' in text


def test_sibling_structure_sees_children_collapse_toward_typical_values():
    """Children that keep the marginal but lose their parent's effect show between_std << real."""
    from grdm_sdv.datasets import make_planted_database
    from grdm_sdv.evaluation import sibling_structure

    tables, metadata = make_planted_database(n_regions=40, seed=3)
    same = sibling_structure(tables, tables, metadata)
    assert np.allclose(same['ratio'], 1.0)
    shuffled = {k: v.copy() for k, v in tables.items()}
    rng = np.random.default_rng(0)
    shuffled['customer']['visits'] = rng.permutation(shuffled['customer']['visits'].to_numpy())
    out = sibling_structure(tables, shuffled, metadata).set_index(['child', 'column', 'statistic']).sort_index()
    # The shared per-region effect of `visits` is gone: per-region means barely move ...
    assert out.loc[('customer', 'visits', 'between_std'), 'ratio'].item() < 0.6
    # ... and each region's customers spread over the whole column instead.
    assert out.loc[('customer', 'visits', 'within_std'), 'ratio'].item() > 1.2
    assert out.loc[('customer', 'income', 'between_std'), 'ratio'].item() == 1.0


def test_one_dependence_measure_serves_k_hop_and_the_cross_table_check():
    """``cross_table_dependence`` is the strength ``k_hop_trends`` calls a pair strong by,
    for a 1-hop and a 2-hop pair of mixed kinds; the old datasets helper is its alias."""
    import warnings

    from grdm_sdv.datasets import cross_table_association, make_demo_database
    from grdm_sdv.evaluation import cross_table_dependence

    tables, metadata = make_demo_database(n_customers=150, seed=4)
    trends = k_hop_trends(tables, tables, metadata).set_index(
        ['table_a', 'column_a', 'table_b', 'column_b'])['real_strength']
    for anc, desc in ((('region', 'wealth'), ('customer', 'income')),
                      (('customer', 'segment'), ('order_item', 'discount')),
                      (('product', 'category'), ('order_item', 'quantity'))):
        strength = trends.loc[(desc[0], desc[1], anc[0], anc[1])]
        strength = float(np.atleast_1d(strength)[0])
        assert cross_table_dependence(tables, metadata, anc, desc) == pytest.approx(strength)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        old = cross_table_association(tables, metadata, ('region', 'wealth'), ('customer', 'income'))
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert old == pytest.approx(cross_table_dependence(
        tables, metadata, ('region', 'wealth'), ('customer', 'income')))
    with pytest.raises(ValueError, match='not an ancestor'):
        cross_table_dependence(tables, metadata, ('order', 'total'), ('region', 'wealth'))


def test_child_tables_report_finds_the_broken_child():
    # Setup: the synthetic orders lose their dependence on the customer's x
    from benchmarks.race_detection import child_tables_report

    real = make_database(0)
    synthetic = make_database(1)
    order = synthetic['order'].copy()
    order['y'] = np.random.default_rng(2).permutation(order['y'].to_numpy())
    synthetic['order'] = order
    from sdv.metadata import Metadata

    # Run
    report = child_tables_report(real, synthetic, Metadata.load_from_dict(METADATA), 'customer')

    # Assert
    assert set(report['own_and']) == set(report['alone']) == {'order'}
    assert report['own'] < 0.6
    assert report['own_and']['order'] > report['own'] + 0.1
    assert report['without']['order'] < 0.6
