"""Nested tables through the synthesizer: races dealt to circuits by era (``nested_places``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sdv.metadata import Metadata

from grdm_sdv import GRDMSynthesizer

from ..conftest import TINY, assert_integrity, draw_columns


def _eras_database(seed: int = 0):
    """Circuits hosting races of one era; drivers racing in races of their era."""
    rng = np.random.default_rng(seed)
    n_circ, n_race, n_driver = 30, 300, 120
    circ_era = rng.random(n_circ)
    race_circ = rng.integers(0, n_circ, n_race)
    race_era = np.clip(circ_era[race_circ] + 0.05 * rng.normal(size=n_race), 0, 1)
    driver_era = rng.random(n_driver)
    result_race = np.repeat(np.arange(n_race), rng.integers(4, 10, n_race))
    near = np.abs(race_era[result_race][:, None] - driver_era[None, :]) < 0.05
    weight = near + 1e-9
    driver = draw_columns(weight, rng)
    tables = {
        'circuit': pd.DataFrame({'circuit_id': np.arange(n_circ), 'lat': 50 * circ_era + rng.normal(size=n_circ)}),
        'race': pd.DataFrame({'race_id': np.arange(n_race), 'circuit_id': race_circ,
                              'year': np.round(1950 + 70 * race_era)}),
        'driver': pd.DataFrame({'driver_id': np.arange(n_driver),
                                'born': np.round(1925 + 70 * driver_era)}),
        'result': pd.DataFrame({'result_id': np.arange(len(result_race)), 'race_id': result_race,
                                'driver_id': driver, 'points': rng.poisson(3, len(result_race))}),
    }
    return tables, Metadata.detect_from_dataframes(tables)


def _circuit_era_spread(out: dict[str, pd.DataFrame]) -> float:
    race = out['race']
    return float(race.groupby('circuit_id')['year'].std(ddof=0).mean())


def test_races_nested_under_circuits_by_era():
    tables, metadata = _eras_database()
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    assert synth.get_info()['nested_tables'] == ['race among its circuit rows by place']
    nested = synth.sample(scale=1.0)
    assert_integrity(nested, metadata)
    synth.nested_places = False  # read when sampling
    synth.reset_sampling()
    flat = synth.sample(scale=1.0)
    assert_integrity(flat, metadata)
    # Every circuit keeps its number of races; only which races it hosts changes.
    assert sorted(nested['race']['circuit_id'].value_counts()) == \
        sorted(flat['race']['circuit_id'].value_counts())
    assert not nested['race']['circuit_id'].equals(flat['race']['circuit_id'])
    # ... and nested, a circuit's races are closer to one era, as the real ones are
    # (real 3.0, nested 9.7, flat 19.3 years: a 40-step model follows the places loosely)
    assert _circuit_era_spread(nested) < 0.7 * _circuit_era_spread(flat)


def test_no_nested_table_without_places():
    """A database whose child rows pair their parents at random has no co-parent axis, so no
    places and no nested table: sampling is unchanged."""
    tables, metadata = _eras_database()
    rng = np.random.default_rng(1)
    tables['result']['driver_id'] = rng.permutation(tables['result']['driver_id'].to_numpy())
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, 'steps': 5})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    assert synth.get_info()['nested_tables'] == []
    on = synth.sample(scale=1.0)
    synth.nested_places = False
    synth.reset_sampling()
    off = synth.sample(scale=1.0)
    assert all(on[t].equals(off[t]) for t in on)
