"""Mixed-type diffusion: Gaussian on numbers, masked (absorbing) diffusion on categories.

A parameter-free scheduler, apart from the network (as diffusers' schedulers):

* numerical block ``x`` (paper symbols of DDPM): ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``
  with the cosine schedule ``abar``; the network predicts ``eps``; loss is MSE;
* categorical columns: each token is replaced by the mask token with probability ``t``
  (masked diffusion as in MDLM/TabDiff, linear schedule ``alpha_t = 1 - t``); the network
  predicts the clean token's logits; loss is cross-entropy on masked tokens.

Time is continuous in ``(0, 1]`` and discretised to ``num_timesteps`` levels for training;
sampling walks any decreasing grid of ``sampling_steps`` levels (ancestral DDPM posterior for
numbers, MDLM unmasking for categories), so it can use fewer steps than training has.
Schedules are computed in float64 and returned as float32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .data.marginals import tilt

#: At most this many still-masked rows of a column (evenly spaced) set its class tilt.
_TILT_POOL = 4096


class MixedDiffusion:
    """Scheduler for the ``[x_num | x_cat]`` layout.

    Args:
        num_timesteps: discrete time levels used in training. (default: ``1000``)
        cosine_s: offset of the cosine schedule. (default: ``0.008``)
        variance: variance of an ancestral step of the numbers: ``'beta'`` (DDPM's
            ``beta_t``, as the GRDM reference samples) or ``'posterior'`` (``beta~_t``,
            exact for a perfect model; an imperfect one then draws too narrow).
            (default: ``'beta'``)
    """

    def __init__(self, num_timesteps: int = 1000, cosine_s: float = 0.008,
                 variance: str = 'beta') -> None:
        if int(num_timesteps) < 2:
            raise ValueError(f'num_timesteps must be at least 2, got {num_timesteps}.')
        self.num_timesteps = int(num_timesteps)
        self.cosine_s = float(cosine_s)
        if variance not in ('posterior', 'beta'):
            raise ValueError(f"variance must be 'posterior' or 'beta', got {variance!r}.")
        self.variance = variance

    # --- schedules ---------------------------------------------------------------------------
    def alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """Signal share ``abar_t`` of the Gaussian part at continuous time ``t``."""
        s = self.cosine_s
        t64 = t.double()
        f = torch.cos((t64 + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2
        return f.clamp(1e-5, 0.9999).float()

    @staticmethod
    def keep_prob(t: torch.Tensor) -> torch.Tensor:
        """Probability ``alpha_t`` that a category token is still unmasked at time ``t``.

        Linear (MDLM). Revealing tokens as fast as the numbers' signal share (``abar_t``)
        measured no clear gain (``docs/fidelity.md``).
        """
        return (1.0 - t).clamp(0.0, 1.0)

    def sample_time(self, n: int, generator: torch.Generator | None, device) -> torch.Tensor:
        """Training times: uniform over the ``num_timesteps`` levels ``1/T, ..., 1``."""
        i = torch.randint(1, self.num_timesteps + 1, (n,), generator=generator, device=device)
        return i.float() / self.num_timesteps

    def set_timesteps(self, steps: int, device=None) -> torch.Tensor:
        """Decreasing grid ``1 = t_0 > t_1 > ... > t_steps = 0`` on the training levels."""
        steps = max(1, min(int(steps), self.num_timesteps))
        levels = torch.linspace(self.num_timesteps, 0, steps + 1, dtype=torch.float64).round()
        return (levels / self.num_timesteps).float().to(device)

    def set_table_timesteps(self, steps: int, levels: dict[str, int], lead: float = 0.0) -> dict[str, list[float]]:
        """Per-table grids in which parents lead their children (``steps + 1`` times each).

        A table ``l`` foreign-key levels below the top (``levels``: from
        ``RelationalSchema.levels``; the synthesizer places each table as late as its
        children allow) runs its own ``1 -> 0`` chain
        ``lead * l`` of the way behind the top tables: with ``u`` going ``0 -> 1`` over the
        steps and ``H = 1 + lead * max(levels)``, its time is ``clip(1 - (u H - lead l), 0, 1)``,
        on the training levels. ``lead=0``: one shared grid (joint denoising, as
        :meth:`set_timesteps`); ``lead=1``: each level is wholly generated before the next
        starts; in between, a child is denoised against a parent that is nearly clean
        while the parent still sees its children.
        """
        steps = max(1, min(int(steps), self.num_timesteps))
        if lead <= 0 or not levels or max(levels.values()) == 0:
            grid = self.set_timesteps(steps).tolist()
            return {k: grid for k in levels}
        top = max(levels.values())
        u = torch.linspace(0, 1, steps + 1, dtype=torch.float64) * (1 + lead * top)
        out = {}
        for k, level in levels.items():
            t = (1 - (u - lead * level)).clamp(0, 1)
            out[k] = ((t * self.num_timesteps).round() / self.num_timesteps).float().tolist()
        return out

    # --- forward process ---------------------------------------------------------------------
    def add_noise(
        self,
        x_num: torch.Tensor,
        x_cat: torch.Tensor,
        num_classes: list[int],
        t: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Noise a clean batch to per-row times ``t``.

        Returns ``(x_num_t, x_cat_t, eps, masked)``: the noisy numbers, the tokens with the
        mask token (index ``K_j`` of column ``j``) substituted, the Gaussian noise, and where
        tokens were masked.
        """
        x_num_t, eps = self.noise_numbers(x_num, t, generator)
        u = torch.rand(x_cat.shape, generator=generator, device=x_cat.device)
        masked = u >= self.keep_prob(t)[:, None]
        mask_tok = torch.tensor(num_classes, dtype=torch.long, device=x_cat.device)
        x_cat_t = torch.where(masked, mask_tok.expand_as(x_cat), x_cat)
        return x_num_t, x_cat_t, eps, masked

    def noise_numbers(self, x_num: torch.Tensor, t: torch.Tensor,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_t, eps)``: the numerical block noised to per-row times ``t`` (``(n,)`` or ``(1,)``)."""
        eps = torch.randn(x_num.shape, generator=generator, device=x_num.device)
        ab = self.alpha_bar(t)[:, None]
        return ab.sqrt() * x_num + (1 - ab).sqrt() * eps, eps

    @staticmethod
    def loss(
        eps_hat: torch.Tensor,
        eps: torch.Tensor,
        logits: list[torch.Tensor],
        x_cat: torch.Tensor,
        masked: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row losses ``(numerical MSE, categorical CE on masked tokens)``."""
        n = len(eps)
        l_num = ((eps_hat.float() - eps) ** 2).mean(1) if eps.shape[1] else eps.new_zeros(n)
        if logits:
            ce = torch.stack(
                [F.cross_entropy(lg.float(), x_cat[:, j], reduction='none') for j, lg in enumerate(logits)],
                dim=1,
            )
            l_cat = (ce * masked).sum(1) / len(logits)
        else:
            l_cat = eps.new_zeros(n)
        return l_num, l_cat

    # --- reverse process ---------------------------------------------------------------------
    @staticmethod
    def predict_x0(x_num_t: torch.Tensor, eps_hat: torch.Tensor, ab_t: torch.Tensor) -> torch.Tensor:
        """``x0_hat`` of the numbers at signal share ``ab_t`` from the predicted noise (clamped
        to the encoder's +-5)."""
        return ((x_num_t - (1 - ab_t).sqrt() * eps_hat.float()) / ab_t.sqrt()).clamp(-5.0, 5.0)

    def step(
        self,
        eps_hat: torch.Tensor,
        logits: list[torch.Tensor],
        t: float,
        s: float,
        x_num_t: torch.Tensor,
        x_cat_t: torch.Tensor,
        num_classes: list[int],
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        cat_targets: list[torch.Tensor | None] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One reverse step from time ``t`` to ``s < t`` for every row.

        ``logits`` is a list of ``(n, K_j)`` tensors, or a function ``(j, rows) -> logits``
        computing column ``j``'s logits only for the rows revealed in this step.
        ``cat_targets``: per categorical column, ``None`` or the class shares its
        still-masked tokens should take: the revealed tokens are then drawn from the
        model's probabilities tilted by one log-weight per class, set on (up to 4,096 of)
        the masked rows so that their mean tilted probabilities are these shares
        (:func:`~grdm_sdv.data.marginals.tilt`; matched marginals).
        """
        dev = x_num_t.device
        tt = torch.tensor([t], device=dev)
        ss = torch.tensor([s], device=dev)
        # Numbers: ancestral step with the DDPM posterior q(x_s | x_t, x0_hat).
        if x_num_t.shape[1]:
            ab_t, ab_s = self.alpha_bar(tt), self.alpha_bar(ss) if s > 0 else torch.ones(1, device=dev)
            x0 = self.predict_x0(x_num_t, eps_hat, ab_t)
            if s <= 0:
                x_num_s = x0
            else:
                a_ts = ab_t / ab_s
                mean = (ab_s.sqrt() * (1 - a_ts) * x0 + a_ts.sqrt() * (1 - ab_s) * x_num_t) / (1 - ab_t)
                # DDPM's two choices: the posterior's beta~ (exact for a perfect model) or
                # beta itself (larger; spreads samples an imperfect model draws too narrow).
                var = (1 - a_ts) if self.variance == 'beta' else (1 - ab_s) / (1 - ab_t) * (1 - a_ts)
                noise = torch.randn(x_num_t.shape, generator=generator, device=dev)
                x_num_s = mean + var.clamp(min=0).sqrt() * noise
        else:
            x_num_s = x_num_t
        # Categories: a masked token is revealed with prob (alpha_s - alpha_t) / (1 - alpha_t).
        x_cat_s = x_cat_t.clone()
        if num_classes:
            a_t, a_s = float(self.keep_prob(tt)), float(self.keep_prob(ss))
            p_reveal = 1.0 if s <= 0 else (a_s - a_t) / max(1e-12, 1.0 - a_t)
            logits_of = logits if callable(logits) else (lambda j, rows: logits[j][rows])
            for j in range(len(num_classes)):
                is_masked = x_cat_t[:, j] == num_classes[j]
                if not bool(is_masked.any()):
                    continue
                reveal = is_masked & (torch.rand(len(x_cat_t), generator=generator, device=dev) < p_reveal)
                rows = reveal.nonzero().squeeze(1)
                if len(rows) == 0:
                    continue
                # Draw only for the tokens revealed now (a few % of rows per step).
                lg = logits_of(j, rows).float() / temperature
                target = cat_targets[j] if cat_targets is not None else None
                if target is not None:
                    masked = is_masked.nonzero().squeeze(1)
                    pick = (None if len(masked) <= _TILT_POOL else
                            torch.linspace(0, len(masked) - 1, _TILT_POOL, device=dev).long())
                    if len(rows) == len(masked):  # all revealed now: their logits are at hand
                        pool_lg = lg if pick is None else lg[pick]
                    else:
                        pool = masked if pick is None else masked[pick]
                        pool_lg = logits_of(j, pool).float() / temperature
                    lg = lg + tilt(torch.log_softmax(pool_lg, dim=1), target)
                probs = torch.softmax(lg, dim=1)
                x_cat_s[rows, j] = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        return x_num_s, x_cat_s
