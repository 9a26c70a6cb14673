"""Co-parent axes through the synthesizer: a result's driver comes from the races' era."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.coparents import fit_axis
from grdm_sdv.sharding import read_sharded

from ..conftest import TINY, assert_integrity, draw_columns


def _eras_database(seed: int = 0):
    """Races over 60 years, drivers with a career of a few years who race only then."""
    rng = np.random.default_rng(seed)
    n_race, n_driver = 240, 90
    year = rng.integers(1950, 2010, n_race)
    start = rng.integers(1948, 2008, n_driver)
    per_race = rng.integers(4, 10, n_race)
    result_race = np.repeat(np.arange(n_race), per_race)
    active = np.abs(year[result_race][:, None] - (start[None, :] + 2)) <= 3
    weight = active + 1e-9
    driver = draw_columns(weight, rng)
    tables = {
        'race': pd.DataFrame({'race_id': np.arange(n_race), 'year': year}),
        'driver': pd.DataFrame({'driver_id': np.arange(n_driver),
                                'nationality': rng.choice(['GB', 'IT', 'FR', 'DE'], n_driver)}),
        'result': pd.DataFrame({'result_id': np.arange(len(result_race)), 'race_id': result_race,
                                'driver_id': driver, 'points': rng.integers(0, 10, len(result_race))}),
    }
    metadata = Metadata.detect_from_dataframes(tables)
    return tables, metadata


def _held_out_correlation(result: pd.DataFrame, races: pd.DataFrame, drivers: pd.DataFrame) -> float:
    race = pd.Index(races['race_id']).get_indexer(result['race_id'])
    driver = pd.Index(drivers['driver_id']).get_indexer(result['driver_id'])
    axis = fit_axis('race', race, driver, len(races), len(drivers))
    return 0.0 if axis is None else axis.rho


def test_drivers_keep_their_era_and_random_matching_loses_it():
    tables, metadata = _eras_database()
    real = _held_out_correlation(tables['result'], tables['race'], tables['driver'])
    assert real > 0.8
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, 'steps': 10})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    axes = synth.get_info()['co_parent_axes']
    assert len(axes) == 1 and axes[0].startswith(('result.driver_id along result.race_id',
                                                  'result.race_id along result.driver_id'))
    kept = synth.sample(scale=1.0)
    assert_integrity(kept, metadata)
    assert _held_out_correlation(kept['result'], kept['race'], kept['driver']) > real - 0.1
    synth.link_matching = 'random'
    shuffled = synth.sample(scale=1.0)
    assert _held_out_correlation(shuffled['result'], shuffled['race'], shuffled['driver']) < 0.3
    # Every driver and race keeps its number of results either way.
    for key in ('race_id', 'driver_id'):
        assert sorted(kept['result'][key].value_counts()) == sorted(shuffled['result'][key].value_counts())
    # Read when sampling, so checked then too, by name.
    synth.link_matching = 'sorted'
    with pytest.raises(SynthesizerInputError, match="'link_matching'='sorted'"):
        synth.sample(scale=1.0)


def _career_spread(db: dict[str, pd.DataFrame]) -> float:
    """Mean over drivers of the standard deviation of the years of their races."""
    rows = db['result'].merge(db['race'][['race_id', 'year']], on='race_id')
    return float(rows.groupby('driver_id')['year'].std().mean())


def test_race_years_follow_the_places_on_the_axis(tmp_path):
    """Given each race's place on the axis (``axis_positions``), the model generates years
    that agree with the drivers the structure gave the race; without it the years fall
    anywhere (no other column carries the era)."""
    tables, metadata = _eras_database()
    spread = {}
    for on in (True, False):
        synth = GRDMSynthesizer(metadata, seed=0, axis_positions=on, **{**TINY, 'steps': 300})
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            synth.fit(tables)
        assert synth.get_info()['axis_positions'] == ({'race': 1, 'driver': 1} if on else {})
        spread[on] = _career_spread(synth.sample(scale=1.0))
        if on:
            # Sharded: each shard takes its rows' places from the whole sample's.
            synth.sample_sharded(str(tmp_path), scale=1.0, max_rows_in_memory=400, seed=3)
            sharded = read_sharded(str(tmp_path))
            assert_integrity(sharded, metadata)
            spread['sharded'] = _career_spread(sharded)
            # Keys and links given, not sampled (the training data's): the axes refitted on
            # them give the real places, and the years follow the real careers.
            again = synth.sample_from_structure(tables)
            assert again['result'][['race_id', 'driver_id']].equals(tables['result'][['race_id', 'driver_id']])
            spread['given'] = _career_spread(again)
    real, overall = _career_spread(tables), float(tables['race']['year'].std())
    assert real < 0.2 * overall
    assert spread[False] > 0.6 * overall
    assert spread[True] < 0.7 * spread[False]
    assert spread['sharded'] < 0.7 * spread[False]
    assert spread['given'] < 0.7 * spread[False]


def test_no_axis_no_change():
    """Links with no co-parent axis: the model and its samples are those of 0.2.7."""
    tables, metadata = _eras_database()
    tables['result']['driver_id'] = np.random.default_rng(1).permutation(tables['result']['driver_id'])
    out = []
    for on in (True, False):
        synth = GRDMSynthesizer(metadata, seed=0, axis_positions=on, **{**TINY, 'steps': 10})
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            synth.fit(tables)
        assert synth.get_info()['co_parent_axes'] == [] and synth.get_info()['axis_positions'] == {}
        out.append(synth.sample(scale=1.0))
    for t in tables:
        pd.testing.assert_frame_equal(out[0][t], out[1][t])
