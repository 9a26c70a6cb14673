"""Set guidance: a discriminator on each parent's set of children, as guidance in the chain.

The denoiser draws every row from its own conditional, so the children of one parent do not
add up as real siblings do: on F1 a race's children carry per-race totals that vary 5-7x as
much as in real data, and a C2ST-Agg detector tells the generated races apart at ~0.88 even
when every child row's own conditional is right (``docs/fidelity.md``). Choosing the most
real-looking of 16 independent draws of a race's children only reaches 0.80: the sets are far
from real ones, not near misses.

Here a small discriminator per parent table (:class:`SetDiscriminator`) learns, after the
fit, to tell the training data's parents from generated ones by their *sets* of children
(:func:`set_features`: each child table's count, and per numerical column the mean and the
spread over the parent's children, next to the parent's own numbers), on free samples of the
fitted model. At sampling, while a parent's child tables are denoised, each step's
prediction ``x0_hat`` of their numbers is moved along the gradient of ``log D`` (the
discriminator's log-probability of "real"; classifier guidance, Dhariwal & Nichol 2021, with
a discriminator as in Kim et al. 2023, taken on ``x0_hat`` as in universal guidance): the
siblings are pushed together toward sets the training data has, and the push fades where
the discriminator already takes them for real.

The discriminator reads numbers in the space matched samples end in (each column's values
replaced by N(0, 1) quantiles in their own order, :func:`~grdm_sdv.data.marginals.match_marginals`),
the training values too, so that it sees what the sampler will return and not the model's
tied values; the gradient passes straight through the matching. Only in the last part of a
chain (``abar >= min_alpha_bar``), where ``x0_hat`` is close to a sample: earlier its
aggregates are nothing the discriminator has seen. Measured in ``docs/fidelity.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn


def set_features(parent: torch.Tensor, children: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """``(n_parents, f)`` features of each parent row and its sets of children (differentiable).

    Args:
        parent: ``(n_parents, d)`` the parent rows' own numbers.
        children: per child table, ``(x, index)``: its rows' numbers ``(n, d_c)`` and each
            row's parent row (``-1``: none).

    Returns:
        The parent's numbers, then per child table ``log(1 + count)`` and, per column, the
        mean and the standard deviation over the parent's children (0 where it has none).
    """
    n = parent.shape[0]
    out = [parent.float()]
    for x, index in children:
        ok = index >= 0
        x, index = x[ok].float(), index[ok]
        count = torch.bincount(index, minlength=n).to(x.dtype)[:, None]
        total = x.new_zeros((n, x.shape[1])).index_add(0, index, x)
        squares = x.new_zeros((n, x.shape[1])).index_add(0, index, x * x)
        mean = total / count.clamp(min=1)
        var = (squares / count.clamp(min=1) - mean * mean).clamp(min=0)
        out += [torch.log1p(count), mean, (var + 1e-3).sqrt()]
    return torch.cat(out, 1)


class SetDiscriminator(nn.Module):
    """Logit of "real" for a parent row's :func:`set_features` (standardized inside)."""

    def __init__(self, n_features: int, hidden: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        self.register_buffer('loc', torch.zeros(n_features))
        self.register_buffer('scale', torch.ones(n_features))
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net((features - self.loc) / self.scale).squeeze(1)


def fit_discriminator(real: torch.Tensor, fake: torch.Tensor, seed: int, steps: int = 200,
                      weight_decay: float = 0.1, holdout: float = 0.2) -> tuple[SetDiscriminator, float]:
    """Fit a :class:`SetDiscriminator` to tell ``real`` rows (label 1) from ``fake`` ones.

    Full-batch AdamW, the classes weighted equally. Fitted first on a random ``1 - holdout``
    share to measure the accuracy on the rest, then again on every row (returned).

    Returns:
        ``(discriminator, held-out accuracy)``; frozen, in eval mode.
    """
    x = torch.cat([real, fake]).float()
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=gen)
    n_fit = int(round((1 - holdout) * len(x)))

    def fit(rows: torch.Tensor) -> SetDiscriminator:
        with torch.random.fork_rng(devices=[]), torch.enable_grad():  # callers may be in no_grad
            torch.manual_seed(seed)
            d = SetDiscriminator(x.shape[1])
            d.loc.copy_(x.mean(0))
            d.scale.copy_(x.std(0).clamp(min=1e-3))
            opt = torch.optim.AdamW(d.parameters(), lr=3e-3, weight_decay=weight_decay)
            pos_weight = (y[rows] == 0).sum() / (y[rows] == 1).sum().clamp(min=1)
            for _ in range(steps):
                opt.zero_grad()
                loss = nn.functional.binary_cross_entropy_with_logits(d(x[rows]), y[rows],
                                                                      pos_weight=pos_weight)
                loss.backward()
                opt.step()
        d.eval().requires_grad_(False)
        return d

    held, first = perm[n_fit:], fit(perm[:n_fit])
    with torch.no_grad():
        accuracy = float(((first(x[held]) > 0).float() == y[held]).float().mean())
    return fit(perm), accuracy


@dataclass
class SetCritic:
    """A parent table's discriminator and what it reads: node types, the foreign keys of its
    child tables, and per node type the numerical columns (``x_num`` positions) it reads."""

    parent: str
    children: list[tuple[str, str]]  # (child node type, fk name)
    columns: dict[str, torch.Tensor]  # node type -> long positions in x_num
    discriminator: SetDiscriminator
    accuracy: float

    def features(self, x_num: dict[str, torch.Tensor], links: dict[str, torch.Tensor]) -> torch.Tensor:
        """:func:`set_features` of every parent row, from matched ``x_num``."""
        return set_features(x_num[self.parent][:, self.columns[self.parent]],
                            [(x_num[c][:, self.columns[c]], links[fk]) for c, fk in self.children])


@dataclass
class SetGuide:
    """What :func:`~grdm_sdv.pipeline.generate` asks at each step for the child tables of the
    critics' parents: the gradient of ``scale * sum log D`` with respect to their ``x0_hat``.

    ``match``: node type -> the map of a table's numbers into the matched space
    (straight-through for the gradient). ``links``: fk name -> each child row's parent row.
    """

    critics: list[SetCritic]
    links: dict[str, torch.Tensor]
    match: dict[str, Callable[[torch.Tensor], torch.Tensor]]
    scale: float
    min_alpha_bar: float = 0.8
    tables: set[str] = field(init=False)  # the child tables it guides
    reads: set[str] = field(init=False)  # and every table its critics read

    def __post_init__(self) -> None:
        self.tables = {c for critic in self.critics for c, _ in critic.children}
        self.reads = self.tables | {critic.parent for critic in self.critics}

    def gradients(self, x_num: dict[str, torch.Tensor], x0: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Node type -> ``scale * d(sum log D)/d x0_hat`` for the tables in ``x0`` (those this
        step moves), on the CPU; the other tables are read as they are now."""
        # On the CPU, as the links and the matching are (a chain on a GPU hands its tensors over).
        with torch.inference_mode(False), torch.enable_grad():
            leaves = {k: self.match[k](v.detach().cpu().float().clone()).requires_grad_(True) for k, v in x0.items()}
            current = {k: (leaves[k] if k in leaves else self.match[k](v.detach().cpu().float().clone()))
                       for k, v in x_num.items() if k in self.reads}
            objective = sum(nn.functional.logsigmoid(c.discriminator(c.features(current, self.links))).sum()
                            for c in self.critics if any(k in leaves for k, _ in c.children))
            if not torch.is_tensor(objective):
                return {}
            grads = torch.autograd.grad(objective, list(leaves.values()))
        return {k: self.scale * g.detach() for k, g in zip(leaves, grads)}


__all__ = ['SetCritic', 'SetDiscriminator', 'SetGuide', 'fit_discriminator', 'set_features']
