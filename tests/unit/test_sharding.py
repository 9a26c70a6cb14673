"""Sharded sampling's pure parts: keys by position, stages, the shard plan and shard graphs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from rdt.transformers.utils import strings_from_regex

from grdm_sdv.data.schema import ForeignKey, RelationalSchema
from grdm_sdv.sharding.keys import PositionalKeys, UnsupportedKey, regex_strings, scramble
from grdm_sdv.sharding.plan import child_counts, plan_shards, shard_graph, stages, tree_keys
from grdm_sdv.structure import StructureModel


@pytest.mark.parametrize('regex', [r'\d{30}', '[0-1a-z]{5}', 'C[0-9]{6}', '[A-C]{1,3}-x',
                                   'a[bc]?d', r'[a-c]\d{2}[X-Z]', 'x.{2}',
                                   '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'])
def test_regex_keys_by_position_are_rdts_sequence(regex):
    generator, _ = strings_from_regex(regex)
    first = list(itertools.islice(generator, 2500))
    assert list(regex_strings(regex, np.arange(len(first)))) == first
    # Any position, in any order, without walking the sequence.
    picks = np.array([i for i in (len(first) - 1, 0, 17) if i < len(first)])
    assert list(regex_strings(regex, picks)) == [first[i] for i in picks]


def test_scramble_is_a_permutation():
    for n in (1, 7, 1_000_003, 2 * 1_000_003, 123_457):
        out = scramble(np.arange(n), n)
        assert np.array_equal(np.sort(out), np.arange(n))


def test_positional_keys_of_each_generator_are_unique_and_refuse_what_they_cannot():
    from rdt.transformers import AnonymizedFaker, RegexGenerator
    from rdt.transformers.id import IndexGenerator

    n = 5000
    regex = RegexGenerator('ID_[0-9]{5}', generation_order='scrambled')
    keys = PositionalKeys(regex, n)(np.arange(n))
    assert len(set(keys)) == n and all(k.startswith('ID_') and len(k) == 8 for k in keys)
    assert set(keys) == {f'ID_{i:05d}' for i in range(n)}  # the first n, as RDT draws them
    ints = PositionalKeys(AnonymizedFaker('BaseProvider', 'random_int', {'min': 0, 'max': 9999}), n)
    values = ints(np.arange(n))
    assert len(set(values.tolist())) == n and values.min() >= 0 and values.max() <= 9999
    wide = PositionalKeys(AnonymizedFaker('BaseProvider', 'random_int', {'min': 0, 'max': 99}), n)
    assert wide.widened and len(set(wide(np.arange(n)).tolist())) == n
    text = PositionalKeys(AnonymizedFaker('BaseProvider', 'bothify', {'text': 'sdv-id-??????'}), n)
    values = text(np.arange(n))
    assert len(set(values)) == n and all(v.startswith('sdv-id-') and v[7:].isalpha() for v in values)
    assert list(PositionalKeys(IndexGenerator(prefix='u', starting_value=5), n)(np.arange(3))) == ['u5', 'u6', 'u7']
    with pytest.raises(UnsupportedKey, match='matches|makes only'):
        PositionalKeys(RegexGenerator('[ab]{2}'), 5)
    with pytest.raises(UnsupportedKey, match='cannot be addressed'):
        PositionalKeys(AnonymizedFaker('internet', 'email'), 5)


def _f1_like() -> RelationalSchema:
    """F1's shape: races under circuits; results and standings under a race and a driver."""
    fks = [ForeignKey('race', 'circuit_id', 'circuit', 'circuit_id', 'fk0'),
           ForeignKey('result', 'driver_id', 'driver', 'driver_id', 'fk1'),
           ForeignKey('result', 'race_id', 'race', 'race_id', 'fk2'),
           ForeignKey('standing', 'driver_id', 'driver', 'driver_id', 'fk3'),
           ForeignKey('standing', 'race_id', 'race', 'race_id', 'fk4')]
    tables = ['circuit', 'driver', 'race', 'result', 'standing']
    return RelationalSchema(tables, {t: f'{t}_id' for t in tables}, fks)


def _structure(schema, seed=0):
    """A real-sized structure: 40 circuits, 300 drivers, ~8 races a circuit, ~20 results a race."""
    rng = np.random.default_rng(seed)
    n = {'circuit': 40, 'driver': 300}
    race_circuit = np.repeat(np.arange(40), rng.poisson(8, 40))
    n['race'] = len(race_circuit)
    result_race = np.repeat(np.arange(n['race']), rng.poisson(20, n['race']))
    standing_race = np.repeat(np.arange(n['race']), rng.poisson(10, n['race']))
    n['result'], n['standing'] = len(result_race), len(standing_race)
    links = {'fk0': race_circuit, 'fk1': rng.integers(0, 300, n['result']), 'fk2': result_race,
             'fk3': rng.integers(0, 300, n['standing']), 'fk4': standing_race}
    return StructureModel(schema).fit(n, links)


def test_stages_put_shared_parents_first_and_trees_together():
    schema = _f1_like()
    structure = _structure(schema)
    tree = tree_keys(schema, structure.n_rows, structure.primary)
    # Races with all their results and standings under their circuits; drivers first.
    assert tree == {'race': 'fk0', 'result': 'fk2', 'standing': 'fk4'}
    assert stages(schema, tree) == [['driver'], ['circuit', 'race', 'result', 'standing']]
    # Grouped under drivers instead, races are shared by many drivers' trees: they come first.
    assert stages(schema, {'race': 'fk0', 'result': 'fk1', 'standing': 'fk3'}) == \
        [['circuit', 'race'], ['driver', 'result', 'standing']]


@pytest.mark.parametrize('shard_rows', [1, 150, 1000, 10**9])
def test_plan_covers_every_row_once_and_keeps_siblings_together(shard_rows):
    schema = _f1_like()
    structure = _structure(schema)
    n_rows, links, _ = structure.sample(3.0, np.random.default_rng(1))
    tree = tree_keys(schema, structure.n_rows, structure.primary)
    plan = plan_shards(schema, tree, n_rows, links, shard_rows)
    seen = {t: np.zeros(n_rows[t], int) for t in schema.tables}
    race_shard = np.full(n_rows['race'], -1)
    circuit_shard = np.full(n_rows['circuit'], -1)
    for k in range(len(plan)):
        for t in plan.tables(k):
            rows = plan.rows(k, t)
            assert np.all(np.diff(rows) > 0)
            seen[t][rows] += 1
    assert plan.stages == [['driver'], ['circuit', 'race', 'result', 'standing']]
    for k in plan.shards_of(1):
        race_shard[plan.rows(k, 'race')] = k
        circuit_shard[plan.rows(k, 'circuit')] = k
        # A shard passes shard_rows only when one unit (a circuit and its tree) is bigger.
        n_circuits = len(plan.rows(k, 'circuit'))
        assert plan.size(k) <= shard_rows or n_circuits <= 1
    assert all((v == 1).all() for v in seen.values())
    # A race is in its circuit's shard; results and standings in their race's.
    assert np.array_equal(race_shard, circuit_shard[links['fk0']])
    for k in plan.shards_of(1):
        for t, fk in (('result', 'fk2'), ('standing', 'fk4')):
            assert (race_shard[links[fk][plan.rows(k, t)]] == k).all()
    assert len(plan) == len(plan_shards(schema, tree, n_rows, links, shard_rows))  # deterministic


def test_shard_graph_holds_referenced_parents_with_global_child_counts():
    schema = _f1_like()
    structure = _structure(schema)
    n_rows, links, _ = structure.sample(1.0, np.random.default_rng(2))
    tree = tree_keys(schema, structure.n_rows, structure.primary)
    plan = plan_shards(schema, tree, n_rows, links, 800)
    counts = child_counts(schema, n_rows, links)
    k = len(plan) - 1
    sub = shard_graph(schema, plan, k, links, counts)
    assert sub.generated == ['circuit', 'race', 'result', 'standing']
    referenced = np.unique(np.concatenate([links['fk1'][sub.rows['result']],
                                           links['fk3'][sub.rows['standing']]]))
    assert np.array_equal(sub.rows['driver'], referenced)
    for fk in schema.foreign_keys:  # local links point at the same global rows
        child, parent = sub.rows[fk.child], sub.rows[fk.parent]
        assert np.array_equal(parent[sub.links[fk.name]], links[fk.name][child])
    # Drivers are seen with all their results, not only this shard's.
    assert np.array_equal(sub.child_counts['fk1'], counts['fk1'][sub.rows['driver']])
    assert sub.child_counts['fk1'].sum() > (sub.links['fk1'] >= 0).sum()
