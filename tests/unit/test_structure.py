"""Structure model: degree-preserving sampling, multi-parent matching, nulls."""

import numpy as np
import pytest

from grdm_sdv.data.schema import RelationalSchema
from grdm_sdv.structure import StructureModel, _duplicated, _placed, _reduce_duplicates


def _schema():
    meta = {
        'tables': {'race': {'primary_key': 'id'}, 'driver': {'primary_key': 'id'},
                   'result': {'primary_key': 'id'}, 'lap': {'primary_key': 'id'}},
        'relationships': [
            {'parent_table_name': 'race', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'race_id'},
            {'parent_table_name': 'driver', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'driver_id'},
            {'parent_table_name': 'race', 'parent_primary_key': 'id', 'child_table_name': 'lap', 'child_foreign_key': 'race_id'},
        ],
    }
    return RelationalSchema.from_metadata_dict(meta)


def _real(rng):
    n_race, n_driver = 200, 80
    per_race = rng.integers(0, 12, n_race)
    result_race = np.repeat(np.arange(n_race), per_race)
    pop = rng.pareto(1.2, n_driver) + 0.05
    result_driver = rng.choice(n_driver, len(result_race), p=pop / pop.sum())
    result_driver[rng.random(len(result_race)) < 0.1] = -1  # nullable FK
    lap_race = np.repeat(np.arange(n_race), per_race * 3)  # lap count tied to result count
    schema = _schema()
    fk = {(f.child, f.column): f.name for f in schema.foreign_keys}
    links = {fk[('result', 'race_id')]: result_race, fk[('result', 'driver_id')]: result_driver,
             fk[('lap', 'race_id')]: lap_race}
    n_rows = {'race': n_race, 'driver': n_driver, 'result': len(result_race), 'lap': len(lap_race)}
    return schema, n_rows, links, fk


@pytest.mark.parametrize('scale', [0.5, 1.0, 2.0])
def test_sample_keeps_sizes_degrees_integrity(scale):
    rng = np.random.default_rng(0)
    schema, n_rows, links, fk = _real(rng)
    model = StructureModel(schema).fit(n_rows, links)
    n_syn, syn, _ = model.sample(scale, np.random.default_rng(1))
    assert n_syn['race'] == round(scale * n_rows['race'])
    assert n_syn['driver'] == round(scale * n_rows['driver'])
    for name, link in syn.items():
        f = next(x for x in schema.foreign_keys if x.name == name)
        assert len(link) == n_syn[f.child]
        assert link.max() < n_syn[f.parent] and link.min() >= -1
    # Children per race: same distribution (mean and zero share).
    real_deg = np.bincount(links[fk[('result', 'race_id')]], minlength=n_rows['race'])
    syn_deg = np.bincount(syn[fk[('result', 'race_id')]], minlength=n_syn['race'])
    assert abs(real_deg.mean() - syn_deg.mean()) < 1.0
    assert abs((real_deg == 0).mean() - (syn_deg == 0).mean()) < 0.08
    # A race's lap count and result count go together (joint degree vectors).
    laps = np.bincount(syn[fk[('lap', 'race_id')]], minlength=n_syn['race'])
    assert np.array_equal(laps, 3 * syn_deg)
    # Secondary parent (driver): null rate and degree skew kept.
    drv = syn[fk[('result', 'driver_id')]]
    assert abs((drv < 0).mean() - 0.1) < 0.03
    real_drv = np.bincount(links[fk[('result', 'driver_id')]][links[fk[('result', 'driver_id')]] >= 0], minlength=80)
    syn_drv = np.bincount(drv[drv >= 0], minlength=n_syn['driver'])
    q = [0.5, 0.9, 0.99]
    real_q = np.quantile(real_drv / real_drv.mean(), q)
    syn_q = np.quantile(syn_drv / syn_drv.mean(), q)
    assert np.allclose(real_q, syn_q, rtol=0.5, atol=0.3), (real_q, syn_q)


def test_duplicate_pairs_reduced_to_real_rate():
    rng = np.random.default_rng(0)
    schema, n_rows, links, fk = _real(rng)
    # Make the real data free of repeated (race, driver) pairs.
    r, d = links[fk[('result', 'race_id')]], links[fk[('result', 'driver_id')]]
    d = np.where(_duplicated(r, d), -1, d)
    links[fk[('result', 'driver_id')]] = d
    model = StructureModel(schema).fit(n_rows, links)
    assert model.dup_rate[fk[('result', 'driver_id')]] == 0
    _, syn, _ = model.sample(1.0, np.random.default_rng(2))
    dup = _duplicated(syn[fk[('result', 'race_id')]], syn[fk[('result', 'driver_id')]]).mean()
    assert dup < 0.01


def test_no_repeated_pair_left_where_a_parent_fills_nearly_every_row_of_the_other():
    # 50 races of 10 rows; team 0 in 48 of them (as F1's longest-running team is in 369 of
    # 377 races with constructor results), 40 small teams in the rest. Matched along an
    # axis that put team 0's rows together, most of its pairs repeat; swaps near the row
    # alone left some (about 2% of F1's constructor results before 0.2.23).
    rng = np.random.default_rng(0)
    race = np.repeat(np.arange(50), 10)
    team = np.concatenate([np.zeros(48, np.int64), rng.integers(1, 41, 452)])
    order = np.argsort(team, kind='stable')  # the axis: team 0's rows first
    b = np.empty(500, np.int64)
    b[order] = np.sort(race)  # team 0 gets races 0-4 only, ten times each
    assert _duplicated(team, b).sum() > 40
    out = _reduce_duplicates(team, b, 0.0, np.random.default_rng(1), order=order)
    assert _duplicated(team, out).sum() == 0
    assert np.array_equal(np.sort(out), np.sort(b))  # every race keeps its row count
    assert len(np.unique(out[team == 0])) == 48


def test_same_rng_same_graph():
    schema, n_rows, links, _ = _real(np.random.default_rng(0))
    model = StructureModel(schema).fit(n_rows, links)
    a = model.sample(1.3, np.random.default_rng(5))[1]
    b = model.sample(1.3, np.random.default_rng(5))[1]
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_sources_of_given_links_nearest_child_counts():
    """Keys and links given: each parent row's source is a real row with the nearest child
    counts (itself where its counts are unique), ties at random among equal rows."""
    rng = np.random.default_rng(0)
    schema, n_rows, links, fk = _real(rng)
    model = StructureModel(schema).fit(n_rows, links)
    src = model.sources_of(n_rows, links, np.random.default_rng(1), tables=['race', 'driver'])
    assert set(src) == {'race', 'driver'}
    for t in src:
        assert src[t].shape == (n_rows[t],)
        # The source's child counts are the given row's: every real row's counts occur.
        assert np.array_equal(model.degrees[t][src[t]], model.degrees[t])
    deg = model.degrees['driver']
    unique = np.flatnonzero((deg[:, None, :] == deg[None, :, :]).all(2).sum(1) == 1)
    assert len(unique) > 5 and np.array_equal(src['driver'][unique], unique)
    # Races tied on their counts draw among one another, not always the first of them.
    tied = np.flatnonzero((model.degrees['race'] == model.degrees['race'][0]).all(1))
    assert len(tied) > 3
    picks = {int(model.sources_of(n_rows, links, np.random.default_rng(s), tables=['race'])['race'][0])
             for s in range(20)}
    assert len(picks) > 1 and picks <= set(tied.tolist())
    # Counts never seen: the nearest real ones.
    big = {**links, fk[('result', 'race_id')]: np.zeros(len(links[fk[('result', 'race_id')]]), np.int64)}
    far = model.sources_of(n_rows, big, np.random.default_rng(0), tables=['race'])['race'][0]
    assert model.degrees['race'][far, 0] == model.degrees['race'][:, 0].max()


def test_nearest_draws_among_every_equal_row():
    """Ties: any of the real rows sharing the nearest values can be drawn, however many."""
    from grdm_sdv.structure import _nearest
    real = np.zeros((100, 2))
    real[50:] = 1.0
    got = _nearest(real, np.full((2000, 2), 0.9), np.random.default_rng(0))
    assert set(got.tolist()) == set(range(50, 100))
    one = _nearest(np.ones((1, 1)), np.zeros((3, 1)), np.random.default_rng(0))
    assert one.tolist() == [0, 0, 0] and one.dtype == np.int64


def test_sources_by_values_follow_expected_counts():
    """Kept rows: a race's source is one of the real races whose child counts its values
    predict (a ridge fit of log1p counts on values), or, along keys whose children are kept
    too, nearest in actual counts; drawn anew each time among the nearest few."""
    rng = np.random.default_rng(0)
    schema, n_rows, links, fk = _real(rng)
    model = StructureModel(schema).fit(n_rows, links)
    col = {f.child: j for j, f in enumerate(schema.children_of('race'))}
    per_race = model.degrees['race'][:, col['result']]
    # One value per race that says how many results it has (noisy), one that says nothing.
    x = np.stack([per_race + rng.normal(0, 0.5, n_rows['race']), rng.normal(size=n_rows['race'])], 1)
    model.fit_expected({'race': lambda rows: x[rows].astype(np.float32),
                        'result': lambda rows: np.zeros((len(rows), 1), np.float32)})
    assert set(model.expected) == {'race'}  # result has no children
    unknown = np.full((n_rows['race'], 2), -1)
    expected = model.expected_counts('race', x)
    src = model.sources_by_values('race', expected, unknown, np.random.default_rng(1))
    assert src.shape == (n_rows['race'],)
    corr = np.corrcoef(per_race, per_race[src])[0, 1]
    shuffled = np.corrcoef(per_race, per_race[np.random.default_rng(2).permutation(src)])[0, 1]
    assert corr > 0.8 and abs(shuffled) < 0.3, (corr, shuffled)
    # Drawn anew: two calls differ, both following the values.
    again = model.sources_by_values('race', expected, unknown, np.random.default_rng(3))
    assert (again != src).mean() > 0.3
    assert np.corrcoef(per_race, per_race[again])[0, 1] > 0.8
    # Results kept too: a row with 11 results and 33 laps takes a race with about those.
    known = unknown.copy()
    known[:, col['result']], known[:, col['lap']] = 11, 33
    near = model.sources_by_values('race', expected, known, np.random.default_rng(4))
    assert np.abs(per_race[near] - 11).mean() < 1.0
    # Only the results kept (each race's own), laps to be sampled: one of the real races
    # nearest in results and expected laps, i.e. about its own number of results.
    some = unknown.copy()
    some[:, col['result']] = per_race
    part = model.sources_by_values('race', expected, some, np.random.default_rng(5))
    assert np.abs(per_race[part] - per_race).mean() < 1.0
    assert (part != np.arange(n_rows['race'])).mean() > 0.3  # drawn among the nearest few
    # Nothing fitted (e.g. a file saved before 0.2.21): None, the caller draws at random.
    assert model.expected_counts('driver', np.zeros((3, 1))) is None
    del model.expected  # as unpickled from before 0.2.21
    assert model.expected_counts('race', x) is None


def test_sources_by_values_keep_the_real_counts_and_follow_a_part():
    """The whole table given back gets every real row's counts once (near its own place);
    a part of it (the races whose values say many results) gets real rows like it."""
    rng = np.random.default_rng(0)
    schema, n_rows, links, fk = _real(rng)
    model = StructureModel(schema).fit(n_rows, links)
    col = {f.child: j for j, f in enumerate(schema.children_of('race'))}
    per_race = model.degrees['race'][:, col['result']]
    x = (per_race + rng.normal(0, 0.5, n_rows['race']))[:, None].astype(np.float32)
    model.fit_expected({'race': lambda rows: x[rows]})
    unknown = np.full((n_rows['race'], 2), -1)
    src = model.sources_by_values('race', model.expected_counts('race', x), unknown, np.random.default_rng(1))
    assert np.array_equal(np.sort(src), np.arange(n_rows['race']))  # each real row once
    assert np.corrcoef(per_race, per_race[src])[0, 1] > 0.8
    many = np.flatnonzero(x[:, 0] > np.quantile(x[:, 0], 0.75))
    part = model.sources_by_values('race', model.expected_counts('race', x[many]), unknown[many],
                                   np.random.default_rng(2))
    assert len(set(part.tolist())) == len(many)  # distinct while there are enough
    assert per_race[part].mean() > per_race.mean() + 2, (per_race[part].mean(), per_race.mean())
    # More rows given than real ones: whole copies, then distinct rows drawn, as a sampled
    # table gets them (every real row twice; or once or twice, once for one row more).
    for extra in (0, 1, 37):
        more = np.r_[x, x[:extra]] if extra else np.r_[x, x]
        got = model.sources_by_values('race', model.expected_counts('race', more),
                                      np.full((len(more), 2), -1), np.random.default_rng(3))
        uses = np.bincount(got, minlength=n_rows['race'])
        want = len(more) // n_rows['race']
        assert uses.min() >= want and uses.max() <= want + 1 and uses.sum() == len(more), extra
    twice = model.sources_by_values('race', model.expected_counts('race', np.r_[x, x]),
                                    np.full((2 * n_rows['race'], 2), -1), np.random.default_rng(3))
    assert np.corrcoef(np.r_[per_race, per_race], per_race[twice])[0, 1] > 0.8


def test_placed_weighs_columns_by_their_spread():
    """A child key whose expected counts hardly vary does not take the placing over (the
    scores are the real rows' first component in their own units, not standardised)."""
    rng = np.random.default_rng(0)
    a, z = rng.normal(size=1000), rng.normal(size=1000)
    real = np.c_[a, 0.01 * z]
    own = rng.choice(1000, 300, replace=False)
    src = _placed(real, real[own], 10, np.random.default_rng(1))
    assert len(set(src.tolist())) == 300
    assert np.corrcoef(a[src], a[own])[0, 1] > 0.99


def test_condition_weights_draw_the_counts_of_a_category():
    """A category that goes with many results: weighting the real races by how likely each
    has it given its child counts, and drawing sources by the weights, gives the category's
    counts (Bayes), with every real row drawn about n * weight times."""
    rng = np.random.default_rng(0)
    schema, n_rows, links, fk = _real(rng)
    model = StructureModel(schema).fit(n_rows, links)
    col = {f.child: j for j, f in enumerate(schema.children_of('race'))}
    per_race = model.degrees['race'][:, col['result']]
    big = (per_race + rng.normal(0, 2, n_rows['race']) > per_race.mean()).astype(np.int64)
    model.fit_categories({'race': {'kind': big, 'constant': np.zeros(n_rows['race'], np.int64)}})
    assert set(model.categories['race']) == {'kind'}  # one class: nothing to learn
    w = model.condition_weights('race', {'kind': 1})
    assert w.shape == (n_rows['race'],) and (w >= 0).all()
    assert model.condition_weights('race', {'constant': 0}) is None
    # A category the classifier never saw adds no weight; the other columns still do.
    model.categories['race']['other'] = model.categories['race']['kind']
    assert np.allclose(model.condition_weights('race', {'kind': 1, 'other': 7}), w)
    assert model.condition_weights('race', {'other': 7}) is None
    from grdm_sdv.structure import _weighted_resample
    src = _weighted_resample(w, 5000, np.random.default_rng(1))
    drawn = per_race[src].mean()
    assert abs(drawn - per_race[big == 1].mean()) < 0.6, (drawn, per_race[big == 1].mean(), per_race.mean())
    uses = np.bincount(src, minlength=n_rows['race'])
    assert np.abs(uses - 5000 * w / w.sum()).max() <= 1.0  # systematic: floor or ceil
    # In the structure: the races' sources drawn by the weights.
    _, syn, source = model.sample(1.0, np.random.default_rng(2), source_weights={'race': w})
    assert per_race[source['race']].mean() > per_race.mean() + 1
