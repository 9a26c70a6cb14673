"""Child places: a top-level parent's place among its leaf children (their shared effect)."""

from __future__ import annotations

import numpy as np

from grdm_sdv.data.child_places import ChildPlaces, fit_child_places
from grdm_sdv.data.schema import ForeignKey, RelationalSchema


def _schema() -> RelationalSchema:
    # driver (top) -> result (leaf); circuit (top) -> race -> lap (leaf)
    return RelationalSchema(
        tables=['driver', 'result', 'circuit', 'race', 'lap'],
        primary_keys={t: 'id' for t in ('driver', 'result', 'circuit', 'race', 'lap')},
        foreign_keys=[ForeignKey('result', 'driver_id', 'driver', 'id', 'fk0'),
                      ForeignKey('race', 'circuit_id', 'circuit', 'id', 'fk1'),
                      ForeignKey('lap', 'race_id', 'race', 'id', 'fk2')])


def _planted(rng):
    n_driver, n_result = 80, 1200
    skill = rng.normal(size=n_driver)
    link = rng.integers(0, n_driver, n_result)
    link[:5] = -1  # null parents are left out
    effect = np.where(link >= 0, skill[np.maximum(link, 0)], 0.0)
    # Two columns sharing the driver's effect (position falls with skill, points rise).
    x = np.stack([-effect + 0.5 * rng.normal(size=n_result), effect + 0.5 * rng.normal(size=n_result)], 1)
    observed = np.ones_like(x, bool)
    observed[rng.random(n_result) < 0.1, 1] = False  # some nulls
    x[~observed] = 0.0
    x_num = {'driver': np.zeros((n_driver, 0)), 'result': x, 'circuit': np.zeros((20, 1)),
             'race': rng.normal(size=(100, 1)), 'lap': rng.normal(size=(400, 1))}
    obs = {t: np.ones(v.shape, bool) for t, v in x_num.items()}
    obs['result'] = observed
    links = {'fk0': link, 'fk1': rng.integers(0, 20, 100), 'fk2': rng.integers(0, 100, 400)}
    return skill, x_num, obs, links


def test_place_follows_the_shared_effect():
    rng = np.random.default_rng(0)
    skill, x_num, obs, links = _planted(rng)
    places = fit_child_places(_schema(), x_num, obs, links)
    # Only the top-level table with a leaf child gets a place: `race` has a parent, and
    # `circuit`'s child `race` has children of its own.
    assert places.widths() == {'driver': 1}
    assert places.fks == {'driver': ['fk0']}
    place = places.places['driver'][:, 0]
    assert place.dtype == np.float32
    has = np.bincount(links['fk0'][links['fk0'] >= 0], minlength=80) > 0
    # The sign is arbitrary; the place is the drivers' skill up to noise.
    assert abs(np.corrcoef(place[has], skill[has])[0, 1]) > 0.9
    assert np.all(place[~has] == 0)
    # Normal scores over the parents with children.
    assert abs(place[has].mean()) < 0.05 and 0.9 < place[has].std() < 1.1
    assert 0.7 < places.shares['driver'][0] <= 1.0


def test_sampled_rows_take_their_sources_places():
    rng = np.random.default_rng(1)
    _, x_num, obs, links = _planted(rng)
    places = fit_child_places(_schema(), x_num, obs, links)
    source = {'driver': np.array([3, 3, 0, 79])}
    got = places.of({'driver': 4}, source)
    np.testing.assert_array_equal(got['driver'], places.places['driver'][[3, 3, 0, 79]])
    # No source (keys and links given): the middle.
    given = places.of({'driver': 7}, None)
    assert given['driver'].shape == (7, 1) and not given['driver'].any()


def test_too_few_parents_give_no_place():
    rng = np.random.default_rng(2)
    _, x_num, obs, links = _planted(rng)
    links['fk0'] = np.where(links['fk0'] < 5, links['fk0'], -1)  # 5 drivers with results
    assert fit_child_places(_schema(), x_num, obs, links).widths() == {}


def test_columns_the_sampler_sets_are_left_out():
    """A rank, template or follower column along the foreign key (``grouped``) is no part of
    the place; with every column left out there is none."""
    rng = np.random.default_rng(3)
    skill, x_num, obs, links = _planted(rng)
    x_num['result'][:, 1] = rng.normal(size=len(x_num['result']))  # pure noise
    places = fit_child_places(_schema(), x_num, obs, links)
    without = fit_child_places(_schema(), x_num, obs, links, grouped={('fk0', 0)})
    has = np.bincount(links['fk0'][links['fk0'] >= 0], minlength=80) > 0
    assert abs(np.corrcoef(places.places['driver'][has, 0], skill[has])[0, 1]) > 0.6
    assert abs(np.corrcoef(without.places['driver'][has, 0], skill[has])[0, 1]) < 0.4
    assert fit_child_places(_schema(), x_num, obs, links, grouped={('fk0', 0), ('fk0', 1)}).widths() == {}


def test_few_children_are_shrunk_toward_the_middle():
    """A parent's mean over one child is mostly that child's noise: of two parents with the
    same mean, the one with one child sits nearer the middle than the one with thirty."""
    rng = np.random.default_rng(4)
    skill, x_num, obs, links = _planted(rng)
    # Noisier children than elsewhere: a fifth of the variance between drivers.
    effect = np.where(links['fk0'] >= 0, skill[np.maximum(links['fk0'], 0)], 0.0)
    x_num['result'] = np.stack([-effect, effect], 1) + 2.0 * rng.normal(size=(len(effect), 2))
    old = np.where(np.isin(links['fk0'], [78, 79]), -1, links['fk0'])  # their results dropped
    links['fk0'] = np.concatenate([old, [78], [79] * 30])
    x_num['result'] = np.concatenate([x_num['result'], [[-2.0, 2.0]] * 31])
    obs['result'] = np.ones(x_num['result'].shape, bool)
    place = fit_child_places(_schema(), x_num, obs, links).places['driver'][:, 0]
    assert np.sign(place[78]) == np.sign(place[79]) != 0
    assert abs(place[78]) < 0.5 * abs(place[79])


def test_a_column_without_values_under_any_parent():
    """Children whose column holds no value at all: no warning, no NaN in the places."""
    import warnings

    rng = np.random.default_rng(5)
    skill, x_num, obs, links = _planted(rng)
    obs['result'][:, 1] = False
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        places = fit_child_places(_schema(), x_num, obs, links)
    place = places.places['driver'][:, 0]
    has = np.bincount(links['fk0'][links['fk0'] >= 0], minlength=80) > 0
    assert np.isfinite(place).all()
    assert abs(np.corrcoef(place[has], skill[has])[0, 1]) > 0.8


def test_given_children_values_make_their_parents_places():
    """Keys and links given with children's values (``impute``): the training data given
    back gets its fitted places; with a third of the cells unknown, nearly the same; a
    parent without a known child keeps its source's place."""
    rng = np.random.default_rng(2)
    skill, x_num, obs, links = _planted(rng)
    places = fit_child_places(_schema(), x_num, obs, links)
    assert [p.child for p in places.projections['driver']] == ['result']
    n_rows = {t: len(v) for t, v in x_num.items()}
    fitted = places.places['driver'][:, 0]
    source = {'driver': np.arange(80)[::-1].copy()}  # not the rows themselves
    back = places.of(n_rows, source, {'result': (x_num['result'], obs['result'])}, links)
    has = np.bincount(links['fk0'][links['fk0'] >= 0], minlength=80) > 0
    np.testing.assert_allclose(back['driver'][has, 0], fitted[has], atol=1e-5)
    np.testing.assert_array_equal(back['driver'][~has, 0], fitted[source['driver']][~has])
    # A third of the cells unknown (values there are garbage, never read).
    known = obs['result'] & (rng.random(obs['result'].shape) > 1 / 3)
    x = np.where(known, x_num['result'], 99.0)
    part = places.of(n_rows, source, {'result': (x, known)}, links)['driver'][:, 0]
    assert np.corrcoef(part[has], fitted[has])[0, 1] > 0.95
    assert abs(np.corrcoef(part[has], skill[has])[0, 1]) > 0.85
    # Children with nothing known: their parent takes its source's place.
    none = places.of(n_rows, source, {'result': (x, np.zeros_like(known))}, links)['driver'][:, 0]
    np.testing.assert_array_equal(none, fitted[source['driver']])


def test_places_saved_without_projections_load():
    """A ChildPlaces pickled before 0.2.20 (no projections) loads, compares and gives its
    sources' places whatever values are given."""
    import pickle
    rng = np.random.default_rng(3)
    _, x_num, obs, links = _planted(rng)
    places = fit_child_places(_schema(), x_num, obs, links)
    state = dict(places.__dict__)
    del state['projections']
    old = ChildPlaces.__new__(ChildPlaces)
    old.__setstate__(state)
    old = pickle.loads(pickle.dumps(old))
    assert old.projections == {} and repr(old)
    source = {'driver': np.arange(80)}
    got = old.of({t: len(v) for t, v in x_num.items()}, source, {'result': (x_num['result'], obs['result'])}, links)
    np.testing.assert_array_equal(got['driver'], places.places['driver'])
