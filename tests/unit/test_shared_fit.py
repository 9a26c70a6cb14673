"""benchmarks._fits.SharedFit: sampling-only variants reuse one fit; set critics are added once."""

import pandas as pd

from benchmarks._fits import SharedFit
from grdm_sdv.datasets.planted import make_planted_database


def test_set_guidance_variant_adds_critics_to_the_shared_fit_once():
    tables, metadata = make_planted_database(n_regions=6, seed=5)
    fits = SharedFit()
    base = dict(seed=0, steps=3, hidden_dim=16, sampling_steps=2, verbose=False)
    synth, plain, fit_s, _ = fits.sample(metadata, tables, base)
    assert not synth.get_info()['set_critic_accuracy']  # no critics for the defaults
    same, guided, guided_fit_s, _ = fits.sample(metadata, tables, {**base, 'set_guidance': 3.0})
    assert same is synth and synth.set_guidance == 3.0  # the same fit, not a refit
    accuracy = synth.get_info()['set_critic_accuracy']
    assert set(accuracy) == {'region', 'customer', 'product'}
    assert guided_fit_s > fit_s  # the critics' seconds count for the guided variant
    _, again, again_fit_s, _ = fits.sample(metadata, tables, base)
    assert synth.set_guidance == 0.0 and again_fit_s == fit_s
    for t in plain:  # back at set_guidance=0 the fit samples as before the critics
        pd.testing.assert_frame_equal(again[t], plain[t])
    _, _, second_s, _ = fits.sample(metadata, tables, {**base, 'set_guidance': 3.0})
    assert second_s == guided_fit_s and synth.get_info()['set_critic_accuracy'] == accuracy
