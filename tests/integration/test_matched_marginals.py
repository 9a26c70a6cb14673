"""Matched marginals: numerical columns drawn from their training distribution, in the
model's order, and category tokens revealed to their training shares; never where a sample
is conditioned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats

from grdm_sdv.data.marginals import class_shares, match_marginals, remaining_shares, tilt
from grdm_sdv.diffusion import MixedDiffusion


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


def test_small_column_keeps_its_spread():
    """A column of a few training values (a small parent table's) is decoded by
    interpolating between them; drawn at the training values' own positions its spread is
    the training one, where the plain stratified draw shrinks it (~0.8x for 10 values)."""
    from grdm_sdv.data.encoding import TableEncoder

    rng = np.random.default_rng(0)
    ratios = {True: [], False: []}
    for rep in range(200):
        df = pd.DataFrame({'wealth': rng.lognormal(size=10), 'big': rng.normal(size=10)})
        enc = TableEncoder(categorical=[]).fit(df)
        assert enc.quantile_sizes() == [10, 10]
        x_num, x_cat = enc.transform(df)
        model = torch.from_numpy(x_num) + 0.1 * torch.randn(10, 2)  # the model's order
        observed = enc.observed(torch.from_numpy(x_cat))
        for sized in (True, False):
            out = match_marginals(model, observed, torch.Generator().manual_seed(rep),
                                  enc.quantile_sizes() if sized else None)
            back = enc.inverse(out.numpy(), x_cat)
            ratios[sized] += list(back.std() / df.std())
    # 200 draws of 10 values: about 0.97x against 0.83x.
    assert 0.95 < np.mean(ratios[True]) < 1.03, np.mean(ratios[True])
    assert np.mean(ratios[False]) < 0.88, np.mean(ratios[False])
    # A column of more values than the transform keeps quantiles of is not stretched.
    enc = TableEncoder(categorical=[], max_quantiles=50).fit(pd.DataFrame({'x': rng.normal(size=500)}))
    assert enc.quantile_sizes() == [0]


def _numerical(tables, metadata):
    meta = metadata.to_dict()['tables']
    return [(t, c) for t in meta for c, spec in meta[t]['columns'].items()
            if spec['sdtype'] == 'numerical' and len(tables[t]) >= 100]


def _sampled(synth, setting, variance=None):
    """A sample from the state right after the fit, with ``match_marginals=setting`` (and
    ``sampling_variance=variance`` unless ``None``)."""
    before = synth.match_marginals, synth.sampling_variance
    synth.match_marginals = setting
    synth.sampling_variance = variance or before[1]
    try:
        synth.reset_sampling()
        return synth.sample(scale=1.0)
    finally:
        synth.match_marginals, synth.sampling_variance = before


def test_sampled_columns_follow_training_distribution(fitted, demo):
    tables, metadata = demo
    columns = _numerical(tables, metadata)
    assert columns
    # Numbers only: the categories (and so the denoised rows) are the same both ways; one
    # variance both ways ('auto' would take another for the matched sample).
    matched = _sampled(fitted, 'numerical', 'beta')
    plain = _sampled(fitted, False, 'beta')

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
        assert len(matched[t]) == len(plain[t])
    # The tables whose chain ends first (no parents) have the same denoised rows either way
    # (the others' chains go on against matched parents): matching only re-maps each
    # column monotonically, so sorted by the unmatched values the matched ones never decrease.
    meta = metadata.to_dict()['tables']
    top = [(t, c) for t, level in fitted._schema.levels().items() if level == 0
           for c, spec in meta[t]['columns'].items() if spec['sdtype'] == 'numerical']
    assert top
    for t, c in top:
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


def test_auto_variance_is_the_posterior_only_where_numbers_are_matched(fitted, demo, monkeypatch):
    """``sampling_variance='auto'``: beta~_t for a free matched sample, beta_t wherever
    nothing sets the numbers' spread afterwards (unmatched, conditioned)."""
    import grdm_sdv.synthesizer as module

    tables, _metadata = demo
    used = []

    class Spy(MixedDiffusion):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            used.append(self.variance)

    monkeypatch.setattr(module, 'MixedDiffusion', Spy)
    given = {k: v.copy() for k, v in tables.items()}
    given['customer'].loc[given['customer'].index[::2], 'income'] = np.nan
    assert fitted.sampling_variance == 'auto'  # the default
    runs = {'matched': (True, lambda: fitted.sample(scale=0.2)),
            'numbers matched': ('numerical', lambda: fitted.sample(scale=0.2)),
            'unmatched': (False, lambda: fitted.sample(scale=0.2)),
            'imputed': (True, lambda: fitted.impute(given))}
    seen = {}
    before = fitted.match_marginals
    try:
        for name, (setting, run) in runs.items():
            fitted.match_marginals = setting
            used.clear()
            run()
            seen[name] = set(used)
    finally:
        fitted.match_marginals = before
    assert seen == {'matched': {'posterior'}, 'numbers matched': {'posterior'},
                    'unmatched': {'beta'}, 'imputed': {'beta'}}, seen
    fitted.sampling_variance = 'beta'  # a fixed choice is used as it is
    try:
        used.clear()
        fitted.sample(scale=0.2)
        assert set(used) == {'beta'}
    finally:
        fitted.sampling_variance = 'auto'


def test_tilt_and_remaining_shares():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3000, 4, generator=gen) + torch.tensor([2.0, 0.0, 0.0, -2.0])
    target = torch.tensor([0.1, 0.2, 0.3, 0.4])
    w = tilt(torch.log_softmax(logits, 1), target)
    assert torch.allclose(torch.softmax(logits + w, 1).mean(0), target, atol=1e-4)
    # The rows keep their own preferences: the tilt is one weight per class, not per row.
    assert (torch.softmax(logits + w, 1).argmax(1) == (logits + w).argmax(1)).all()
    x_cat = torch.tensor([[0], [0], [1], [4], [4], [4], [4], [4]])  # 4: the mask token
    shares = class_shares(torch.tensor([[0], [1], [1], [2]]), [4])[0]
    assert torch.allclose(shares, torch.tensor([0.25, 0.5, 0.25, 0.0], dtype=torch.float64))
    # Quotas of 8 rows: 2, 4, 2, 0; revealed: 2, 1, 0, 0; left for the 5 masked: 0, 3, 2, 0.
    left = remaining_shares(x_cat, [4], [shares])[0]
    assert torch.allclose(left, torch.tensor([0.0, 0.6, 0.4, 0.0], dtype=torch.float64))
    assert remaining_shares(torch.tensor([[0], [1]]), [4], [shares]) == [None]


def test_reveal_step_meets_class_shares():
    """A reverse step's revealed tokens take the target shares, not the model's marginal."""
    n, k = 20000, 3
    diffusion = MixedDiffusion()
    logits = (torch.randn(n, k, generator=torch.Generator().manual_seed(0))
              + torch.tensor([1.5, 0.0, -1.5]))
    x_cat = torch.full((n, 1), k)
    x_num = torch.zeros((n, 0))
    target = torch.tensor([0.2, 0.3, 0.5])

    def revealed(targets):
        _, out = diffusion.step(torch.zeros((n, 0)), [logits], 0.5, 0.0, x_num, x_cat, [k],
                                generator=torch.Generator().manual_seed(1), cat_targets=targets)
        return torch.bincount(out[:, 0], minlength=k).double() / n

    plain, tilted = revealed(None), revealed([target])
    assert plain[0] > 0.45  # the model's own marginal leans to class 0 (so this can fail)
    assert torch.allclose(tilted, target.double(), atol=0.015), tilted


def _category_tv(tables, sampled, metadata):
    meta = metadata.to_dict()['tables']
    out = {}
    for t in meta:
        for c, spec in meta[t]['columns'].items():
            if spec['sdtype'] in ('categorical', 'boolean') and len(tables[t]) >= 100:
                p = tables[t][c].astype(str).value_counts(normalize=True)
                q = sampled[t][c].astype(str).value_counts(normalize=True)
                out[(t, c)] = 0.5 * float(p.sub(q, fill_value=0).abs().sum())
    return out


def test_sampled_categories_follow_training_shares(fitted, demo):
    tables, metadata = demo
    matched = _category_tv(tables, _sampled(fitted, True), metadata)
    numbers_only = _category_tv(tables, _sampled(fitted, 'numerical'), metadata)
    assert matched
    # Each column ends within sampling noise of its training shares; the tiny model alone
    # is further off on average (so this can fail).
    assert max(matched.values()) < 0.06, matched
    assert np.mean(list(numbers_only.values())) > 1.5 * np.mean(list(matched.values())), (
        numbers_only, matched)
