"""Set guidance: the set features, the discriminator, and the direction its guide pushes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from grdm_sdv.set_guidance import SetCritic, SetGuide, fit_discriminator, set_features


def test_set_features_are_each_parents_count_mean_and_spread():
    rng = np.random.default_rng(0)
    parent = torch.randn(6, 1)
    x = torch.randn(40, 2)
    index = torch.as_tensor(rng.integers(-1, 5, 40))  # parent 5 has no child; -1: no parent
    f = set_features(parent, [(x, index)])
    assert f.shape == (6, 1 + 1 + 2 + 2)
    frame = pd.DataFrame(x.numpy()).assign(p=index.numpy()).query('p >= 0')
    g = frame.groupby('p')
    count = g.size().reindex(range(6), fill_value=0).to_numpy()
    mean = g.mean().reindex(range(6), fill_value=0.0).to_numpy()
    std = g.std(ddof=0).reindex(range(6), fill_value=0.0).to_numpy()
    np.testing.assert_allclose(f[:, 0].numpy(), parent[:, 0].numpy())
    np.testing.assert_allclose(f[:, 1].numpy(), np.log1p(count), rtol=1e-6)
    np.testing.assert_allclose(f[:, 2:4].numpy(), mean, atol=1e-5)
    np.testing.assert_allclose(f[:, 4:6].numpy(), np.sqrt(std ** 2 + 1e-3), atol=1e-4)


def _sets(n_parents: int, real: bool, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parents with 8 children each; real children centre on their parent's value (an
    effect the siblings share), fake ones are drawn on their own, as a row-wise model might."""
    gen = torch.Generator().manual_seed(seed)
    parent = torch.randn(n_parents, 1, generator=gen)
    index = torch.arange(n_parents).repeat_interleave(8)
    noise = torch.randn(len(index), 1, generator=gen)
    child = parent[index] + 0.5 * noise if real else noise * (1.25 ** 0.5)
    return parent, child, index


def _agreement(parent, child, index) -> float:
    mean = torch.zeros_like(parent).index_add(0, index, child) / 8
    return float(torch.corrcoef(torch.stack([parent[:, 0], mean[:, 0]]))[0, 1])


def test_the_guide_pushes_siblings_toward_sets_the_critic_takes_for_real():
    real = _sets(300, True, 0)
    fake = _sets(300, False, 1)
    critic = SetCritic('p', [('c', 'fk')], {'p': torch.tensor([0]), 'c': torch.tensor([0])}, None, 0.0)
    feats = lambda s: critic.features({'p': s[0], 'c': s[1]}, {'fk': s[2]})  # noqa: E731
    critic.discriminator, critic.accuracy = fit_discriminator(feats(real), feats(fake), seed=0)
    assert critic.accuracy > 0.8  # the sets differ only in how siblings go with their parent
    parent, child, index = _sets(200, False, 2)
    guide = SetGuide([critic], {'fk': index}, {'p': lambda x: x, 'c': lambda x: x}, scale=0.5)
    assert guide.tables == {'c'}
    before = _agreement(parent, child, index)
    logit_before = float(critic.discriminator(feats((parent, child, index))).mean())
    for _ in range(20):
        grad = guide.gradients({'p': parent, 'c': child}, {'c': child})
        assert set(grad) == {'c'} and grad['c'].shape == child.shape
        child = child + grad['c']
    assert abs(before) < 0.2
    assert _agreement(parent, child, index) > before + 0.3
    assert float(critic.discriminator(feats((parent, child, index))).mean()) > logit_before + 1.0


def test_the_guide_reads_only_tables_it_guides():
    parent, child, index = _sets(50, False, 3)
    critic = SetCritic('p', [('c', 'fk')], {'p': torch.tensor([0]), 'c': torch.tensor([0])}, None, 0.0)
    feats = critic.features({'p': parent, 'c': child}, {'fk': index})
    critic.discriminator, _ = fit_discriminator(feats, feats + 1.0, seed=0)
    guide = SetGuide([critic], {'fk': index}, {'p': lambda x: x, 'c': lambda x: x}, scale=1.0)
    assert guide.gradients({'p': parent, 'c': child, 'other': torch.zeros(3, 1)}, {}) == {}
