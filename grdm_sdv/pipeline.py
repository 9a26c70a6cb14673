"""The reverse chain: generate every attribute of every table of a graph at once.

Like a diffusers pipeline, this owns the sampling loop and nothing else: the network is
:class:`~grdm_sdv.nn.denoiser.HeteroDenoiser`, the noise schedule and the reverse step
:class:`~grdm_sdv.diffusion.MixedDiffusion`, the per-step neighbour draw
:class:`~grdm_sdv.sampling.csr.CappedNeighbours`. One function serves joint generation,
parent-first schedules (``parent_lead``), tables held clean (``clean_known``), and
conditional generation and imputation (``known``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from .data.graph import RelationalGraph
from .data.marginals import remaining_shares
from .data.tensors import KnownCells, TableTensors
from .diffusion import MixedDiffusion
from .nn.denoiser import HeteroDenoiser
from .nn.layers import compiled_blocks
from .sampling.csr import CappedNeighbours, csr_by_destination
from .set_guidance import SetGuide
from .training.runtime import use_bf16


@torch.inference_mode()
def generate(
    model: HeteroDenoiser,
    diffusion: MixedDiffusion,
    graph: RelationalGraph,
    d_num: dict[str, int],
    num_classes: dict[str, list[int]],
    sampling_steps: int,
    generator: torch.Generator,
    device: torch.device,
    verbose: bool = True,
    temperature: float = 1.0,
    known: dict[str, KnownCells] | None = None,
    fanout: int | None = None,
    chunk_size: int | None = None,
    mixed_precision: bool | None = None,
    torch_compile: bool = False,
    clean_known: bool = False,
    levels: dict[str, int] | None = None,
    parent_lead: float = 0.0,
    guidance_scale: float | dict[str, float | tuple[torch.Tensor, torch.Tensor]] = 1.0,
    class_shares: dict[str, list[torch.Tensor]] | None = None,
    finish: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] | None = None,
    set_guide: SetGuide | None = None,
) -> dict[str, TableTensors]:
    """Run the reverse chain on the whole graph: all rows of all tables at once.

    Args:
        known: node type -> cells to hold fixed. Known category tokens are never masked
            (exact conditioning for masked diffusion); known numbers are replaced after
            every step by the known value noised to the current level (RePaint-style).
        fanout: at each step every row aggregates at most this many neighbours per edge
            type, drawn afresh, as in training (a mean over all 300 results of a driver is
            a different input from the mean over 8 the network learned from).
        chunk_size: rows per chunk of the forward pass (default: 32768 on CPU, 2**20 on
            GPU); memory and time grow linearly with the graph, whatever its size.
        mixed_precision: bfloat16 autocast; ``None`` decides by hardware (see ``use_bf16``).
        torch_compile: run the per-row blocks through ``torch.compile``.
        clean_known: give wholly known tables to the model clean, at time 0 (for models
            trained with ``Trainer.clean_prob > 0``); else they are imposed RePaint-style.
        levels: node type -> foreign-key level (0: the top), for ``parent_lead``
            (``RelationalSchema.levels``).
        parent_lead: how far each table's noise level trails its parents' (see
            ``MixedDiffusion.set_table_timesteps``; 0: every table at one time). A model
            trained with ``Trainer.independent_times > 0`` has seen such mixed levels.
        guidance_scale: classifier-free guidance on the neighbourhood: each step's noise
            and logits are ``u + w (c - u)``, ``c`` with messages and ``u`` without (a
            second, message-free pass). ``1``: no guidance, one pass. Needs a model trained
            with ``Trainer.context_dropout > 0``. A dict gives each node type its own
            scale (missing ones: 1), or a scale per column, ``(per x_num column, per x_cat
            column)``; the message-free pass runs only where one is not 1.
        class_shares: node type -> the training class shares of each ``x_cat`` column: its
            tokens are revealed so that the table ends with these shares (matched
            marginals, :func:`~grdm_sdv.data.marginals.remaining_shares`); for wholly
            generated tables only.
        finish: node type -> ``f(x_num, x_cat) -> x_num``, applied to the table's numbers
            at the step its own chain ends (e.g. matched marginals), so that the tables
            still being denoised, its children under ``parent_lead``, see its final values.
            Not applied to tables held clean (never denoised); a table's ``known`` numbers
            are imposed again after it.
        set_guide: a discriminator on each parent's set of children
            (:class:`~grdm_sdv.set_guidance.SetGuide`): where its child tables move with
            ``abar >= set_guide.min_alpha_bar``, their predicted noise is moved along the
            gradient of its ``log D`` (classifier guidance on ``x0_hat``).
    """
    known = {k: KnownCells(*(x.to(device) for x in (v.x_num, v.num_mask, v.x_cat, v.cat_mask)))
             for k, v in (known or {}).items()}
    model = model.to(device).eval()
    # Every draw happens on the device (no host -> device copy per step).
    gen = generator if device.type == 'cpu' else torch.Generator(device=device).manual_seed(
        int(torch.randint(0, 2**62, (1,), generator=generator)))
    if chunk_size is None:
        chunk_size = 32768 if device.type == 'cpu' else 1 << 20
    caps = {et: CappedNeighbours(*(x.to(device) for x in csr_by_destination(e, graph.num_nodes[et[2]])),
                                  fanout)
            for et, e in graph.edge_index.items()}
    struct = {k: v.to(device) for k, v in graph.struct.items()}
    x_num, x_cat, known, clean = _start(graph, d_num, num_classes, known, clean_known, gen, device)
    levels = levels or {k: 0 for k in graph.num_nodes}
    grids = diffusion.set_table_timesteps(sampling_steps, {k: levels.get(k, 0) for k in graph.num_nodes},
                                          parent_lead)
    n_steps = len(next(iter(grids.values()))) - 1 if grids else 0
    if known:
        _impose(known, x_num, diffusion, {k: g[0] for k, g in grids.items()}, gen, device)
    use_amp = use_bf16(device, mixed_precision)
    scales = (guidance_scale if isinstance(guidance_scale, dict)
              else dict.fromkeys(graph.num_nodes, guidance_scale))
    scales = {k: w if isinstance(w, (int, float)) else tuple(x.to(device) for x in w)
              for k, w in scales.items() if not _unguided(w)}
    bar = tqdm(range(n_steps), desc='Sample GRDM', disable=not verbose, leave=True)
    with compiled_blocks(torch_compile) as compiled:
        for i in bar:
            step_csr = {et: cap.draw(gen) for et, cap in caps.items()}
            times = {k: (0.0 if k in clean else grids[k][i]) for k in graph.num_nodes}
            # Only the tables this step moves need an output (the others are held clean, not
            # started yet or done), and the message-free pass only the guided ones among them.
            moving = [k for k in graph.num_nodes if k not in clean and grids[k][i] != grids[k][i + 1]]
            guided = [k for k in moving if k in scales]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                h, t_emb = model.propagate(x_num, x_cat, struct, times, step_csr, chunk_size, compiled,
                                           tables=moving)
                alone = (model.propagate(x_num, x_cat, struct, times, {}, chunk_size, compiled,
                                         tables=guided)[0] if guided else None)
            pre = (_set_guided(set_guide, model, diffusion, {k: grids[k][i] for k in moving}, h, alone,
                               t_emb, x_num, scales, compiled, use_amp) if set_guide else {})
            for k in moving:
                t, s = grids[k][i], grids[k][i + 1]
                w = scales.get(k, 1.0)
                heads = (lambda a, b, k=k, h=h: model.head(k, h[k][a:b], t_emb, compiled),
                         None if k not in guided else
                         lambda a, b, k=k, u=alone: model.head(k, u[k][a:b], t_emb, compiled))
                if k in pre:  # whole-table heads, already guided: sliced per chunk
                    heads = (lambda a, b, e=pre[k]: (e[0][a:b], _rows_from(e[1], a)), None)
                targets = (remaining_shares(x_cat[k], num_classes[k], class_shares[k])
                           if class_shares and k in class_shares else None)
                x_num[k], x_cat[k] = _reverse_step(diffusion, heads, w, t, s, x_num[k],
                                                   x_cat[k], num_classes[k], chunk_size, use_amp,
                                                   gen, temperature, targets)
                if s == 0 and finish and k in finish:
                    x_num[k] = finish[k](x_num[k], x_cat[k])
            del h, alone
            if known:
                _impose(known, x_num, diffusion, {k: g[i + 1] for k, g in grids.items()}, gen, device)
    model.cpu()
    return {k: TableTensors(x_num[k].cpu(), x_cat[k].cpu(), num_classes[k]) for k in graph.num_nodes}


def _start(graph: RelationalGraph, d_num, num_classes, known: dict[str, KnownCells],
           clean_known: bool, gen, device) -> tuple[dict, dict, dict, set]:
    """``(x_num, x_cat, known, clean)`` at the start of the chain.

    Numbers are pure noise, tokens masked, known tokens set. Wholly known tables are given
    clean, at time 0, to a model trained with clean neighbour tables (``Trainer.clean_prob``),
    and are not denoised at all (``clean``); ``known`` keeps the other tables' known cells.
    """
    x_num, x_cat = {}, {}
    for k, n in graph.num_nodes.items():
        x_num[k] = torch.randn((n, d_num[k]), generator=gen, device=device)
        mask_tok = torch.tensor(num_classes[k], dtype=torch.long)
        x_cat[k] = mask_tok.expand(n, len(num_classes[k])).clone().to(device)
        if k in known:
            x_cat[k] = torch.where(known[k].cat_mask, known[k].x_cat, x_cat[k])
    clean = {k for k, kc in known.items()
             if clean_known and bool(kc.num_mask.all()) and bool(kc.cat_mask.all())}
    for k in clean:
        x_num[k], x_cat[k] = known[k].x_num.clone(), known[k].x_cat.clone()
    return x_num, x_cat, {k: v for k, v in known.items() if k not in clean}, clean


def _reverse_step(diffusion: MixedDiffusion, heads: tuple, guidance_scale: float | tuple, t: float, s: float,
                  x_num: torch.Tensor, x_cat: torch.Tensor, num_classes: list[int], chunk_size: int,
                  use_amp: bool, gen, temperature: float,
                  targets: list | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One table from time ``t`` to ``s``: output layer and reverse step chunk by chunk (no
    ``(rows x classes)`` logits). ``heads``: ``(with messages, without or None)``, each
    ``(a, b) -> head`` of rows ``a:b``."""
    head, alone = heads
    new_num, new_cat = torch.empty_like(x_num), torch.empty_like(x_cat)
    for a in range(0, len(x_num), chunk_size):
        b = min(len(x_num), a + chunk_size)
        with torch.autocast(x_num.device.type, dtype=torch.bfloat16, enabled=use_amp):
            eps, logits_of = head(a, b)
            if alone is not None:
                eps, logits_of = _guided(guidance_scale, (eps, logits_of), alone(a, b))
        new_num[a:b], new_cat[a:b] = diffusion.step(
            eps, logits_of, t, s, x_num[a:b], x_cat[a:b], num_classes,
            generator=gen, temperature=temperature, cat_targets=targets,
        )
    return new_num, new_cat


def _set_guided(guide: SetGuide, model: HeteroDenoiser, diffusion: MixedDiffusion, times: dict[str, float],
                h: dict, alone: dict | None, t_emb, x_num: dict, scales: dict, compiled,
                use_amp: bool) -> dict[str, tuple]:
    """Node type -> ``(eps, logits_of)`` of the whole table for the guide's tables moving
    now late enough in their chain: the network's output (with classifier-free guidance
    where set), its ``eps`` moved by the set discriminator's gradient,
    ``eps - sqrt(1 - abar) / sqrt(abar) * grad`` (the gradient taken on ``x0_hat`` stands
    for the one on ``x_t``, which is ``1 / sqrt(abar)`` of it)."""
    alpha_bar = {k: diffusion.alpha_bar(torch.tensor([t], device=x_num[k].device))
                 for k, t in times.items() if k in guide.tables}
    alpha_bar = {k: ab for k, ab in alpha_bar.items() if float(ab) >= guide.min_alpha_bar}
    if not alpha_bar:
        return {}
    out, x0 = {}, {}
    for k, ab in alpha_bar.items():
        with torch.autocast(x_num[k].device.type, dtype=torch.bfloat16, enabled=use_amp):
            eps, logits_of = model.head(k, h[k], t_emb, compiled)
            if k in scales and alone is not None:
                eps, logits_of = _guided(scales[k], (eps, logits_of), model.head(k, alone[k], t_emb, compiled))
        out[k] = (eps.float(), logits_of)
        x0[k] = diffusion.predict_x0(x_num[k], out[k][0], ab)
    for k, grad in guide.gradients(x_num, x0).items():
        ab, eps = alpha_bar[k], out[k][0]
        grad = torch.nn.functional.pad(grad, (0, eps.shape[1] - grad.shape[1]))
        out[k] = (eps - ((1 - ab).sqrt() / ab.sqrt()) * grad.to(eps.device), out[k][1])
    return out


def _rows_from(logits_of, offset: int):
    """A whole table's ``logits_of(j, rows)`` for the rows of a chunk starting at ``offset``."""
    if logits_of is None or offset == 0:
        return logits_of
    return lambda j, rows: logits_of(j, rows + offset)


def _unguided(w) -> bool:
    """Whether a guidance scale (a number, or ``(per x_num column, per x_cat column)``) is 1
    everywhere."""
    if isinstance(w, (int, float)):
        return w == 1
    return all(bool((x == 1).all()) for x in w)


def _guided(w, cond: tuple, uncond: tuple) -> tuple:
    """Classifier-free guidance ``u + w (c - u)`` of ``head``'s ``(eps, logits_of)``; ``w`` a
    number or ``(per x_num column, per x_cat column)``."""
    (eps_c, lc), (eps_u, lu) = cond, uncond
    w_num, w_cat = (w, None) if isinstance(w, (int, float)) else w
    eps = eps_u + w_num * (eps_c - eps_u)
    if lc is None:
        return eps, None

    def logits_of(j: int, rows: torch.Tensor) -> torch.Tensor:
        u = lu(j, rows)
        return u + (w if w_cat is None else w_cat[j]) * (lc(j, rows) - u)

    return eps, logits_of


def _impose(known, x_num, diffusion, times: dict[str, float], generator, device) -> None:
    """Overwrite known numerical cells with their value noised to their table's time."""
    for k, kc in known.items():
        if not kc.num_mask.any():
            continue
        s = times[k]
        # The draw happens at s = 0 too, so the random stream does not depend on the grid.
        noisy, _ = diffusion.noise_numbers(kc.x_num, torch.tensor([s], device=device), generator)
        x_num[k] = torch.where(kc.num_mask, noisy if s > 0 else kc.x_num, x_num[k])


__all__ = ['generate']
