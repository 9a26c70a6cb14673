"""Child places through the synthesizer: a driver's results share his (hidden) skill."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sdv.metadata import Metadata

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.sharding import read_sharded

from ..conftest import TINY, assert_integrity, draw_columns


def _skills_database(seed: int = 0):
    """Drivers whose results share a skill that no driver column shows."""
    rng = np.random.default_rng(seed)
    n_driver = 120
    skill = rng.normal(size=n_driver)
    per_driver = rng.integers(3, 15, n_driver)
    driver = np.repeat(np.arange(n_driver), per_driver)
    n = len(driver)
    tables = {
        'driver': pd.DataFrame({'driver_id': np.arange(n_driver),
                                'nationality': rng.choice(['GB', 'IT', 'FR', 'DE'], n_driver)}),
        'result': pd.DataFrame({'result_id': np.arange(n), 'driver_id': driver,
                                'position': 10 + 3 * skill[driver] + 2 * rng.normal(size=n),
                                'laps': 50 - 5 * skill[driver] + 4 * rng.normal(size=n)}),
    }
    return tables, Metadata.detect_from_dataframes(tables)


def _shared_share(results: pd.DataFrame) -> float:
    """Share of the variance of ``position`` that lies between drivers (2+ results each)."""
    size = results.groupby('driver_id')['position'].transform('size')
    x = results[size >= 2]
    means = x.groupby('driver_id')['position'].transform('mean')
    return float(((means - x['position'].mean()) ** 2).mean() / x['position'].var(ddof=0))


def test_results_share_their_drivers_skill(tmp_path):
    """With each driver's place among his results as a model input, the generated results
    of one driver agree with one another as the real ones do, on a sampled structure and on
    keys and links given; without it (a one-hop model hears no sibling) they do not."""
    tables, metadata = _skills_database()
    real = _shared_share(tables['result'])
    shares = {}
    for on in (True, False):
        synth = GRDMSynthesizer(metadata, seed=0, child_places=on, **{**TINY, 'steps': 300})
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            synth.fit(tables)
        info = synth.get_info()['child_places']
        assert (len(info), info[:1]) == ((1, info[:1]) if on else (0, []))
        if on:
            assert info[0].startswith('driver among its result rows (first component: ')
        out = synth.sample(scale=1.0)
        assert_integrity(out, metadata)
        shares[on] = _shared_share(out['result'])
        if on:
            # Sharded: every shard takes its rows' places from the whole sample's sources.
            synth.sample_sharded(str(tmp_path), scale=1.0, max_rows_in_memory=500, seed=3)
            sharded = read_sharded(str(tmp_path))
            assert_integrity(sharded, metadata)
            shares['sharded'] = _shared_share(sharded['result'])
            # Keys and links given: each driver takes the place of a real driver with the
            # nearest child counts (in the middle, before 0.2.20, the share fell to 0.11).
            given = synth.sample_from_structure(tables)
            assert given['result']['driver_id'].equals(tables['result']['driver_id'])
            shares['given'] = _shared_share(given['result'])
    assert real > 0.5
    assert shares[False] < 0.5 * real
    assert shares[True] > 0.7 * real
    assert shares['sharded'] > 0.7 * real
    assert shares['given'] > 0.7 * real


def test_no_leaf_child_no_change():
    """A top-level table whose children have children of their own gets no place: the model
    and its samples are those of 0.2.11."""
    rng = np.random.default_rng(0)
    region = np.repeat(np.arange(10), 6)
    customer = np.repeat(np.arange(60), 3)
    tables = {
        'region': pd.DataFrame({'region_id': np.arange(10), 'wealth': rng.normal(size=10)}),
        'customer': pd.DataFrame({'customer_id': np.arange(60), 'region_id': region,
                                  'income': rng.normal(size=60)}),
        'order': pd.DataFrame({'order_id': np.arange(180), 'customer_id': customer,
                               'total': rng.normal(size=180)}),
    }
    metadata = Metadata.detect_from_dataframes(tables)
    out = []
    for on in (True, False):
        synth = GRDMSynthesizer(metadata, seed=0, child_places=on, **{**TINY, 'steps': 10})
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            synth.fit(tables)
        assert synth.get_info()['child_places'] == []
        out.append(synth.sample(scale=1.0))
    for t in tables:
        pd.testing.assert_frame_equal(out[0][t], out[1][t])


def _teams_database(seed: int = 0):
    """Teams and drivers, each with an era and a hidden strength; a team's results go to
    drivers of its era, the strong ones to strong teams, and a result's position shows both."""
    rng = np.random.default_rng(seed)
    n_team, n_driver = 30, 120
    team_era, driver_era = rng.random(n_team), rng.random(n_driver)
    strength, skill = rng.normal(size=n_team), rng.normal(size=n_driver)
    team = np.repeat(np.arange(n_team), rng.integers(15, 40, n_team))
    near = np.abs(team_era[team][:, None] - driver_era[None, :]) < 0.15
    weight = near * np.exp(0.8 * strength[team][:, None] * skill[None, :]) + 1e-12
    driver = draw_columns(weight, rng)
    n = len(team)
    tables = {
        'team': pd.DataFrame({'team_id': np.arange(n_team), 'country': rng.choice(['GB', 'IT'], n_team)}),
        'driver': pd.DataFrame({'driver_id': np.arange(n_driver), 'age': rng.integers(20, 40, n_driver)}),
        'result': pd.DataFrame({'result_id': np.arange(n), 'team_id': team, 'driver_id': driver,
                                'position': 10 - 2 * strength[team] - 2 * skill[driver] + rng.normal(size=n)}),
    }
    return tables, Metadata.detect_from_dataframes(tables)


def test_links_paired_by_child_places():
    """The fit gives the (team, driver) axis both parents' places; sampled with
    ``link_matching='places'`` (the default) every parent keeps its number of children as
    with ``'axis'``, only who pairs with whom changes."""
    tables, metadata = _teams_database()
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, 'steps': 10})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    axes = synth.get_info()['co_parent_axes']
    assert any('within it by child places, correlation' in a for a in axes), axes
    out = {}
    for matching in ('places', 'axis'):
        synth.link_matching = matching
        synth.reset_sampling()
        out[matching] = synth.sample(scale=1.0)
        assert_integrity(out[matching], metadata)
    for fk in ('team_id', 'driver_id'):
        a, b = (out[m]['result'][fk].value_counts().sort_index() for m in ('places', 'axis'))
        assert a.equals(b)
    keys = ['team_id', 'driver_id']
    assert not out['places']['result'][keys].equals(out['axis']['result'][keys])


def test_imputation_reads_parents_places_from_known_children():
    """``impute``: a driver's place is made from his results known, so his missing results
    follow his skill (correlation 0.63 with the true values; 0.12 with the places of real
    drivers with the same child counts, 0.09 in the middle, as before 0.2.20)."""
    tables, metadata = _skills_database()
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, 'steps': 300})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    res = tables['result']
    miss = np.random.default_rng(1).random(len(res)) < 0.5
    data = {'driver': tables['driver'], 'result': res.assign(position=res['position'].where(~miss))}
    out = synth.impute(data)
    assert out['result']['position'][~miss].equals(res['position'][~miss])
    assert np.corrcoef(out['result']['position'][miss], res['position'][miss])[0, 1] > 0.45
