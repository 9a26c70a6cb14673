"""Datasets: load a folder of CSVs + SDV ``metadata.json``, and the built-in demo database.

The demo database is generated in code (no download). It is small, has every column kind
SDV knows how to model, a chain of four tables (region -> customer -> order -> order_item),
a table with two parents (``order_item`` -> ``order`` and ``product``), nulls, and *planted*
dependencies that cross one and two foreign-key hops, so that a model that ignores the graph
scores visibly lower than one that uses it:

* 1 hop:  ``customer.income`` follows ``region.wealth``;
  ``order.channel`` follows ``customer.segment``;
  ``order_item.quantity`` follows ``product.category``.
* 2 hops: ``order_item.discount`` follows ``customer.segment`` (through ``order``);
  ``order.total`` follows ``region.wealth`` (through ``customer``).
* structure: premium customers place more orders.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    'load_csv_folder', 'save_csv_folder', 'make_demo_database', 'DEMO_DEPENDENCIES',
    'association', 'cross_table_association', 'make_relational_zoo',
    'make_planted_database', 'PLANTED_DEPENDENCIES',
]

#: Planted dependencies of the demo database: (hops, (table, column), (table, column)).
DEMO_DEPENDENCIES = [
    (1, ('region', 'wealth'), ('customer', 'income')),
    (1, ('customer', 'segment'), ('order', 'channel')),
    (1, ('product', 'category'), ('order_item', 'quantity')),
    (2, ('customer', 'segment'), ('order_item', 'discount')),
    (2, ('region', 'wealth'), ('order', 'total')),
]


def load_csv_folder(path: str | Path) -> tuple[dict[str, pd.DataFrame], object]:
    """Load ``<table>.csv`` files and ``metadata.json`` from a folder.

    Datetime columns with a ``datetime_format`` in the metadata are left as strings, as SDV
    expects; id columns are read as they are written.

    Args:
        path: folder holding one CSV per table and an SDV ``metadata.json``.

    Returns:
        ``(tables, metadata)``: a dict of DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    folder = Path(path)
    meta_path = folder / 'metadata.json'
    if not meta_path.exists():
        raise FileNotFoundError(f"No 'metadata.json' in {folder}: save one with metadata.save_to_json.")
    metadata = Metadata.load_from_json(str(meta_path))
    tables = {}
    for name in sorted(metadata.tables):
        csv = folder / f'{name}.csv'
        if not csv.exists():
            raise FileNotFoundError(f"Table '{name}' is in the metadata but {csv} does not exist.")
        tables[name] = pd.read_csv(csv, low_memory=False)
    return tables, metadata


def save_csv_folder(tables: dict[str, pd.DataFrame], metadata, path: str | Path) -> Path:
    """Write ``<table>.csv`` per table and ``metadata.json`` into ``path`` (created if needed)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f'{name}.csv', index=False)
    with open(folder / 'metadata.json', 'w') as fh:
        json.dump(metadata.to_dict(), fh, indent=2)
    return folder


def _demo_metadata_dict() -> dict:
    num = {'sdtype': 'numerical'}
    return {
        'METADATA_SPEC_VERSION': 'V1',
        'tables': {
            'region': {
                'primary_key': 'region_id',
                'columns': {
                    'region_id': {'sdtype': 'id'},
                    'climate': {'sdtype': 'categorical'},
                    'wealth': {**num, 'computer_representation': 'Float'},
                },
            },
            'customer': {
                'primary_key': 'customer_id',
                'columns': {
                    'customer_id': {'sdtype': 'id', 'regex_format': 'C[0-9]{6}'},
                    'region_id': {'sdtype': 'id'},
                    'segment': {'sdtype': 'categorical'},
                    'age': {**num, 'computer_representation': 'Int64'},
                    'income': {**num, 'computer_representation': 'Float'},
                    'signup_date': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
                    'is_member': {'sdtype': 'boolean'},
                },
            },
            'product': {
                'primary_key': 'product_id',
                'columns': {
                    'product_id': {'sdtype': 'id'},
                    'category': {'sdtype': 'categorical'},
                    'price': {**num, 'computer_representation': 'Float'},
                },
            },
            'order': {
                'primary_key': 'order_id',
                'columns': {
                    'order_id': {'sdtype': 'id'},
                    'customer_id': {'sdtype': 'id', 'regex_format': 'C[0-9]{6}'},
                    'channel': {'sdtype': 'categorical'},
                    'total': {**num, 'computer_representation': 'Float'},
                    'order_date': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
                },
            },
            'order_item': {
                'primary_key': 'item_id',
                'columns': {
                    'item_id': {'sdtype': 'id'},
                    'order_id': {'sdtype': 'id'},
                    'product_id': {'sdtype': 'id'},
                    'quantity': {**num, 'computer_representation': 'Int64'},
                    'discount': {**num, 'computer_representation': 'Float'},
                    'gift_wrap': {'sdtype': 'boolean'},
                },
            },
        },
        'relationships': [
            {'parent_table_name': 'region', 'parent_primary_key': 'region_id',
             'child_table_name': 'customer', 'child_foreign_key': 'region_id'},
            {'parent_table_name': 'customer', 'parent_primary_key': 'customer_id',
             'child_table_name': 'order', 'child_foreign_key': 'customer_id'},
            {'parent_table_name': 'order', 'parent_primary_key': 'order_id',
             'child_table_name': 'order_item', 'child_foreign_key': 'order_id'},
            {'parent_table_name': 'product', 'parent_primary_key': 'product_id',
             'child_table_name': 'order_item', 'child_foreign_key': 'product_id'},
        ],
    }


def make_demo_database(
    n_customers: int = 600, seed: int = 0
) -> tuple[dict[str, pd.DataFrame], object]:
    """Generate the demo database (see the module docstring for its planted dependencies).

    Args:
        n_customers: number of customers; the other tables scale with it
            (about 3 orders per customer and 2.5 items per order). (default: ``600``)
        seed: seed of the generator; the same seed gives the same database. (default: ``0``)

    Returns:
        ``(tables, metadata)``: a dict of five DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    if n_customers < 10:
        raise ValueError(f'n_customers must be at least 10, got {n_customers}.')
    rng = np.random.default_rng(seed)

    n_regions = max(4, n_customers // 60)
    region = pd.DataFrame({
        'region_id': np.arange(n_regions),
        'climate': rng.choice(['arid', 'temperate', 'tropical'], n_regions),
        'wealth': np.round(rng.normal(0, 1, n_regions), 3),
    })

    n_products = max(10, n_customers // 12)
    categories = np.array(['books', 'electronics', 'garden', 'toys'])
    product_cat = rng.choice(categories, n_products, p=[0.35, 0.2, 0.25, 0.2])
    base_price = {'books': 15, 'electronics': 300, 'garden': 40, 'toys': 25}
    product = pd.DataFrame({
        'product_id': np.arange(1000, 1000 + n_products),
        'category': product_cat,
        'price': np.round(
            np.array([base_price[c] for c in product_cat]) * rng.lognormal(0, 0.3, n_products), 2
        ),
    })

    cust_region = rng.integers(0, n_regions, n_customers)
    wealth = region['wealth'].to_numpy()[cust_region]
    # 1 hop: segment leans premium in wealthy regions; income follows region wealth.
    p_premium = 1 / (1 + np.exp(-(1.5 * wealth - 0.5)))
    segment = np.where(rng.random(n_customers) < p_premium, 'premium', 'standard')
    segment = np.where(rng.random(n_customers) < 0.15, 'business', segment)
    income = np.round(np.exp(10.5 + 0.45 * wealth + rng.normal(0, 0.25, n_customers)), 0)
    age = np.clip(np.round(rng.normal(42, 12, n_customers)), 18, 90).astype(int)
    signup = pd.Timestamp('2018-01-01') + pd.to_timedelta(rng.integers(0, 5 * 365, n_customers), 'D')
    is_member = pd.Series(rng.random(n_customers) < np.where(segment == 'premium', 0.8, 0.3), dtype=object)
    is_member[rng.random(n_customers) < 0.1] = np.nan  # some nulls
    customer = pd.DataFrame({
        'customer_id': [f'C{i:06d}' for i in rng.permutation(n_customers)],
        'region_id': cust_region,
        'segment': segment,
        'age': age,
        'income': income,
        'signup_date': signup.strftime('%Y-%m-%d'),
        'is_member': is_member,
    })
    customer.loc[rng.random(n_customers) < 0.05, 'age'] = np.nan
    customer['age'] = customer['age'].astype('Int64')

    # Structure: premium customers order more; some customers never order.
    lam = np.where(segment == 'premium', 4.5, np.where(segment == 'business', 3.0, 1.8))
    n_orders = rng.poisson(lam)
    order_cust = np.repeat(np.arange(n_customers), n_orders)
    n_ord = len(order_cust)
    seg_o = segment[order_cust]
    # 1 hop: channel follows the customer's segment.
    p_online = np.where(seg_o == 'premium', 0.8, np.where(seg_o == 'business', 0.15, 0.45))
    u = rng.random(n_ord)
    channel = np.where(u < p_online, 'online', np.where(u < p_online + 0.5 * (1 - p_online), 'store', 'phone'))
    # 2 hops: order total follows the region's wealth.
    total = np.round(np.exp(4 + 0.6 * wealth[order_cust] + rng.normal(0, 0.35, n_ord)), 2)
    signup_o = signup.to_numpy()[order_cust]
    order_date = pd.to_datetime(signup_o) + pd.to_timedelta(rng.integers(0, 700, n_ord), 'D')
    order = pd.DataFrame({
        'order_id': np.arange(n_ord) + 1,
        'customer_id': customer['customer_id'].to_numpy()[order_cust],
        'channel': channel,
        'total': total,
        'order_date': order_date.strftime('%Y-%m-%d'),
    })

    n_items = 1 + rng.poisson(1.5, n_ord)
    item_order = np.repeat(np.arange(n_ord), n_items)
    n_it = len(item_order)
    # Popular products are picked more often (skewed parent degrees).
    pop = rng.pareto(1.5, n_products) + 0.1
    item_prod = rng.choice(n_products, n_it, p=pop / pop.sum())
    cat_i = product_cat[item_prod]
    # 1 hop: quantity depends on the product's category.
    q_lam = np.select([cat_i == 'books', cat_i == 'toys', cat_i == 'garden'], [2.5, 1.8, 3.5], 0.2)
    quantity = 1 + rng.poisson(q_lam)
    # 2 hops: discount depends on the customer's segment (item -> order -> customer).
    seg_i = seg_o[item_order]
    disc_mu = np.where(seg_i == 'business', 0.25, np.where(seg_i == 'premium', 0.12, 0.03))
    discount = np.clip(np.round(disc_mu + rng.normal(0, 0.03, n_it), 3), 0, 0.6)
    discount[rng.random(n_it) < 0.08] = np.nan
    gift = rng.random(n_it) < np.where(cat_i == 'toys', 0.6, 0.1)
    order_item = pd.DataFrame({
        'item_id': np.arange(n_it) + 1,
        'order_id': order['order_id'].to_numpy()[item_order],
        'product_id': product['product_id'].to_numpy()[item_prod],
        'quantity': quantity,
        'discount': discount,
        'gift_wrap': gift,
    })

    tables = {
        'region': region, 'customer': customer, 'product': product,
        'order': order, 'order_item': order_item,
    }
    metadata = Metadata.load_from_dict(_demo_metadata_dict())
    return tables, metadata


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUID strings, vectorized (no per-row Python)."""
    hexdigits = np.array(list('0123456789abcdef'))
    chars = hexdigits[rng.integers(0, 16, (n, 36))]
    chars[:, [8, 13, 18, 23]] = '-'
    chars[:, 14] = '4'
    chars[:, 19] = np.array(list('89ab'))[rng.integers(0, 4, n)]
    return np.ascontiguousarray(chars).view('<U36').ravel().astype(object)


def _rel(parent: str, pk: str, child: str, fk: str) -> dict:
    """One SDV relationship entry."""
    return {'parent_table_name': parent, 'parent_primary_key': pk,
            'child_table_name': child, 'child_foreign_key': fk}


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
            _rel('country', 'country_id', 'circuit', 'country_id'),
            _rel('circuit', 'circuit_id', 'race', 'circuit_id'),
            _rel('constructor', 'constructor_id', 'race', 'sponsor_id'),
            _rel('race', 'race_id', 'result', 'race_id'),
            _rel('driver', 'driver_id', 'result', 'driver_id'),
            _rel('constructor', 'constructor_id', 'result', 'constructor_id'),
            _rel('result', 'result_id', 'pit_stop', 'result_id'),
            _rel('pit_stop', 'pit_id', 'lap_note', 'pit_id'),
            _rel('race', 'race_id', 'entry', 'race_id'),
            _rel('driver', 'driver_id', 'entry', 'driver_id'),
            _rel('airport', 'code', 'flight', 'origin'),
            _rel('airport', 'code', 'flight', 'destination'),
        ],
    }


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

    n_country, n_driver, n_cons, n_air = count(20), count(40), count(10), count(15)
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


#: Planted dependencies of :func:`make_planted_database`: (hops, ancestor, descendant).
PLANTED_DEPENDENCIES = [
    (1, ('region', 'wealth'), ('customer', 'income')),
    (1, ('region', 'zone'), ('customer', 'tier')),
    (1, ('customer', 'income'), ('purchase', 'amount')),
    (1, ('product', 'quality'), ('purchase', 'amount')),
    (1, ('customer', 'tier'), ('purchase', 'channel')),
    (2, ('region', 'wealth'), ('purchase', 'amount')),
]


def _planted_metadata_dict() -> dict:
    num, ident, cat = {'sdtype': 'numerical'}, {'sdtype': 'id'}, {'sdtype': 'categorical'}

    return {
        'METADATA_SPEC_VERSION': 'V1',
        'tables': {
            'region': {'primary_key': 'region_id', 'columns': {
                'region_id': ident, 'wealth': num, 'zone': cat}},
            'customer': {'primary_key': 'customer_id', 'columns': {
                'customer_id': ident, 'region_id': ident, 'income': num, 'visits': num,
                'tier': cat}},
            'product': {'primary_key': 'product_id', 'columns': {
                'product_id': ident, 'quality': num, 'kind': cat}},
            'purchase': {'primary_key': 'purchase_id', 'columns': {
                'purchase_id': ident, 'customer_id': ident, 'product_id': ident,
                'amount': num, 'channel': cat}},
        },
        'relationships': [
            _rel('region', 'region_id', 'customer', 'region_id'),
            _rel('customer', 'customer_id', 'purchase', 'customer_id'),
            _rel('product', 'product_id', 'purchase', 'product_id'),
        ],
    }


def make_planted_database(
    n_regions: int = 60, customers_per_region: float = 20.0, seed: int = 0
) -> tuple[dict[str, pd.DataFrame], object]:
    """A small database whose cross-table dependencies are known by construction.

    Made to diagnose a relational model (``benchmarks/planted.py``):

    * ``region`` (the hub parent): ``wealth`` ~ N(0, 1), ``zone`` uniform over 4 zones;
    * ``customer`` (Poisson(``customers_per_region``) children per region):
      ``income = 0.8 wealth + 0.6 noise`` (correlation 0.8), ``tier`` equal to the zone's own
      tier with probability 0.7, else uniform, and ``visits = u + noise`` where ``u`` is a
      per-region effect that no region column shows: siblings share it, so the children of
      one region move together (half the variance of ``visits`` lies between regions);
    * ``product`` (a root): ``quality`` ~ N(0, 1), ``kind`` over 3 kinds;
    * ``purchase``, a link table with two parents (customer, product; Poisson(3) per
      customer): ``amount = 0.6 income + 0.5 quality + 0.5 noise`` (so region wealth reaches
      it over two hops), ``channel`` depends on the customer's tier.

    See :data:`PLANTED_DEPENDENCIES`.
    """
    from sdv.metadata import Metadata

    if n_regions < 4:
        raise ValueError(f'n_regions must be at least 4, got {n_regions}.')
    rng = np.random.default_rng(seed)
    zones, tiers = np.array(['north', 'south', 'east', 'west']), np.array(['gold', 'silver', 'bronze'])
    wealth = rng.normal(0, 1, n_regions)
    zone = rng.integers(0, 4, n_regions)
    region = pd.DataFrame({'region_id': np.arange(n_regions), 'wealth': np.round(wealth, 4),
                           'zone': zones[zone]})
    effect = rng.normal(0, 1, n_regions)  # latent: shared by siblings, in no region column

    n_cust = rng.poisson(customers_per_region, n_regions)
    cr = np.repeat(np.arange(n_regions), n_cust)
    m = len(cr)
    income = 0.8 * wealth[cr] + 0.6 * rng.normal(0, 1, m)
    zone_tier = np.array([0, 1, 2, 0])[zone[cr]]
    tier = np.where(rng.random(m) < 0.7, zone_tier, rng.integers(0, 3, m))
    customer = pd.DataFrame({
        'customer_id': np.arange(m) + 1000, 'region_id': cr,
        'income': np.round(income, 4), 'visits': np.round(effect[cr] + rng.normal(0, 1, m), 4),
        'tier': tiers[tier],
    })

    n_prod = max(10, n_regions * 2)
    quality = rng.normal(0, 1, n_prod)
    product = pd.DataFrame({'product_id': np.arange(n_prod) + 50_000, 'quality': np.round(quality, 4),
                            'kind': rng.choice(['basic', 'plus', 'pro'], n_prod)})

    n_pur = rng.poisson(3.0, m)
    pc = np.repeat(np.arange(m), n_pur)
    pp = rng.integers(0, n_prod, len(pc))
    amount = 0.6 * income[pc] + 0.5 * quality[pp] + 0.5 * rng.normal(0, 1, len(pc))
    p_online = np.array([0.85, 0.5, 0.15])[tier[pc]]
    channel = np.where(rng.random(len(pc)) < p_online, 'online', 'store')
    purchase = pd.DataFrame({
        'purchase_id': np.arange(len(pc)), 'customer_id': customer['customer_id'].to_numpy()[pc],
        'product_id': product['product_id'].to_numpy()[pp], 'amount': np.round(amount, 4),
        'channel': channel,
    })
    tables = {'region': region, 'customer': customer, 'product': product, 'purchase': purchase}
    return tables, Metadata.load_from_dict(_planted_metadata_dict())


def association(x: pd.Series, y: pd.Series) -> float:
    """Deprecated: :func:`grdm_sdv.evaluation.pair_strength` is the library's one measure.

    Kept for 0.2.1 callers: ``|Pearson r|`` for two numeric columns, else Cramér's V with
    numbers in 10 quantile bins (0.2.1 measured Spearman and eta here). Rows with a null
    in either are dropped.
    """
    from .evaluation import pair_strength

    warnings.warn('datasets.association is deprecated: use grdm_sdv.evaluation.pair_strength '
                  '(or cross_table_dependence).', DeprecationWarning, stacklevel=2)
    ok = x.notna().to_numpy() & y.notna().to_numpy()
    kinds, values = [], []
    for col in (x[ok], y[ok]):
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        kinds.append('numeric' if numeric else 'categorical')
        values.append(col.to_numpy(dtype=float) if numeric
                      else pd.factorize(col.astype(str))[0].astype(float))
    if len(values[0]) < 3:
        return float('nan')
    return pair_strength(kinds[0], kinds[1], values[0], values[1])


def cross_table_association(
    tables: dict[str, pd.DataFrame], metadata, ancestor: tuple[str, str], descendant: tuple[str, str]
) -> float:
    """Deprecated alias of :func:`grdm_sdv.evaluation.cross_table_dependence`."""
    from .evaluation import cross_table_dependence

    warnings.warn('datasets.cross_table_association is deprecated: use '
                  'grdm_sdv.evaluation.cross_table_dependence.', DeprecationWarning, stacklevel=2)
    return cross_table_dependence(tables, metadata, ancestor, descendant)
