"""Matched marginals: numerical columns drawn from their training distribution, in the
model's order; never where a sample is conditioned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats

from grdm_sdv.data.marginals import match_marginals


def test_match_marginals_keeps_order_and_unobserved_cells():
    gen = torch.Generator().manual_seed(0)
    x = 0.3 * torch.randn(2000, 2, generator=gen) + 0.5  # shrunk and shifted
    x[:200, 1] = 0.25  # a block of ties
    observed = torch.ones_like(x, dtype=torch.bool)
    observed[-100:, 0] = False  # generated as null: left alone
    out = match_marginals(x, observed, torch.Generator().manual_seed(1))
    kept = observed[:, 0]
    assert torch.equal(out[~kept, 0], x[~kept, 0])
    for j in range(2):
        z = out[observed[:, j], j].numpy()
        # A stratified draw from N(0, 1): its mean and spread, and the normal's shape.
        assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
        assert stats.kstest(z, 'norm').statistic < 0.01
        # The generated order is kept (ties at random, so only among distinct values).
        assert stats.spearmanr(x[observed[:, j], j].numpy(), z).statistic > 0.99
    # Ties are ordered at random, not by row.
    assert stats.spearmanr(np.arange(200), out[:200, 1].numpy()).statistic < 0.3
    again = match_marginals(x, observed, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)


def _numerical(tables, metadata):
    meta = metadata.to_dict()['tables']
    return [(t, c) for t in meta for c, spec in meta[t]['columns'].items()
            if spec['sdtype'] == 'numerical' and len(tables[t]) >= 100]


def test_sampled_columns_follow_training_distribution(fitted, demo):
    tables, metadata = demo
    columns = _numerical(tables, metadata)
    assert columns
    fitted.reset_sampling()
    matched = fitted.sample(scale=1.0)
    fitted.match_marginals = False
    try:
        fitted.reset_sampling()
        plain = fitted.sample(scale=1.0)
    finally:
        fitted.match_marginals = True

    def ks(out, t, c):
        return stats.ks_2samp(tables[t][c].dropna(), out[t][c].dropna()).statistic

    matched_ks = [ks(matched, t, c) for t, c in columns]
    plain_ks = [ks(plain, t, c) for t, c in columns]
    # The tiny model alone is off in shape (so this can fail); matched, every column is close.
    assert max(matched_ks) < 0.1, dict(zip(columns, matched_ks))
    assert np.mean(plain_ks) > 1.5 * np.mean(matched_ks), (plain_ks, matched_ks)
    for t, c in columns:
        std_ratio = matched[t][c].std() / tables[t][c].std()
        assert 0.85 < std_ratio < 1.15, (t, c, std_ratio)
        # Same state, same denoised rows: matching only re-maps each column monotonically,
        # so sorted by the unmatched values the matched ones never decrease.
        assert len(matched[t]) == len(plain[t])
        both = pd.DataFrame({'plain': plain[t][c].to_numpy(float),
                             'matched': matched[t][c].to_numpy(float)}).dropna()
        ordered = both.sort_values(['plain', 'matched'])['matched'].to_numpy()
        assert (np.diff(ordered) >= 0).all(), (t, c)


def test_not_applied_where_conditioned(fitted, demo):
    tables, _metadata = demo
    given = {k: v.copy() for k, v in tables.items()}
    given['customer'].loc[given['customer'].index[::2], 'income'] = np.nan

    def impute():
        fitted.reset_sampling()
        return fitted.impute(given)

    with_matching = impute()
    fitted.match_marginals = False
    try:
        without = impute()
    finally:
        fitted.match_marginals = True
    for t in tables:
        pd.testing.assert_frame_equal(with_matching[t], without[t])
