"""Co-parent axes: secondary foreign keys matched along the axis the real pairs share."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from grdm_sdv.coparents import fit_axis, normal_scores
from grdm_sdv.data.schema import RelationalSchema
from grdm_sdv.structure import StructureModel

from ..conftest import draw_columns


def _schema(extra_fk: bool = False):
    rel = [
        {'parent_table_name': 'race', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'race_id'},
        {'parent_table_name': 'driver', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'driver_id'},
    ]
    tables = {'race': {'primary_key': 'id'}, 'driver': {'primary_key': 'id'}, 'result': {'primary_key': 'id'}}
    if extra_fk:
        tables['team'] = {'primary_key': 'id'}
        rel.append({'parent_table_name': 'team', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'team_id'})
    return RelationalSchema.from_metadata_dict({'tables': tables, 'relationships': rel})


def _eras(seed: int = 0, extra_fk: bool = False):
    """Races and drivers with an era each; a driver races only in races of his era. With
    ``extra_fk``, drivers race anywhere instead, and each row's team is the one of the
    driver's era: it follows the driver, not the race. A few null drivers and teams make the
    race the primary foreign key."""
    rng = np.random.default_rng(seed)
    n_race, n_driver, n_team = 300, 120, 40
    race_era, driver_era, team_era = rng.random(n_race), rng.random(n_driver), rng.random(n_team)
    per_race = rng.integers(5, 15, n_race)
    result_race = np.repeat(np.arange(n_race), per_race)
    # Each result's driver: one of those whose era is within 0.05 of the race's.
    near = np.abs(race_era[result_race][:, None] - driver_era[None, :]) < (2 if extra_fk else 0.05)
    weight = near + 1e-9
    pick = draw_columns(weight, rng)
    schema = _schema(extra_fk)
    fk = {(f.child, f.column): f.name for f in schema.foreign_keys}
    null = rng.random(len(pick)) < 0.05
    links = {fk[('result', 'race_id')]: result_race, fk[('result', 'driver_id')]: np.where(null, -1, pick)}
    n_rows = {'race': n_race, 'driver': n_driver, 'result': len(result_race)}
    eras = {'race': race_era, 'driver': driver_era}
    if extra_fk:
        team = np.argmin(np.abs(driver_era[pick][:, None] - team_era[None, :]), 1)
        links[fk[('result', 'team_id')]] = np.where(null, -1, team)
        n_rows['team'] = n_team
        eras['team'] = team_era
    return schema, n_rows, links, fk, eras


def _pair_correlation(links, a, b) -> float:
    """Normal-score correlation of the two parents' axis scores, refitted on ``links``."""
    x, y = links[a], links[b]
    axis = fit_axis(a, x, y, int(x.max()) + 1, int(y.max()) + 1)
    return 0.0 if axis is None else axis.rho


def test_axis_finds_the_eras_and_their_correlation():
    schema, n_rows, links, fk, eras = _eras()
    race, driver = fk[('result', 'race_id')], fk[('result', 'driver_id')]
    axis = fit_axis(race, links[race], links[driver], n_rows['race'], n_rows['driver'])
    # The axis is the era (up to sign), and the two parents of a row sit close on it.
    assert abs(np.corrcoef(normal_scores(axis.anchor_scores), eras['race'])[0, 1]) > 0.9
    assert abs(np.corrcoef(normal_scores(axis.scores), eras['driver'])[0, 1]) > 0.9
    assert axis.rho > 0.9
    # Parents paired at random share no axis.
    rng = np.random.default_rng(1)
    shuffled = fit_axis(race, links[race], rng.permutation(links[driver]), n_rows['race'], n_rows['driver'])
    assert shuffled is None or shuffled.rho < 0.5


def test_axis_matching_keeps_the_pairing_and_every_degree():
    schema, n_rows, links, fk, _ = _eras()
    race, driver = fk[('result', 'race_id')], fk[('result', 'driver_id')]
    model = StructureModel(schema).fit(n_rows, links)
    assert model.primary['result'] == race
    assert list(model.axes) == [driver] and model.axes[driver].anchor == race
    real = _pair_correlation(links, race, driver)
    n_a, axis_links, _ = model.sample(1.0, np.random.default_rng(2))
    n_r, random_links, _ = model.sample(1.0, np.random.default_rng(2), link_matching='random')
    assert n_a == n_r
    # The same parents get the same number of children either way: only the pairing differs.
    for name in axis_links:
        a, r = axis_links[name], random_links[name]
        assert np.array_equal(np.bincount(a[a >= 0]), np.bincount(r[r >= 0]))
    assert _pair_correlation(axis_links, race, driver) > real - 0.1
    assert _pair_correlation(random_links, race, driver) < 0.5


def test_axes_are_chained_on_the_best_anchor():
    """The team follows the driver, who follows no race: the driver is matched at random,
    then the team along the driver's axis."""
    schema, n_rows, links, fk, _ = _eras(extra_fk=True)
    race, driver, team = (fk[('result', c)] for c in ('race_id', 'driver_id', 'team_id'))
    model = StructureModel(schema).fit(n_rows, links)
    assert model.primary['result'] == race
    assert list(model.axes) == [team] and model.axes[team].anchor == driver
    _, syn, _ = model.sample(2.0, np.random.default_rng(3))
    _, shuffled, _ = model.sample(2.0, np.random.default_rng(3), link_matching='random')
    assert _pair_correlation(syn, driver, team) > _pair_correlation(links, driver, team) - 0.1
    assert _pair_correlation(shuffled, driver, team) < 0.5


def test_random_matching_is_the_previous_structure():
    """``link_matching='random'`` and a model saved without axes give the 0.2.6 graph."""
    schema, n_rows, links, _, _ = _eras()
    model = StructureModel(schema).fit(n_rows, links)
    random_links = model.sample(1.5, np.random.default_rng(4), link_matching='random')[1]
    del model.axes  # as a pickle from 0.2.6 loads
    old_links = model.sample(1.5, np.random.default_rng(4))[1]
    assert all(np.array_equal(random_links[k], old_links[k]) for k in old_links)


def test_positions_are_the_source_rows_places_on_the_axes():
    schema, n_rows, links, fk, eras = _eras()
    model = StructureModel(schema).fit(n_rows, links)
    assert model.position_widths() == {'race': 1, 'driver': 1}
    real = model.positions()
    for t in ('race', 'driver'):
        assert real[t].shape == (n_rows[t], 1) and real[t].dtype == np.float32
        assert abs(real[t].mean()) < 0.05 and abs(real[t].std() - 1) < 0.1  # normal scores
        assert abs(np.corrcoef(real[t][:, 0], eras[t])[0, 1]) > 0.9  # the era, up to sign
    n_syn, _, source = model.sample(1.7, np.random.default_rng(3))
    syn = model.positions(source)
    for t in ('race', 'driver'):
        assert len(syn[t]) == n_syn[t]
        assert np.array_equal(syn[t], real[t][source[t]])
    # No axis, no places: the graph's structural inputs are as before.
    del model.axes
    assert model.position_widths() == {} and model.positions() == {}


@pytest.mark.parametrize('rows', [5, 0])
def test_too_few_rows_give_no_axis(rows):
    a = np.arange(rows) % 3
    assert fit_axis('fk0', a, a, 3, 3) is None


def test_places_of_given_links():
    """Keys and links given (impute, sample_from_structure): the axes are refitted on them.
    The training links get their own places; relabelled rows get theirs, the sign found from
    how places follow child counts (here later races have more results)."""
    schema, n_rows, links, fk, eras = _eras()
    race, driver = fk[('result', 'race_id')], fk[('result', 'driver_id')]
    keep = np.random.default_rng(5).random(len(links[race])) < 0.2 + 0.8 * eras['race'][links[race]]
    links = {k: v[keep] for k, v in links.items()}
    n_rows = {**n_rows, 'result': int(keep.sum())}
    model = StructureModel(schema).fit(n_rows, links)
    fitted = model.positions()
    given = model.positions_of(n_rows, links)
    assert all(np.array_equal(given[t], fitted[t]) for t in fitted)
    perm = {t: np.random.default_rng(6).permutation(n_rows[t]) for t in ('race', 'driver')}
    inverse = {t: np.argsort(p) for t, p in perm.items()}  # new row of each old row
    relabelled = {race: inverse['race'][links[race]], driver: np.where(links[driver] >= 0, inverse['driver'][links[driver]], -1)}
    again = model.positions_of(n_rows, relabelled)
    for t in ('race', 'driver'):
        assert np.corrcoef(again[t][:, 0], fitted[t][perm[t], 0])[0, 1] > 0.99
    # Too little to fit: the middle of the axis.
    tiny = model.positions_of({**n_rows, 'result': 1}, {race: np.array([0]), driver: np.array([0])})
    assert all(not tiny[t].any() for t in tiny)


def _careers(seed: int = 0):
    """Drivers with careers: each races in every race of a run of consecutive races (5 to
    60 of 400), as real drivers do; a few results without a race make the driver the
    primary foreign key, so races are matched along the driver's axis."""
    rng = np.random.default_rng(seed)
    n_race, n_driver = 400, 200
    start = rng.integers(0, n_race - 5, n_driver)
    length = np.minimum(rng.integers(5, 61, n_driver), n_race - start)
    driver = np.repeat(np.arange(n_driver), length)
    race = np.concatenate([np.arange(s, s + n) for s, n in zip(start, length)])
    race = np.where(rng.random(len(race)) < 0.03, -1, race)
    schema = _schema()
    fk = {(f.child, f.column): f.name for f in schema.foreign_keys}
    links = {fk[('result', 'race_id')]: race, fk[('result', 'driver_id')]: driver}
    present = np.bincount(race[race >= 0], minlength=n_race) > 0  # races nobody drove in: none
    keep = np.cumsum(present) - 1
    links[fk[('result', 'race_id')]] = np.where(race >= 0, keep[np.maximum(race, 0)], -1)
    n_rows = {'race': int(present.sum()), 'driver': n_driver, 'result': len(race)}
    return schema, n_rows, links, fk, np.flatnonzero(present) / n_race  # each race's time


def _career_spread(links, fk, time) -> tuple[float, float]:
    """Mean over drivers (2+ races) of the spread of their races' times, and the share of
    results whose (driver, race) pair repeats."""
    race, driver = links[fk[('result', 'race_id')]], links[fk[('result', 'driver_id')]]
    ok = (race >= 0) & (driver >= 0)
    d, t = driver[ok], time[race[ok]]
    n = np.bincount(d)
    mean = np.bincount(d, t) / np.maximum(n, 1)
    var = np.bincount(d, t ** 2) / np.maximum(n, 1) - mean ** 2
    repeat = 1 - len(np.unique(d * (race.max() + 1) + race[ok])) / ok.sum()
    return float(np.sqrt(np.maximum(var[n >= 2], 0)).mean()), repeat


def test_axis_keeps_careers_and_repeats_no_pair():
    """Drivers with careers: the axis is the time (a regularisation of a tenth of the mean
    cell, 0.2.8's, folded it: Spearman 0.72), a driver's generated races stay far closer in
    time than at random, and no (driver, race) pair repeats (none does in the data)."""
    schema, n_rows, links, fk, time = _careers()
    race, driver = fk[('result', 'race_id')], fk[('result', 'driver_id')]
    model = StructureModel(schema).fit(n_rows, links)
    assert model.primary['result'] == driver and model.axes[race].anchor == driver
    assert model.axes[race].repeat == 0.0
    assert abs(spearmanr(model.axes[race].scores, time)[0]) > 0.95
    spreads = {mode: [] for mode in ('axis', 'random')}
    for seed in range(3):
        for mode in spreads:
            _, syn, source = model.sample(1.0, np.random.default_rng(seed), link_matching=mode)
            spreads[mode].append(_career_spread(syn, fk, time[source['race']]))
    spreads = {mode: np.mean(v, 0) for mode, v in spreads.items()}
    assert spreads['axis'][0] < 0.6 * spreads['random'][0]
    assert spreads['axis'][1] < 0.01


def test_pairs_with_the_anchor_repeat_no_more_than_in_the_data():
    """A third foreign key (the team, no nulls) is the primary one; the race is matched
    along the driver, and (driver, race) pairs, which never repeat in the data, are reduced
    too, not only (team, race) ones; an axis from a file saved before 0.2.9 (no ``repeat``)
    does not reduce them."""
    schema, n_rows, links, fk, time = _careers()
    race, driver = fk[('result', 'race_id')], fk[('result', 'driver_id')]
    rel = [{'parent_table_name': 'team', 'parent_primary_key': 'id', 'child_table_name': 'result',
            'child_foreign_key': 'team_id'}]
    meta = {'tables': {t: {'primary_key': 'id'} for t in ('race', 'driver', 'result', 'team')},
            'relationships': [{'parent_table_name': f.parent, 'parent_primary_key': 'id',
                               'child_table_name': f.child, 'child_foreign_key': f.column}
                              for f in schema.foreign_keys] + rel}
    schema = RelationalSchema.from_metadata_dict(meta)
    names = {(f.child, f.column): f.name for f in schema.foreign_keys}
    race, driver, team = (names[('result', c)] for c in ('race_id', 'driver_id', 'team_id'))
    rng = np.random.default_rng(1)
    d = links[fk[('result', 'driver_id')]]
    links = {race: links[fk[('result', 'race_id')]], team: d // 4,
             driver: np.where(rng.random(len(d)) < 0.02, -1, d)}
    n_rows = {**n_rows, 'team': int(d.max()) // 4 + 1}
    model = StructureModel(schema).fit(n_rows, links)
    assert model.primary['result'] == team and model.axes[race].anchor == driver
    repeats = []
    for repeat in (model.axes[race].repeat, None):
        model.axes[race].repeat = repeat
        _, syn, _ = model.sample(1.0, np.random.default_rng(2))
        repeats.append(_career_spread({fk[('result', 'race_id')]: syn[race],
                                       fk[('result', 'driver_id')]: syn[driver]}, fk, time)[1])
    assert repeats[0] < 0.01 < repeats[1]


def _strengths(seed: int = 0):
    """Teams and drivers with an era and a strength each: a team's results go to drivers of
    its era, the stronger ones to strong teams (a within-era pairing the axis does not show)."""
    rng = np.random.default_rng(seed)
    n_team, n_driver = 40, 160
    team_era, driver_era = rng.random(n_team), rng.random(n_driver)
    team_str, driver_str = rng.standard_normal(n_team), rng.standard_normal(n_driver)
    result_team = np.repeat(np.arange(n_team), rng.integers(20, 60, n_team))
    near = np.abs(team_era[result_team][:, None] - driver_era[None, :]) < 0.1
    weight = near * np.exp(0.7 * team_str[result_team][:, None] * driver_str[None, :]) + 1e-12
    pick = draw_columns(weight, rng)
    rel = [{'parent_table_name': p, 'parent_primary_key': 'id', 'child_table_name': 'result',
            'child_foreign_key': f'{p}_id'} for p in ('team', 'driver')]
    schema = RelationalSchema.from_metadata_dict(
        {'tables': {t: {'primary_key': 'id'} for t in ('team', 'driver', 'result')}, 'relationships': rel})
    fk = {f.parent: f.name for f in schema.foreign_keys}
    links = {fk['team']: result_team, fk['driver']: np.where(rng.random(len(pick)) < 0.02, -1, pick)}
    n_rows = {'team': n_team, 'driver': n_driver, 'result': len(result_team)}
    places = {'team': {fk['team']: team_str}, 'driver': {fk['driver']: driver_str}}
    return schema, n_rows, links, fk, places


def _place_correlation(links, source, fk, places) -> float:
    t, d = links[fk['team']], links[fk['driver']]
    ok = (t >= 0) & (d >= 0)
    team = places['team'][fk['team']][source['team'][t[ok]] if source else t[ok]]
    driver = places['driver'][fk['driver']][source['driver'][d[ok]] if source else d[ok]]
    return float(np.corrcoef(normal_scores(team), normal_scores(driver))[0, 1])


def test_places_pair_strong_drivers_with_strong_teams_within_the_era():
    schema, n_rows, links, fk, places = _strengths()
    model = StructureModel(schema).fit(n_rows, links)
    assert model.primary['result'] == fk['team'] and list(model.axes) == [fk['driver']]
    model.fit_places(places, links)
    axis = model.axes[fk['driver']]
    real = _place_correlation(links, None, fk, places)
    assert real > 0.3 and axis.place_target == pytest.approx(real)
    by = {}
    for matching in ('places', 'axis'):
        n, syn, source = model.sample(1.5, np.random.default_rng(5), link_matching=matching)
        by[matching] = (syn, _place_correlation(syn, source, fk, places))
    # The same parents get the same number of children either way: only the pairing differs.
    for name in syn:
        a, b = by['places'][0][name], by['axis'][0][name]
        assert np.array_equal(np.bincount(a[a >= 0]), np.bincount(b[b >= 0]))
    assert by['places'][1] > real - 0.15 and by['axis'][1] < real - 0.3
    # Along the axis still: the era is kept as well as without the places.
    assert _pair_correlation(by['places'][0], fk['team'], fk['driver']) > \
        _pair_correlation(by['axis'][0], fk['team'], fk['driver']) - 0.1


def test_places_that_do_not_go_together_change_nothing():
    schema, n_rows, links, fk, places = _strengths()
    model = StructureModel(schema).fit(n_rows, links)
    rng = np.random.default_rng(1)
    noise = {t: {k: rng.standard_normal(len(v)) for k, v in p.items()} for t, p in places.items()}
    model.fit_places(noise, links)
    assert model.axes[fk['driver']].place_rho is None
    a = model.sample(1.0, np.random.default_rng(2))[1]
    b = model.sample(1.0, np.random.default_rng(2), link_matching='axis')[1]
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_axes_saved_before_places_pair_along_the_axis_only():
    """An axis pickled before 0.2.13 has none of the place fields: it pairs as ``'axis'``."""
    schema, n_rows, links, fk, places = _strengths()
    model = StructureModel(schema).fit(n_rows, links)
    axis_only = model.sample(1.0, np.random.default_rng(2), link_matching='axis')[1]
    model.fit_places(places, links)
    assert model.axes[fk['driver']].place_rho is not None
    for name in ('anchor_places', 'places', 'place_rho', 'place_target'):
        delattr(model.axes[fk['driver']], name)  # the instance then reads the class defaults
    old = model.sample(1.0, np.random.default_rng(2))[1]
    assert all(np.array_equal(old[k], axis_only[k]) for k in old)
