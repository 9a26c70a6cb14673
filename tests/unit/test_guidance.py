"""Calibrated guidance scales (grdm_sdv.guidance) on k-hop frames whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grdm_sdv.datasets import make_planted_database
from grdm_sdv.evaluation import sibling_structure
from grdm_sdv.guidance import calibrated_scales, sibling_pairs


def _trends(strengths: dict[tuple[str, str, str], float], real: dict) -> pd.DataFrame:
    rows = [{'hop': 1, 'path': f'{ta}->{tb}', 'table_a': ta, 'column_a': ca, 'table_b': tb,
             'column_b': 'x', 'metric': 'pearson', 'real_strength': real[ta, ca, tb],
             'score': 1.0, 'synthetic_strength': s} for (ta, ca, tb), s in strengths.items()]
    return pd.DataFrame(rows)


def _line(w: float, at_one: float, slope: float) -> float:
    return at_one + slope * (w - 1.0)


def test_each_column_gets_the_scale_its_pairs_need():
    """Strengths linear in the scale: a column whose pairs reach their real strength at 1.2
    gets 1.2, one already right at 1 gets 1, one that would need 2 gets the upper bound,
    one whose pairs guidance does not move gets nothing (it keeps ``guidance_scale``)."""
    real = {('c', 'a', 'p'): 0.60, ('c', 'a', 'q'): 0.50, ('c', 'b', 'p'): 0.40,
            ('d', 'e', 'p'): 0.70, ('d', 'f', 'p'): 0.30}
    # pair -> (strength at scale 1, change per unit of scale)
    lines = {('c', 'a', 'p'): (0.56, 0.2), ('c', 'a', 'q'): (0.44, 0.3),  # both right at 1.2
             ('c', 'b', 'p'): (0.40, 0.2),                               # right at 1
             ('d', 'e', 'p'): (0.50, 0.2),                               # right at 2
             ('d', 'f', 'p'): (0.20, 0.0)}                               # not moved
    frames = [_trends({k: _line(w, *v) for k, v in lines.items()}, real) for w in (1.0, 1.0, 1.3)]
    scales = calibrated_scales(*frames, scales=(1.0, 1.3), default=1.15)
    assert scales == pytest.approx({('c', 'a'): 1.2, ('c', 'b'): 1.0, ('d', 'e'): 1.5})


def test_a_noisy_estimate_is_shrunk_toward_the_default():
    """When the two draws at the low scale disagree by much more than the scale moves the
    pair, the estimate is pulled most of the way back to ``guidance_scale``; weak pairs are
    left out."""
    real = {('c', 'a', 'p'): 0.60, ('c', 'g', 'p'): 0.10}
    low = _trends({('c', 'a', 'p'): 0.50, ('c', 'g', 'p'): 0.0}, real)
    repeat = _trends({('c', 'a', 'p'): 0.62, ('c', 'g', 'p'): 0.0}, real)
    high = _trends({('c', 'a', 'p'): 0.53, ('c', 'g', 'p'): 0.3}, real)
    noisy = calibrated_scales(low, repeat, high, scales=(1.0, 1.3), default=1.15)
    exact = calibrated_scales(low, low, high, scales=(1.0, 1.3), default=1.15)
    assert set(noisy) == {('c', 'a')}  # 'c.g' is weaker than 0.3 in the real data
    assert exact['c', 'a'] == pytest.approx(1.5)  # (0.6 - 0.5) / 0.1 = 1 above 1, clipped
    assert 1.15 < noisy['c', 'a'] < 1.25, noisy


def test_nothing_to_calibrate():
    empty = pd.DataFrame(columns=['hop', 'path', 'table_a', 'column_a', 'table_b', 'column_b',
                                  'metric', 'real_strength', 'score', 'synthetic_strength'])
    assert calibrated_scales(empty, empty, empty, scales=(1.0, 1.3), default=1.15) == {}


def test_sibling_pairs_carry_an_effect_siblings_share():
    """The planted ``visits`` share a per-region effect no region column shows; shuffled
    over customers they lose it: as sibling pairs, the real strength is well above the
    shuffled one, and a column with only that pair is calibrated toward more guidance."""
    real, metadata = make_planted_database(n_regions=30, seed=0)
    rng = np.random.default_rng(0)
    shuffled = {t: df.copy() for t, df in real.items()}
    shuffled['customer']['visits'] = rng.permutation(real['customer']['visits'].to_numpy())
    pairs = sibling_pairs(sibling_structure(real, shuffled, metadata))
    visits = pairs[(pairs.table_a == 'customer') & (pairs.column_a == 'visits')].iloc[0]
    assert visits.table_b == 'region' and visits.hop == 1
    assert visits.real_strength > 0.5 and visits.synthetic_strength < 0.35, visits
    # The same pair as calibration reads it: half the gap closed per 0.3 of scale.
    low = pairs.assign(synthetic_strength=np.where(pairs.column_a == 'visits',
                                                   visits.synthetic_strength, pairs.real_strength))
    gap = visits.real_strength - visits.synthetic_strength
    high = low.assign(synthetic_strength=low.synthetic_strength + (low.column_a == 'visits') * gap / 2)
    scales = calibrated_scales(low, low, high, scales=(1.0, 1.3), default=1.15, bounds=(1.0, 2.0))
    assert scales[('customer', 'visits')] == pytest.approx(1.6)
