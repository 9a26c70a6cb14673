"""Seats (grdm_sdv.seats): a table whose rows are a team's (constructor's) cars at races, driven in runs."""

import numpy as np
import pytest

from grdm_sdv.data.schema import RelationalSchema
from grdm_sdv.seats import covered_tables
from grdm_sdv.structure import StructureModel


def _schema():
    rel = lambda parent, child, col: {'parent_table_name': parent, 'parent_primary_key': 'id',  # noqa: E731
                                      'child_table_name': child, 'child_foreign_key': col}
    meta = {
        'tables': {t: {'primary_key': 'id'} for t in ('constructor', 'driver', 'race', 'result', 'qualify')},
        'relationships': [rel('constructor', 'result', 'constructor_id'), rel('driver', 'result', 'driver_id'),
                          rel('race', 'result', 'race_id'), rel('constructor', 'qualify', 'constructor_id'),
                          rel('driver', 'qualify', 'driver_id'), rel('race', 'qualify', 'race_id')],
    }
    return RelationalSchema.from_metadata_dict(meta)


def _real(seed=0):
    """300 races in time order; 30 teams, each entering every race of its years with two
    cars; each car driven in runs of 5-30 races, by a driver who often moves on from another
    team (so a driver drives for a few teams, one after another); qualifying rows are 70%
    of the results' (race, driver, team)."""
    rng = np.random.default_rng(seed)
    n_race, n_team = 300, 30
    start = rng.integers(0, 250, n_team)
    end = np.minimum(start + rng.integers(50, 300, n_team), n_race)
    runs = []  # (start, end, team, seat)
    for team in range(n_team):
        for seat in range(2):
            t = start[team]
            while t < end[team]:
                length = int(rng.integers(5, 31))
                runs.append((t, min(t + length, end[team]), team, seat))
                t += length
    runs.sort()
    last_end, rows = [], []  # a driver's last race; rows (race, driver, team)
    for s, e, team, _ in runs:
        free = [d for d, le in enumerate(last_end) if s - 40 <= le <= s]
        if free and rng.random() < 0.6:
            driver = max(free, key=last_end.__getitem__)
        else:
            driver = len(last_end)
            last_end.append(0)
        last_end[driver] = e
        rows += [(race, driver, team) for race in range(s, e)]
    result = np.array(rows)
    qualify = result[rng.random(len(result)) < 0.7]
    schema = _schema()
    fk = {(f.child, f.column): f.name for f in schema.foreign_keys}
    links = {}
    for table, rows in (('result', result), ('qualify', qualify)):
        for j, col in enumerate(('race_id', 'driver_id', 'constructor_id')):
            links[fk[(table, col)]] = rows[:, j].astype(np.int64)
    n_rows = {'race': n_race, 'driver': len(last_end), 'constructor': n_team,
              'result': len(result), 'qualify': len(qualify)}
    return schema, n_rows, links, fk


def _shape(links, fk, table='result'):
    """Teams per driver, and the share of rows sharing their (race, team) with another."""
    race, driver, team = (links[fk[(table, c)]] for c in ('race_id', 'driver_id', 'constructor_id'))
    pairs = np.unique(np.stack([driver, team], 1), axis=0)
    teams_per_driver = np.bincount(pairs[:, 0]).astype(float)
    _, inverse, count = np.unique(np.stack([race, team], 1), axis=0, return_inverse=True,
                                  return_counts=True)
    return teams_per_driver[teams_per_driver > 0].mean(), (count[inverse.reshape(-1)] > 1).mean()


def test_result_is_seated_and_its_covered_table_is_not():
    schema, n_rows, links, fk = _real()
    model = StructureModel(schema).fit(n_rows, links)
    assert list(model.seats) == ['result']  # qualify's combinations are results'
    seats = model.seats['result']
    assert (seats.primary, seats.runs, seats.events) == (
        fk[('result', 'constructor_id')], fk[('result', 'driver_id')], fk[('result', 'race_id')])


@pytest.mark.parametrize('scale', [1.0, 2.0])
def test_seats_keep_drivers_with_few_teams_and_team_mates_in_a_race(scale):
    """Matched one key at a time, a driver's rows scatter over many teams and a team's two
    cars over different races; seated, both come much nearer the real shape, every parent
    keeps its count and every link is valid."""
    schema, n_rows, links, fk = _real()
    model = StructureModel(schema).fit(n_rows, links)
    real_teams, real_mates = _shape(links, fk)
    shapes = {}
    for seat in (True, False):
        rng = np.random.default_rng(1)
        n_syn, syn, source = model.sample(scale, rng, seat=seat)
        for (child, col), name in fk.items():
            parent = {'race_id': 'race', 'driver_id': 'driver', 'constructor_id': 'constructor'}[col]
            assert len(syn[name]) == n_syn[child]
            assert syn[name].min() >= 0 and syn[name].max() < n_syn[parent]
        shapes[seat] = _shape(syn, fk)
        if seat:  # every driver and race keeps the result count its source row gives it
            for col, parent in (('driver_id', 'driver'), ('race_id', 'race')):
                got = np.bincount(syn[fk[('result', col)]], minlength=n_syn[parent])
                want = model.degrees[parent][source[parent], schema.children_of(parent).index(
                    schema.foreign_key(fk[('result', col)]))]
                assert got.sum() == n_syn['result']
                assert np.abs(got - want * got.sum() / want.sum()).max() <= 1.0 + 1e-9
    assert real_teams < 3 and real_mates > 0.95
    seated_teams, seated_mates = shapes[True]
    loose_teams, loose_mates = shapes[False]
    # Measured: real 1.7 teams per driver, seated 3.4 (scale 2: 5.5), one key at a time 11
    # (16); rows with a team-mate in their race: real 1.0, seated 0.79 (0.76), one key at a
    # time 0.65 (0.44).
    assert seated_teams < 0.4 * loose_teams, shapes
    assert seated_mates > loose_mates + 0.08, shapes


def test_a_driver_races_in_a_race_no_more_often_than_when_matched_one_key_at_a_time():
    """Repeated (race, driver) pairs are swapped away after seating as after the matching
    (about 2% stay on this database either way, none in the real one)."""
    schema, n_rows, links, fk = _real()
    model = StructureModel(schema).fit(n_rows, links)
    repeated = {}
    for seat in (True, False):
        _, syn, _ = model.sample(1.0, np.random.default_rng(2), seat=seat)
        race, driver = syn[fk[('result', 'race_id')]], syn[fk[('result', 'driver_id')]]
        repeated[seat] = 1 - len(np.unique(np.stack([race, driver], 1), axis=0)) / len(race)
    assert repeated[True] <= repeated[False] + 0.005 and repeated[True] < 0.03, repeated


def test_of_two_tables_that_cover_each_other_only_the_smaller_is_covered():
    schema, n_rows, links, fk = _real()
    model = StructureModel(schema).fit(n_rows, links)
    assert covered_tables(schema, links, model.primary) == {'qualify'}
    # qualify holding every result's combination: each covers the other; the later table
    # in schema order (equal sizes) is the covered one, and never both.
    same = dict(links)
    for col in ('race_id', 'driver_id', 'constructor_id'):
        same[fk[('qualify', col)]] = links[fk[('result', col)]]
    later = max(('qualify', 'result'), key=schema.tables.index)
    assert covered_tables(schema, same, model.primary) == {later}
