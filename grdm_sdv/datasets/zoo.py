"""The relational zoo: a generated 12-table database with most schema shapes SDV can describe.

See :func:`make_relational_zoo` for its shapes and planted dependencies. The tables are drawn
by a few functions from one generator, in a fixed order: the same seed gives the same
database.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ._metadata import rel

#: Rows of a table from its row count at ``size=1`` (``max(3, round(base * size))``).
_Count = Callable[[int], int]

#: Regex of the UUID primary key of the zoo's ``driver`` table.
ZOO_UUID_REGEX = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'

#: First ``constructor_id`` of the zoo: close to the int64 maximum (9223372036854775807).
ZOO_BIG_ID = 9_000_000_000_000_000_000


def make_relational_zoo(size: float = 1.0, seed: int = 0) -> tuple[dict[str, pd.DataFrame], object]:
    """Generate a 12-table database with most schema shapes SDV metadata can describe.

    * a chain of depth 6: ``country -> circuit -> race -> result -> pit_stop -> lap_note``;
    * five root tables (``country``, ``driver``, ``constructor``, ``airport``, ``setting``),
      one of them (``setting``) without any relationship or primary key;
    * ``result`` with three parents (race, driver, constructor), ``entry`` with two and only
      keys (PK and FKs, no attributes), ``flight`` with two FKs to the *same* parent
      (``origin`` and ``destination`` airports);
    * a nullable FK (``race.sponsor_id``, about 40% null), a child without a primary key
      (``lap_note``);
    * primary keys that are integers, strings (``airport.code``), UUIDs (``driver``) and
      integers near the int64 limit (``constructor``, so ``race.sponsor_id`` is ``Int64``);
    * parents with no children (some countries, races, results) and one airport that is the
      origin of about 60% of all flights (over 1,500 at ``size=1``);
    * planted cross-table dependencies: ``result.points`` follows ``driver.skill``,
      ``race.laps`` follows ``circuit.length_km``, ``circuit.kind`` follows
      ``country.continent``.

    Args:
        size: row-count multiplier; ``1`` gives about 4,500 rows in all. (default: ``1.0``)
        seed: generator seed; the same seed gives the same database. (default: ``0``)

    Returns:
        ``(tables, metadata)``: a dict of twelve DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    if not size > 0:
        raise ValueError(f'size must be greater than 0, got {size!r}.')
    rng = np.random.default_rng(seed)

    def count(base: int) -> int:
        return max(3, int(round(base * size)))

    # The draw order (one table after another, as below) fixes the database for a seed.
    country, cont, driver, skill, constructor = _zoo_roots(rng, count)
    circuit, race = _zoo_races(rng, count, country, cont, constructor)
    result, pit_stop, lap_note, entry = _zoo_results(rng, race, driver, skill, constructor)
    airport, flight = _zoo_flights(rng, count)
    n_set = count(12)
    setting = pd.DataFrame({
        'key': [f'option_{i % 5}' for i in range(n_set)],
        'value': np.round(rng.normal(0, 1, n_set), 3),
    })

    tables = {
        'country': country, 'circuit': circuit, 'race': race, 'driver': driver,
        'constructor': constructor, 'result': result, 'pit_stop': pit_stop,
        'lap_note': lap_note, 'entry': entry, 'airport': airport, 'flight': flight,
        'setting': setting,
    }
    return tables, Metadata.load_from_dict(_zoo_metadata_dict())


def _zoo_roots(
    rng: np.random.Generator, count: _Count
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, pd.DataFrame]:
    """``country`` (and each country's continent index), ``driver`` (and each driver's
    skill) and ``constructor``."""
    n_country, n_driver, n_cons = count(20), count(40), count(10)
    continents = np.array(['africa', 'america', 'asia', 'europe', 'oceania'])
    cont = rng.choice(len(continents), n_country)
    country = pd.DataFrame({
        'country_id': np.arange(1, n_country + 1),
        'continent': continents[cont],
        'gdp': np.round(rng.lognormal(6, 1, n_country), 1),
        # Beyond int32: a population of several billion.
        'population': pd.array(rng.integers(10**6, 6 * 10**9, n_country), dtype='Int64'),
    })

    skill = rng.normal(0, 1, n_driver)
    driver = pd.DataFrame({
        'driver_id': _uuids(rng, n_driver),
        'nationality': rng.choice(['BR', 'DE', 'ES', 'FR', 'GB', 'IT'], n_driver),
        'dob': (pd.Timestamp('1970-01-01')
                + pd.to_timedelta(rng.integers(0, 30 * 365, n_driver), 'D')).strftime('%Y-%m-%d'),
        'skill': np.round(skill, 3),
    })
    constructor = pd.DataFrame({
        'constructor_id': ZOO_BIG_ID + 7 * np.arange(n_cons, dtype=np.int64),
        'name': [f'team_{i}' for i in range(n_cons)],
        'budget': np.round(rng.lognormal(4, 0.5, n_cons), 2),
    })
    return country, cont, driver, skill, constructor


def _zoo_races(
    rng: np.random.Generator, count: _Count, country: pd.DataFrame, cont: np.ndarray,
    constructor: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``circuit`` and ``race``."""
    n_country, n_cons = len(country), len(constructor)
    # Circuits only in the first 70% of countries: the others have no children.
    n_circ = count(30)
    circ_country = rng.integers(0, max(1, int(0.7 * n_country)), n_circ)
    length = np.round(rng.uniform(3, 7, n_circ), 3)
    kind = np.where(np.isin(cont[circ_country], [1, 3]) ^ (rng.random(n_circ) < 0.15),
                    'permanent', 'street')
    circuit = pd.DataFrame({
        'circuit_id': np.arange(100, 100 + n_circ),
        'country_id': country['country_id'].to_numpy()[circ_country],
        'length_km': length,
        'kind': kind,
    })

    n_race = count(120)
    race_circ = rng.integers(0, n_circ, n_race)
    sponsor = pd.array(constructor['constructor_id'].to_numpy()[rng.integers(0, n_cons, n_race)],
                       dtype='Int64')
    sponsor[rng.random(n_race) < 0.4] = pd.NA
    race = pd.DataFrame({
        'race_id': np.arange(1, n_race + 1),
        'circuit_id': circuit['circuit_id'].to_numpy()[race_circ],
        'sponsor_id': sponsor,
        'date': (pd.Timestamp('2000-03-01')
                 + pd.to_timedelta(rng.integers(0, 20 * 365, n_race), 'D')).strftime('%Y-%m-%d'),
        'laps': pd.array(np.round(305 / length[race_circ]).astype(np.int64), dtype='Int64'),
    })
    return circuit, race


def _zoo_results(
    rng: np.random.Generator, race: pd.DataFrame, driver: pd.DataFrame, skill: np.ndarray,
    constructor: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``result``, ``pit_stop``, ``lap_note`` and ``entry``."""
    n_race, n_driver, n_cons = len(race), len(driver), len(constructor)
    # About 10% of races have no results.
    n_res_per = np.where(rng.random(n_race) < 0.1, 0, rng.poisson(6, n_race))
    res_race = np.repeat(np.arange(n_race), n_res_per)
    n_res = len(res_race)
    res_driver = rng.integers(0, n_driver, n_res)
    position = pd.Series(res_race).groupby(res_race).cumcount().to_numpy() + 1
    result = pd.DataFrame({
        'result_id': np.arange(1, n_res + 1),
        'race_id': race['race_id'].to_numpy()[res_race],
        'driver_id': driver['driver_id'].to_numpy()[res_driver],
        'constructor_id': constructor['constructor_id'].to_numpy()[rng.integers(0, n_cons, n_res)],
        'position': pd.array(position, dtype='Int64'),
        'points': np.round(np.clip(10 + 6 * skill[res_driver] + rng.normal(0, 2, n_res), 0, None), 1),
        'status': rng.choice(['finished', '+1 lap', 'accident', 'engine'], n_res,
                             p=[0.6, 0.25, 0.1, 0.05]),
    })

    pit_res = np.repeat(np.arange(n_res), rng.poisson(1.0, n_res))
    n_pit = len(pit_res)
    duration = np.round(rng.gamma(20, 1.2, n_pit), 3)
    duration[rng.random(n_pit) < 0.05] = np.nan
    pit_stop = pd.DataFrame({
        'pit_id': np.arange(1, n_pit + 1),
        'result_id': result['result_id'].to_numpy()[pit_res],
        'lap': pd.array(rng.integers(1, 60, n_pit), dtype='Int64'),
        'duration': duration,
    })

    note_pit = np.repeat(np.arange(n_pit), rng.poisson(0.5, n_pit))
    lap_note = pd.DataFrame({
        'pit_id': pit_stop['pit_id'].to_numpy()[note_pit],
        'note': rng.choice(['slow', 'unsafe release', 'tyre change', 'wing'], len(note_pit)),
        'flagged': rng.random(len(note_pit)) < 0.2,
    })

    entry_race = np.repeat(np.arange(n_race), rng.poisson(3, n_race))
    entry = pd.DataFrame({
        'entry_id': np.arange(1, len(entry_race) + 1),
        'race_id': race['race_id'].to_numpy()[entry_race],
        'driver_id': driver['driver_id'].to_numpy()[rng.integers(0, n_driver, len(entry_race))],
    })
    return result, pit_stop, lap_note, entry


def _zoo_flights(rng: np.random.Generator, count: _Count) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``airport`` and ``flight``."""
    n_air = count(15)
    codes = rng.choice(26**3, n_air, replace=False)
    letters = np.array(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'))
    code_chars = letters[np.stack([codes // 676, codes // 26 % 26, codes % 26], 1)]
    airport = pd.DataFrame({
        'code': np.ascontiguousarray(code_chars).view('<U3').ravel().astype(object),
        'elevation': pd.array(rng.integers(0, 2500, n_air), dtype='Int64'),
        'international': rng.random(n_air) < 0.4,
    })
    # One hub is the origin of about 60% of the flights.
    n_flight = count(2500)
    origin = np.where(rng.random(n_flight) < 0.6, 0, rng.integers(0, n_air, n_flight))
    dest = (origin + rng.integers(1, n_air, n_flight)) % n_air
    flight = pd.DataFrame({
        'flight_id': np.arange(1, n_flight + 1),
        'origin': airport['code'].to_numpy()[origin],
        'destination': airport['code'].to_numpy()[dest],
        'distance': np.round(rng.lognormal(6.5, 0.6, n_flight), 0),
    })
    return airport, flight


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUID strings, vectorized (no per-row Python)."""
    hexdigits = np.array(list('0123456789abcdef'))
    chars = hexdigits[rng.integers(0, 16, (n, 36))]
    chars[:, [8, 13, 18, 23]] = '-'
    chars[:, 14] = '4'
    chars[:, 19] = np.array(list('89ab'))[rng.integers(0, 4, n)]
    return np.ascontiguousarray(chars).view('<U36').ravel().astype(object)


def _zoo_metadata_dict() -> dict:
    num = integer = {'sdtype': 'numerical'}  # SDV 2.0 infers the integer type from the data
    ident, cat = {'sdtype': 'id'}, {'sdtype': 'categorical'}
    uuid = {'sdtype': 'id', 'regex_format': ZOO_UUID_REGEX}
    day = {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'}

    return {
        'METADATA_SPEC_VERSION': 'V1',
        'tables': {
            'country': {'primary_key': 'country_id', 'columns': {
                'country_id': ident, 'continent': cat, 'gdp': num, 'population': integer}},
            'circuit': {'primary_key': 'circuit_id', 'columns': {
                'circuit_id': ident, 'country_id': ident, 'length_km': num, 'kind': cat}},
            'race': {'primary_key': 'race_id', 'columns': {
                'race_id': ident, 'circuit_id': ident, 'sponsor_id': ident, 'date': day,
                'laps': integer}},
            'driver': {'primary_key': 'driver_id', 'columns': {
                'driver_id': uuid, 'nationality': cat, 'dob': day, 'skill': num}},
            'constructor': {'primary_key': 'constructor_id', 'columns': {
                'constructor_id': ident, 'name': cat, 'budget': num}},
            'result': {'primary_key': 'result_id', 'columns': {
                'result_id': ident, 'race_id': ident, 'driver_id': uuid,
                'constructor_id': ident, 'position': integer, 'points': num, 'status': cat}},
            'pit_stop': {'primary_key': 'pit_id', 'columns': {
                'pit_id': ident, 'result_id': ident, 'lap': integer, 'duration': num}},
            'lap_note': {'columns': {  # no primary key
                'pit_id': ident, 'note': cat, 'flagged': {'sdtype': 'boolean'}}},
            'entry': {'primary_key': 'entry_id', 'columns': {  # keys only
                'entry_id': ident, 'race_id': ident, 'driver_id': uuid}},
            'airport': {'primary_key': 'code', 'columns': {
                'code': {'sdtype': 'id', 'regex_format': '[A-Z]{3}'}, 'elevation': integer,
                'international': {'sdtype': 'boolean'}}},
            'flight': {'primary_key': 'flight_id', 'columns': {
                'flight_id': ident, 'origin': ident, 'destination': ident, 'distance': num}},
            'setting': {'columns': {'key': cat, 'value': num}},  # no PK, no relationships
        },
        'relationships': [
            rel('country', 'country_id', 'circuit', 'country_id'),
            rel('circuit', 'circuit_id', 'race', 'circuit_id'),
            rel('constructor', 'constructor_id', 'race', 'sponsor_id'),
            rel('race', 'race_id', 'result', 'race_id'),
            rel('driver', 'driver_id', 'result', 'driver_id'),
            rel('constructor', 'constructor_id', 'result', 'constructor_id'),
            rel('result', 'result_id', 'pit_stop', 'result_id'),
            rel('pit_stop', 'pit_id', 'lap_note', 'pit_id'),
            rel('race', 'race_id', 'entry', 'race_id'),
            rel('driver', 'driver_id', 'entry', 'driver_id'),
            rel('airport', 'code', 'flight', 'origin'),
            rel('airport', 'code', 'flight', 'destination'),
        ],
    }
