"""Guidance scales per column, calibrated on the training data.

One guidance scale strengthens every cross-table dependence alike, but the model does not
miss them alike: on the database ``grdm-sdv demo`` builds, guidance 1.15 makes
``order_item.quantity`` follow ``product.category`` 0.06 too strongly while
``order_item.discount`` follows ``customer.segment`` (two keys up) 0.03 too weakly, in the
same table. Each column's prediction is guided on its own, so each column can have its own
scale at no cost (``GRDMSynthesizer(column_guidance=...)``).

Calibration takes a column's *strong pairs*: the pairs of
:func:`~grdm_sdv.evaluation.k_hop_trends` between it and a column one or two foreign keys
up whose strength in the training data is at least ``min_strength``. Three samples of the
training database's size are scored: two at the low scale (two random streams) and one at
the high scale (the first stream again, so the difference between the scales is not
buried in the draw's noise). Each pair's strength is taken as linear in the scale; the
column's scale is the least-squares one over its pairs, shrunk toward the default by how
noisy it is (the two low draws tell the noise: with 10 parent rows, one draw of a pair's
strength varies by ~0.04), within ``bounds``.

A column's children of one parent also share what no parent column carries (F1: one race's
driver standings rise with the season; one team's laps): each numerical child column is
also paired with its parent's rows, its strength the standard deviation over parents of the
children's mean (:func:`sibling_pairs`), so a column whose per-parent means spread too
little (or too much) is calibrated even without a strong pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The pairs of a :func:`~grdm_sdv.evaluation.k_hop_trends` frame, as calibration reads them.
_KEY = ['path', 'table_a', 'column_a', 'table_b', 'column_b']


def sibling_pairs(siblings: pd.DataFrame) -> pd.DataFrame:
    """:func:`~grdm_sdv.evaluation.sibling_structure`'s spread of children's means over
    parents (in units of the real column's standard deviation), as pairs of a child column
    with its parent's rows (one key up) in the form :func:`calibrated_scales` reads: how much
    one parent's children share, which no parent column need carry."""
    between = siblings[siblings['statistic'] == 'between_std']
    return pd.DataFrame({
        'hop': 1, 'path': between['child'] + '.' + between['foreign_key'],
        'table_a': between['child'], 'column_a': between['column'],
        'table_b': between['parent'], 'column_b': '(parent row)', 'metric': 'between_std',
        'real_strength': between['real'], 'synthetic_strength': between['synthetic'],
    })


def calibrated_scales(low: pd.DataFrame, repeat: pd.DataFrame, high: pd.DataFrame,
                      scales: tuple[float, float], default: float,
                      bounds: tuple[float, float] = (1.0, 1.5), min_strength: float = 0.3,
                      prior_sd: float = 0.15) -> dict[tuple[str, str], float]:
    """``(table, column)`` -> guidance scale, for every column with strong pairs whose strength
    the scale moves.

    Args:
        low, repeat, high: :func:`~grdm_sdv.evaluation.k_hop_trends` of the training data
            against a sample at ``scales[0]``, another at ``scales[0]`` (another random
            stream) and one at ``scales[1]`` (``low``'s stream), each with its
            :func:`sibling_pairs` rows appended if any.
        default: the scale of a column whose pairs say nothing (``guidance_scale``); the
            estimate is shrunk toward it.
        bounds: the smallest and largest scale given.
        min_strength: the real strength from which a pair counts.
        prior_sd: how far from ``default`` a column's scale is expected to be; a column
            whose estimate is noisier than this keeps less of it.
    """
    frames = [f[(f['hop'] >= 1) & (f['real_strength'] >= min_strength)].set_index(_KEY)
              for f in (low, repeat, high)]
    pairs = frames[0][['real_strength']].join(
        [f['synthetic_strength'].rename(n) for f, n in zip(frames, ('a', 'b', 'h'))], how='inner')
    pairs = pairs.dropna()
    if pairs.empty:
        return {}
    pairs['slope'] = (pairs['h'] - pairs['a']) / (scales[1] - scales[0])
    pairs['level'] = (pairs['a'] + pairs['b']) / 2  # at scales[0], two draws
    pairs['noise'] = (pairs['a'] - pairs['b']) ** 2 / 2  # one draw's variance
    out = {}
    for (table, column), p in pairs.groupby(level=['table_a', 'column_a']):
        s2 = float((p['slope'] ** 2).sum())
        if s2 < 1e-6:  # guidance does not move these pairs
            continue
        w = scales[0] + float((p['slope'] * (p['real_strength'] - p['level'])).sum()) / s2
        # Variance of that estimate from the level's noise (the mean of two draws):
        # sum(slope^2) * noise / 2 / s2^2 = noise / 2 / s2.
        var = float(p['noise'].mean()) / 2 / s2
        keep = prior_sd ** 2 / (prior_sd ** 2 + var)
        out[table, column] = float(np.clip(default + keep * (w - default), *bounds))
    return out
