"""Nested tables: a single-parent table's rows dealt among their (top-level) parents by place."""

import numpy as np

from grdm_sdv.data.schema import RelationalSchema
from grdm_sdv.structure import StructureModel

from ..conftest import draw_columns


def _schema():
    rel = [
        {'parent_table_name': 'circuit', 'parent_primary_key': 'id', 'child_table_name': 'race', 'child_foreign_key': 'circuit_id'},
        {'parent_table_name': 'race', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'race_id'},
        {'parent_table_name': 'driver', 'parent_primary_key': 'id', 'child_table_name': 'result', 'child_foreign_key': 'driver_id'},
    ]
    tables = {t: {'primary_key': 'id'} for t in ('circuit', 'race', 'driver', 'result')}
    return RelationalSchema.from_metadata_dict({'tables': tables, 'relationships': rel})


def _circuits(seed: int = 0):
    """Circuits that host races of one era each; a driver races only in races of his era, so
    a race's place on the (race, driver) co-parent axis is its era."""
    rng = np.random.default_rng(seed)
    n_circ, n_race, n_driver = 40, 400, 150
    circ_era = rng.random(n_circ)
    race_circ = np.sort(rng.integers(0, n_circ, n_race))
    race_era = np.clip(circ_era[race_circ] + 0.05 * rng.normal(size=n_race), 0, 1)
    driver_era = rng.random(n_driver)
    per_race = rng.integers(5, 15, n_race)
    result_race = np.repeat(np.arange(n_race), per_race)
    near = np.abs(race_era[result_race][:, None] - driver_era[None, :]) < 0.05
    weight = near + 1e-9
    pick = draw_columns(weight, rng)
    schema = _schema()
    fk = {(f.child, f.column): f.name for f in schema.foreign_keys}
    links = {fk[('race', 'circuit_id')]: race_circ, fk[('result', 'race_id')]: result_race,
             fk[('result', 'driver_id')]: pick}
    n_rows = {'circuit': n_circ, 'race': n_race, 'driver': n_driver, 'result': len(result_race)}
    return schema, n_rows, links, fk


def _within_spread(link: np.ndarray, place: np.ndarray) -> float:
    """Mean over parents (weighted by children) of the spread of their children's places."""
    n = np.bincount(link)
    mean = np.bincount(link, weights=place) / np.maximum(n, 1)
    return float(np.sqrt(((place - mean[link]) ** 2).mean()))


def test_races_are_dealt_to_circuits_by_era_and_every_circuit_keeps_its_count():
    schema, n_rows, links, fk = _circuits()
    model = StructureModel(schema).fit(n_rows, links)
    race_fk = fk[('race', 'circuit_id')]
    assert list(model.nests) == ['race'] and model.nests['race'].fk == race_fk
    place = model.nests['race'].place
    real = _within_spread(links[race_fk], place)
    assert real < 0.5 * place.std()  # the real circuits host races of one era
    n_nest, nested, source = model.sample(1.0, np.random.default_rng(1))
    n_flat, flat, source_flat = model.sample(1.0, np.random.default_rng(1), nest=False)
    # Only the races' circuits differ: the same rows, sources and child counts.
    assert n_nest == n_flat and all(np.array_equal(source[t], source_flat[t]) for t in source)
    assert all(np.array_equal(nested[k], flat[k]) for k in nested if k != race_fk)
    assert np.array_equal(np.bincount(nested[race_fk], minlength=n_nest['circuit']),
                          np.bincount(flat[race_fk], minlength=n_flat['circuit']))
    syn_place = place[source['race']]
    spread_nested = _within_spread(nested[race_fk], syn_place)
    spread_flat = _within_spread(flat[race_fk], syn_place)
    assert spread_flat > 0.8 * syn_place.std()  # without nesting: races of every era
    assert 0.5 * real < spread_nested < 2.0 * real
    # A generated circuit's races sit where the races of the circuit it copied sit.
    n = np.bincount(nested[race_fk], minlength=n_nest['circuit'])
    mean = np.bincount(nested[race_fk], weights=syn_place, minlength=n_nest['circuit']) / np.maximum(n, 1)
    target = model.nests['race'].mean[source['circuit']]
    assert np.corrcoef(mean[n > 0], target[n > 0])[0, 1] > 0.9


def test_no_nesting_where_it_does_not_apply():
    schema, n_rows, links, fk = _circuits()
    model = StructureModel(schema).fit(n_rows, links)
    race_fk = fk[('race', 'circuit_id')]
    flat = model.sample(1.0, np.random.default_rng(2), nest=False)[1]
    # Random matching is the 0.2.6 structure, without nesting either.
    random_nest = model.sample(1.0, np.random.default_rng(2), link_matching='random')[1]
    random_flat = model.sample(1.0, np.random.default_rng(2), link_matching='random', nest=False)[1]
    assert all(np.array_equal(random_nest[k], random_flat[k]) for k in random_flat)
    # A kept table: its links are as given.
    kept = model.sample(1.0, np.random.default_rng(2), fixed_rows={'circuit': n_rows['circuit']})[1]
    kept_flat = model.sample(1.0, np.random.default_rng(2), fixed_rows={'circuit': n_rows['circuit']},
                             nest=False)[1]
    assert np.array_equal(kept[race_fk], kept_flat[race_fk])
    # A model saved before 0.2.19 has no nests and samples as before.
    del model.nests
    old = model.sample(1.0, np.random.default_rng(2))[1]
    assert all(np.array_equal(old[k], flat[k]) for k in flat)
    # Races whose results are not paired by era have no places: no nest.
    rng = np.random.default_rng(3)
    shuffled = dict(links, **{fk[('result', 'driver_id')]: rng.permutation(links[fk[('result', 'driver_id')]])})
    assert StructureModel(schema).fit(n_rows, shuffled).nests == {}
