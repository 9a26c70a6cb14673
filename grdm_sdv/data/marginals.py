"""Matched marginals: each generated numerical column drawn from its training distribution, in
the model's order.

The denoiser keeps what a column has to do with its neighbours better than the column's own
shape: on F1 the message passing cost column shapes (KS) against a graph-blind model, and
small parent tables came out narrow (``circuit.lat`` at 0.46x the real spread). Every
numerical column is encoded through its empirical quantiles to a standard normal
(:class:`~grdm_sdv.data.encoding.TableEncoder`), so the training distribution of a column
is N(0, 1) in the model's space, up to ties: sklearn's transform puts a run of tied values at
one point and the smallest and largest values at +-5.2 (F1: 75% of ``result.points`` are 0,
all at -5.2), where a matched sample spreads them over their quantiles. Dequantizing the
training values was measured and not kept (``docs/fidelity.md``). Here the generated values
of a column are replaced by a stratified draw from N(0, 1) put in the generated values'
order: the ``i``-th smallest generated value becomes ``ndtri((i + u) / n)`` with
``u ~ U(0, 1)``. The ranks, and with them every ordering the model learned across rows and
tables, are kept; only the spread and shape come from the training data. Decoded through
the quantile transform this is the training column's own distribution (the quantile
interpolation's, between training values).
The synthesizer matches each table at the step its own chain ends
(:func:`~grdm_sdv.pipeline.generate`'s ``finish``), so the tables still being denoised (its
children, under ``parent_lead``) see its matched values.

A column of ``k`` training values (a small table's) is interpolated between them, the
``j``-th smallest at quantile ``j / (k - 1)``: a stratified draw from that piecewise-linear
distribution has ``(k - 1) / (k + 1)`` of the training variance for evenly spaced values,
less for skewed ones (10 values, simulated: a standard deviation of 0.90x the training one
for uniform data, 0.84x for normal, 0.79x for log-normal). The strata are therefore
put on the training values' own positions, the ``j``-th value owning the quantiles
``(j +- 0.5) / k`` (Hazen's plotting positions): each training value is then as likely as
in the data, and the spread is kept (``docs/fidelity.md``, 0.2.16).

Categorical columns (and the "is null" flags) are matched while they are generated: masked
diffusion reveals a few tokens of a column at each step, each drawn from the model's
conditional. With :func:`remaining_shares` and :func:`tilt`, the tokens revealed at a step
are drawn from the model's conditionals tilted by one log-weight per class, chosen so that
the still-masked rows are expected to fill each class's remaining quota (the training
share times the number of rows, less the tokens already revealed). The model still says
which rows take which class; the training data says how many.
Measured in ``docs/fidelity.md``.
"""

from __future__ import annotations

import torch


def match_marginals(x_num: torch.Tensor, observed: torch.Tensor,
                    generator: torch.Generator, sizes: list[int] | None = None) -> torch.Tensor:
    """``x_num`` with each column's observed cells redrawn from N(0, 1) in their own order.

    Args:
        x_num: ``(n, d)`` generated numbers in the encoder's standard-normal space.
        observed: ``(n, d)`` bool, the cells that hold a value (not generated as null);
            the others are returned unchanged.
        generator: draws the tie order and the positions within each stratum.
        sizes: per column, the number of training values its quantile transform
            interpolates between (``TableEncoder.quantile_sizes``); 0 or ``None``: a
            column whose quantiles are a fine grid, drawn from N(0, 1) as it is.

    Returns:
        A new ``(n, d)`` tensor (``x_num``'s dtype). Ties are put in random order.
    """
    out = x_num.clone()
    for j in range(x_num.shape[1]):
        rows = observed[:, j].nonzero().squeeze(1)
        n = len(rows)
        if n == 0:
            continue
        # A random permutation first, then a stable sort: ties end in random order.
        perm = torch.randperm(n, generator=generator)
        order = perm[torch.argsort(x_num[rows[perm], j], stable=True)]
        u = (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=generator,
                                                               dtype=torch.float64)) / n
        k = sizes[j] if sizes else 0
        if k > 1:  # quantile u at the training values' positions: value j owns (j +- 0.5) / k
            u = ((u * k - 0.5) / (k - 1)).clamp(0.0, 1.0)
        z = torch.special.ndtri(u.clamp(1e-7, 1 - 1e-7)).clamp(-5.0, 5.0)
        out[rows[order], j] = z.to(out.dtype)
    return out


def class_shares(x_cat: torch.Tensor, num_classes: list[int]) -> list[torch.Tensor]:
    """Each ``x_cat`` column's class shares (float64, summing to 1; the training marginals)."""
    n = max(1, len(x_cat))
    return [torch.bincount(x_cat[:, j], minlength=k)[:k].double() / n
            for j, k in enumerate(num_classes)]


def remaining_shares(x_cat: torch.Tensor, num_classes: list[int],
                     shares: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """Per column, the class shares the still-masked tokens should take so that the whole
    column ends at ``shares``: each class's quota (share x rows) less its revealed tokens,
    floored at 0 and normalized; ``None`` for a column with no masked token left."""
    n, out = len(x_cat), []
    for j, k in enumerate(num_classes):
        counts = torch.bincount(x_cat[:, j], minlength=k + 1).double()  # k: the mask token
        if counts[k] == 0:
            out.append(None)
            continue
        quota = (shares[j].to(counts.device) * n - counts[:k]).clamp(min=0)
        total = quota.sum()
        out.append(quota / total if total > 0 else shares[j].to(counts.device))
    return out


def tilt(log_probs: torch.Tensor, target: torch.Tensor, iterations: int = 30) -> torch.Tensor:
    """One log-weight per class such that ``softmax(log_probs + w)`` averaged over the rows
    is ``target`` (iterative proportional fitting, a Sinkhorn scaling of the classes).

    Args:
        log_probs: ``(rows, K)`` the model's log-probabilities of the rows to be revealed
            (or a sample of them).
        target: ``(K,)`` class shares summing to 1 (a class with share 0 gets weight -30).

    Returns:
        ``(K,)`` float32 log-weights to add to every row's logits.
    """
    lp = log_probs.double()
    goal = target.double().to(lp.device).clamp(min=1e-13).log()
    w = torch.zeros(lp.shape[1], dtype=torch.float64, device=lp.device)
    for _ in range(iterations):
        mean = torch.softmax(lp + w, dim=1).mean(0).clamp(min=1e-13).log()
        w = (w + goal - mean).clamp(-30.0, 30.0)
    return w.float()


__all__ = ['class_shares', 'match_marginals', 'remaining_shares', 'tilt']
