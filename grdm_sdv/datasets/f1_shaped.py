"""An F1-shaped database of any size, for speed measurements (``python -m benchmarks.speed``).

Seven tables with the proportions of the F1 database: ``circuit -> race ->
result/standings/qualify``, with ``driver`` and ``constructor`` as second and third parents.
The values are independent draws (no planted dependency): it measures how fit and sample
time grow with the number of rows, not quality.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._metadata import rel


def make_f1_shaped_database(total_rows: int, seed: int = 0) -> tuple[dict[str, pd.DataFrame], object]:
    """Generate an F1-shaped database with about ``total_rows`` rows in all.

    Args:
        total_rows: about how many rows all seven tables hold together.
        seed: generator seed; the same seed gives the same database. (default: ``0``)

    Returns:
        ``(tables, metadata)``: a dict of seven DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    rng = np.random.default_rng(seed)
    # F1 proportions: per race ~25 results, 34 standings, 5.5 qualifying rows; drivers
    # 1.2% and constructors 0.3% of all rows: 65.6 rows per race, so races are 1.5%.
    n_race = max(10, int(total_rows * 0.015))
    n_circ = max(3, n_race // 10)
    n_drv = max(10, int(total_rows * 0.012))
    n_con = max(5, int(total_rows * 0.003))
    race = pd.DataFrame({'race_id': np.arange(n_race), 'circuit_id': rng.integers(0, n_circ, n_race),
                         'year': rng.integers(1950, 2024, n_race), 'round': rng.integers(1, 22, n_race)})
    circuit = pd.DataFrame({'circuit_id': np.arange(n_circ), 'country': rng.choice(list('ABCDEFGH'), n_circ),
                            'lat': rng.normal(30, 20, n_circ)})
    driver = pd.DataFrame({'driver_id': np.arange(n_drv), 'nationality': rng.choice(list('abcdefghij'), n_drv)})
    constructor = pd.DataFrame({'constructor_id': np.arange(n_con), 'nationality': rng.choice(list('abcde'), n_con)})

    def child(name, per_race, parents):
        r = np.repeat(np.arange(n_race), rng.poisson(per_race, n_race))
        df = pd.DataFrame({f'{name}_id': np.arange(len(r)), 'race_id': r})
        for p, n in parents:
            df[f'{p}_id'] = rng.integers(0, n, len(r))
        df['position'] = rng.integers(1, 25, len(r))
        df['points'] = np.round(rng.exponential(3, len(r)), 1)
        return df

    result = child('result', 25, [('driver', n_drv), ('constructor', n_con)])
    result['status'] = rng.choice(['Finished', '+1 Lap', 'Engine', 'Accident'], len(result))
    standings = child('standings', 34, [('driver', n_drv)])
    qualify = child('qualify', 5.5, [('driver', n_drv), ('constructor', n_con)])
    tables = {'circuit': circuit, 'race': race, 'driver': driver, 'constructor': constructor,
              'result': result, 'standings': standings, 'qualify': qualify}
    return tables, Metadata.load_from_dict(_f1_shaped_metadata_dict())


def _f1_shaped_metadata_dict() -> dict:
    idc = {'sdtype': 'id'}
    num = {'sdtype': 'numerical'}
    cat = {'sdtype': 'categorical'}
    meta = {'tables': {
        'circuit': {'primary_key': 'circuit_id', 'columns': {'circuit_id': idc, 'country': cat, 'lat': num}},
        'race': {'primary_key': 'race_id', 'columns': {'race_id': idc, 'circuit_id': idc, 'year': num, 'round': num}},
        'driver': {'primary_key': 'driver_id', 'columns': {'driver_id': idc, 'nationality': cat}},
        'constructor': {'primary_key': 'constructor_id', 'columns': {'constructor_id': idc, 'nationality': cat}},
    }, 'relationships': [rel('circuit', 'circuit_id', 'race', 'circuit_id')]}
    for name, parents in [('result', ['driver', 'constructor']), ('standings', ['driver']),
                          ('qualify', ['driver', 'constructor'])]:
        cols = {f'{name}_id': idc, 'race_id': idc, 'position': num, 'points': num}
        cols.update({f'{p}_id': idc for p in parents})
        if name == 'result':
            cols['status'] = cat
        meta['tables'][name] = {'primary_key': f'{name}_id', 'columns': cols}
        for p in ['race'] + parents:
            meta['relationships'].append(rel(p, f'{p}_id', name, f'{p}_id'))
    return meta
