"""Training loop and full-graph generation for the GRDM model (tensors only, no SDV).

``Trainer`` owns the optimizer, the EMA weights and the loss history; one step samples
disjoint K-hop subgraphs around seed rows of every table, noises each subgraph at its own
time (or each table of it at a time of its own), and trains the denoiser to predict the
noise (numbers) and the clean tokens (categories) of the seed rows and the rows within
``loss_hops`` of them. ``generate`` runs the reverse chain on a whole graph at once, every
table on its own grid of times (parents ahead of their children with ``parent_lead``).
"""

from __future__ import annotations

import copy
import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .denoiser import HeteroDenoiser
from .diffusion import MixedDiffusion
from .graph import RelationalGraph
from .layers import compiled_blocks, csr_by_destination
from .neighbors import NeighborSampler

LOGGER = logging.getLogger(__name__)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``'auto'``/``None`` -> CUDA when available, else CPU; anything else as given."""
    if device is None or (isinstance(device, str) and device == 'auto'):
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return torch.device(device)


def init_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1), if any.

    Returns ``(rank, world_size, device)``; with CUDA each process takes ``cuda:LOCAL_RANK``.
    Gloo on CPU, NCCL on GPU. Without ``torchrun`` (or an already initialised group) this
    is a no-op returning ``(0, 1, device)``.
    """
    dist = torch.distributed
    if not dist.is_available():
        return 0, 1, device
    if not dist.is_initialized():
        if int(os.environ.get('WORLD_SIZE', '1')) <= 1:
            return 0, 1, device
        dist.init_process_group(backend='nccl' if device.type == 'cuda' else 'gloo')
    if device.type == 'cuda':
        device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', dist.get_rank())))
        torch.cuda.set_device(device)
    return dist.get_rank(), dist.get_world_size(), device


def use_bf16(device: torch.device, mixed_precision: bool | None = None) -> bool:
    """Whether to run the denoiser under bfloat16 autocast.

    ``None`` (auto): on CUDA only. On a CPU with AMX bfloat16 units the linear layers alone
    run 3x faster, but the whole denoiser measured only 8% faster to sample and 30% slower
    to train (``benchmarks/speed.py --precision``), so float32 stays the CPU default.
    """
    if mixed_precision is not None:
        return bool(mixed_precision)
    return device.type == 'cuda'


@dataclass
class TableTensors:
    """Encoded attributes of one node type."""

    x_num: torch.Tensor  # float32 (n, d_num)
    x_cat: torch.Tensor  # int64 (n, c)
    num_classes: list[int]


@dataclass
class KnownCells:
    """Cells held fixed while the rest of a table is generated (inpainting).

    ``num_mask``/``cat_mask`` are boolean, shaped as ``x_num``/``x_cat``; where true the
    value in ``x_num``/``x_cat`` is kept.
    """

    x_num: torch.Tensor
    num_mask: torch.Tensor
    x_cat: torch.Tensor
    cat_mask: torch.Tensor


@dataclass
class Trainer:
    """Train a :class:`HeteroDenoiser` on one database graph.

    Args:
        model: the denoiser.
        diffusion: the scheduler.
        steps: optimisation steps. (default: ``2000``)
        batch_size: seed rows per step, shared between tables by ``sqrt`` of their size.
        lr: AdamW learning rate (cosine decay to 10% after a short warm-up).
        weight_decay: AdamW weight decay.
        ema_decay: decay of the EMA weights used for sampling.
        fanout: neighbours per node and edge type per hop in the subgraphs.
        device: torch device.
        verbose: show a progress bar.
        mixed_precision: bfloat16 autocast; ``None`` decides by hardware (see ``use_bf16``).
        torch_compile: run the per-row blocks through ``torch.compile``.
        clean_prob: in each subgraph, each table other than the seed's own rows is given
            clean (time 0) with this probability, so the model also learns to denoise
            next to known tables (``generate(clean_known=True)``).
        independent_times: share of subgraphs in which every table is noised at its own
            time instead of one time for the whole subgraph (see ``_table_times``).
        loss_hops: the loss covers the rows within this many hops of the seeds (0: the
            seeds only): more training signal per step, from rows whose neighbourhood is
            cut at the subgraph's edge.
        context_dropout: share of subgraphs in which every message is dropped, so the one
            network also denoises each row without its neighbours (the unconditional
            model classifier-free guidance needs, ``generate(guidance_scale > 1)``).
    """

    model: HeteroDenoiser
    diffusion: MixedDiffusion
    steps: int = 2000
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 0.0
    ema_decay: float = 0.995
    fanout: int = 8
    device: torch.device = field(default_factory=lambda: torch.device('cpu'))
    verbose: bool = True
    mixed_precision: bool | None = None
    torch_compile: bool = False
    clean_prob: float = 0.0
    independent_times: float = 0.0
    loss_hops: int = 0
    context_dropout: float = 0.0
    loss_history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0

    def fit(
        self,
        graph: RelationalGraph,
        tables: dict[str, TableTensors],
        generator: torch.Generator,
    ) -> HeteroDenoiser:
        """Train and return the EMA copy of the denoiser (on CPU, in eval mode).

        Under ``torchrun`` (several processes) this is data-parallel training with
        ``DistributedDataParallel``: each process draws its own subgraph batches and the
        gradients are averaged, so every process ends with the same weights.
        """
        rank, world, dev = init_distributed(self.device)
        model = self.model.to(dev).train()
        ema = copy.deepcopy(model).eval()
        for p in ema.parameters():
            p.requires_grad_(False)
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        warm = max(1, min(100, self.steps // 10))

        def lr_at(i: int) -> float:
            if i < warm:
                return (i + 1) / warm
            p = (i - warm) / max(1, self.steps - warm)
            return 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * p))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
        net = model
        if world > 1:
            # Each process its own batches: offset the batch generator by rank.
            base = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            generator = torch.Generator().manual_seed(base + rank)
            # Edge types absent from a batch leave their convolution unused in that step.
            net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        sampler = NeighborSampler(graph.num_nodes, graph.edge_index, model.num_layers, self.fanout).to(dev)
        data = {k: TableTensors(v.x_num.to(dev), v.x_cat.to(dev), v.num_classes) for k, v in tables.items()}
        struct = {k: v.to(dev) for k, v in graph.struct.items()}
        # Seeds come from tables with something to predict, sqrt-balanced so small tables
        # (e.g. 10 regions) are still trained while big ones dominate less than by size.
        trainable = [k for k, v in data.items()
                     if v.x_num.shape[1] + v.x_cat.shape[1] > 0 and graph.num_nodes[k] > 0]
        if not trainable:
            self.loss_history = []
            return ema.cpu()
        w = np.sqrt(np.array([graph.num_nodes[k] for k in trainable], dtype=float))
        per = np.maximum(1, np.round(self.batch_size * w / w.sum())).astype(int)
        per = {k: int(min(p, graph.num_nodes[k])) for k, p in zip(trainable, per)}
        use_amp = use_bf16(dev, self.mixed_precision)
        self.loss_history = []
        # Every draw happens on the training device (no host -> device copy per step).
        gen = generator if dev.type == 'cpu' else torch.Generator(device=dev).manual_seed(
            int(torch.randint(0, 2**62, (1,), generator=generator)))
        n_seed_total = sum(per.values())
        pending: list[tuple] = []
        start = time.perf_counter()
        bar = tqdm(range(self.steps), desc='Fit GRDM', disable=not self.verbose or rank > 0, leave=True)
        with compiled_blocks(self.torch_compile) as compiled:
            for i in bar:
                seeds = {k: torch.randint(0, graph.num_nodes[k], (per[k],), generator=gen, device=dev)
                         for k in trainable}
                batch = sampler.sample(seeds, generator=gen)
                t_table = self._table_times(n_seed_total, len(graph.num_nodes), gen, dev)
                x_num, x_cat, t, eps, masked = {}, {}, {}, {}, {}
                if self.clean_prob > 0:
                    held = torch.rand((n_seed_total, len(graph.num_nodes)), generator=gen,
                                      device=dev) < self.clean_prob
                for j, k in enumerate(graph.num_nodes):
                    ids = batch.node_ids[k]
                    d = data[k]
                    tk = t_table[batch.batch[k], j]
                    xn, xc = d.x_num[ids], d.x_cat[ids]
                    x_num[k], x_cat[k], eps[k], masked[k] = self.diffusion.add_noise(xn, xc, d.num_classes, tk, gen)
                    if self.clean_prob > 0:
                        # Not the seeds themselves: they are what the loss is on.
                        c = held[batch.batch[k], j]
                        c[: batch.num_seeds[k]] = False
                        x_num[k] = torch.where(c[:, None], xn, x_num[k])
                        x_cat[k] = torch.where(c[:, None], xc, x_cat[k])
                        tk = torch.where(c, torch.zeros_like(tk), tk)
                    t[k] = tk
                st = {k: struct[k][batch.node_ids[k]] for k in graph.num_nodes}
                edges = batch.edge_index
                if self.context_dropout > 0:
                    alone = torch.rand(n_seed_total, generator=gen, device=dev) < self.context_dropout
                    edges = {et: e[:, ~alone[batch.batch[et[2]][e[1]]]] for et, e in edges.items()}
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
                    out = net(x_num, x_cat, st, t, edges, hop_ptr=batch.hop_ptr,
                              compiled=compiled, out_hops=self.loss_hops)
                l_num_all, l_cat_all = [], []
                for k in trainable:
                    s = batch.hop_ptr[k][min(self.loss_hops + 1, len(batch.hop_ptr[k]) - 1)]
                    ln, lc = self.diffusion.loss(
                        out[k][0][:s], eps[k][:s], [lg[:s] for lg in out[k][1]],
                        data[k].x_cat[batch.node_ids[k][:s]], masked[k][:s],
                    )
                    # Rows given clean are inputs, not examples (never the seeds themselves).
                    w = (t[k][:s] > 0).float()
                    l_num_all.append((ln * w).sum() / w.sum().clamp(min=1))
                    l_cat_all.append((lc * w).sum() / w.sum().clamp(min=1))
                l_num = torch.stack(l_num_all).mean()
                l_cat = torch.stack(l_cat_all).mean()
                loss = l_num + l_cat
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                with torch.no_grad():
                    decay = min(self.ema_decay, (1 + i) / (10 + i))
                    ema_p = list(ema.parameters())
                    torch._foreach_lerp_(ema_p, list(model.parameters()), 1 - decay)
                # Losses stay on the device; they are read (one sync) every 50 steps.
                pending.append((i, torch.stack([loss, l_num, l_cat, *(
                    a + b for a, b in zip(l_num_all, l_cat_all))]).detach(),
                    int(sum(len(v) for v in batch.node_ids.values()))))
                if len(pending) == 50 or i == self.steps - 1:
                    self._record(pending, trainable, bar)
                    pending = []
        self.train_seconds = time.perf_counter() - start
        model.cpu()
        return ema.cpu().eval()

    def _table_times(self, n: int, n_types: int, gen, dev) -> torch.Tensor:
        """``(subgraphs, tables)`` diffusion times: one per subgraph, or one per table of it.

        In a share ``independent_times`` of the subgraphs every table gets its own time (as
        Diffusion Forcing gives every token its own), so the model learns to denoise a table
        next to tables at any other noise level, what ``generate(parent_lead > 0)`` shows it.
        """
        shared = self.diffusion.sample_time(n, gen, dev)[:, None].expand(n, n_types)
        if self.independent_times <= 0:
            return shared
        own = self.diffusion.sample_time(n * n_types, gen, dev).view(n, n_types)
        pick = torch.rand((n, 1), generator=gen, device=dev) < self.independent_times
        return torch.where(pick, own, shared)

    def _record(self, pending: list[tuple], trainable: list[str], bar) -> None:
        """Move a block of per-step losses to the history; stop on a non-finite loss."""
        values = torch.stack([v for _, v, _ in pending]).float().cpu().numpy()
        for (i, _, nodes), row in zip(pending, values):
            if not np.isfinite(row[0]):
                raise FloatingPointError(f'Training loss became {row[0]} at step {i}.')
            rec = {'Step': i, 'Loss': float(row[0]), 'Numerical Loss': float(row[1]),
                   'Categorical Loss': float(row[2]), 'Nodes': nodes}
            rec.update({f'Loss {k}': float(v) for k, v in zip(trainable, row[3:])})
            self.loss_history.append(rec)
        bar.set_postfix(loss=f'{values[-1, 0]:.3f}')


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
    guidance_scale: float = 1.0,
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
        levels: node type -> foreign-key level (0: no parent), for ``parent_lead``.
        parent_lead: how far each table's noise level trails its parents' (see
            ``MixedDiffusion.set_table_timesteps``; 0: every table at one time). A model
            trained with ``Trainer.independent_times > 0`` has seen such mixed levels.
        guidance_scale: classifier-free guidance on the neighbourhood: each step's noise
            and logits are ``u + w (c - u)``, ``c`` with messages and ``u`` without (a
            second, message-free pass). ``1``: no guidance, one pass. Needs a model trained
            with ``Trainer.context_dropout > 0``.
    """
    known = {k: KnownCells(*(x.to(device) for x in (v.x_num, v.num_mask, v.x_cat, v.cat_mask)))
             for k, v in (known or {}).items()}
    model = model.to(device).eval()
    # Every draw happens on the device (no host -> device copy per step).
    gen = generator if device.type == 'cpu' else torch.Generator(device=device).manual_seed(
        int(torch.randint(0, 2**62, (1,), generator=generator)))
    if chunk_size is None:
        chunk_size = 32768 if device.type == 'cpu' else 1 << 20
    caps = {et: _CappedNeighbours(*(x.to(device) for x in csr_by_destination(e, graph.num_nodes[et[2]])),
                                  fanout)
            for et, e in graph.edge_index.items()}
    struct = {k: v.to(device) for k, v in graph.struct.items()}
    x_num, x_cat = {}, {}
    for k, n in graph.num_nodes.items():
        x_num[k] = torch.randn((n, d_num[k]), generator=gen, device=device)
        mask_tok = torch.tensor(num_classes[k], dtype=torch.long)
        x_cat[k] = mask_tok.expand(n, len(num_classes[k])).clone().to(device)
        if k in known:
            x_cat[k] = torch.where(known[k].cat_mask, known[k].x_cat, x_cat[k])
    # Wholly known tables are given clean, at time 0, to a model trained with clean
    # neighbour tables (``Trainer.clean_prob``); they are not denoised at all.
    clean = {k for k, kc in known.items()
             if clean_known and bool(kc.num_mask.all()) and bool(kc.cat_mask.all())}
    for k in clean:
        x_num[k], x_cat[k] = known[k].x_num.clone(), known[k].x_cat.clone()
    known = {k: v for k, v in known.items() if k not in clean}
    levels = levels or {k: 0 for k in graph.num_nodes}
    grids = diffusion.set_table_timesteps(sampling_steps, {k: levels.get(k, 0) for k in graph.num_nodes},
                                          parent_lead)
    n_steps = len(next(iter(grids.values()))) - 1 if grids else 0
    if known:
        _impose(known, x_num, diffusion, {k: g[0] for k, g in grids.items()}, gen, device)
    use_amp = use_bf16(device, mixed_precision)
    bar = tqdm(range(n_steps), desc='Sample GRDM', disable=not verbose, leave=True)
    with compiled_blocks(torch_compile) as compiled:
        for i in bar:
            step_csr = {et: cap.draw(gen) for et, cap in caps.items()}
            times = {k: (0.0 if k in clean else grids[k][i]) for k in graph.num_nodes}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                h, t_emb = model.propagate(x_num, x_cat, struct, times, step_csr, chunk_size, compiled)
                alone = (model.propagate(x_num, x_cat, struct, times, {}, chunk_size, compiled)[0]
                         if guidance_scale != 1 else None)
            for k, n in graph.num_nodes.items():
                t, s = grids[k][i], grids[k][i + 1]
                if k in clean or t == s:  # held clean, not started yet, or done
                    continue
                new_num, new_cat = torch.empty_like(x_num[k]), torch.empty_like(x_cat[k])
                # Output layer and reverse step chunk by chunk: no (rows x classes) logits.
                for a in range(0, n, chunk_size):
                    b = min(n, a + chunk_size)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                        eps, logits_of = model.head(k, h[k][a:b], t_emb, compiled)
                        if alone is not None:
                            eps, logits_of = _guided(guidance_scale, (eps, logits_of),
                                                     model.head(k, alone[k][a:b], t_emb, compiled))
                    new_num[a:b], new_cat[a:b] = diffusion.step(
                        eps, logits_of, t, s, x_num[k][a:b], x_cat[k][a:b], num_classes[k],
                        generator=gen, temperature=temperature,
                    )
                x_num[k], x_cat[k] = new_num, new_cat
            del h, alone
            if known:
                _impose(known, x_num, diffusion, {k: g[i + 1] for k, g in grids.items()}, gen, device)
    model.cpu()
    return {k: TableTensors(x_num[k].cpu(), x_cat[k].cpu(), num_classes[k]) for k in graph.num_nodes}


def _guided(w: float, cond: tuple, uncond: tuple) -> tuple:
    """Classifier-free guidance ``u + w (c - u)`` of ``head``'s ``(eps, logits_of)``."""
    (eps_c, lc), (eps_u, lu) = cond, uncond
    eps = eps_u + w * (eps_c - eps_u)
    if lc is None:
        return eps, None

    def logits_of(j: int, rows: torch.Tensor) -> torch.Tensor:
        u = lu(j, rows)
        return u + w * (lc(j, rows) - u)

    return eps, logits_of


def _impose(known, x_num, diffusion, times: dict[str, float], generator, device) -> None:
    """Overwrite known numerical cells with their value noised to their table's time."""
    for k, kc in known.items():
        if not kc.num_mask.any():
            continue
        s = times[k]
        ab = diffusion.alpha_bar(torch.tensor([s], device=device)) if s > 0 else torch.ones(1, device=device)
        noise = torch.randn(kc.x_num.shape, generator=generator, device=device)
        noisy = ab.sqrt() * kc.x_num + (1 - ab).sqrt() * noise if s > 0 else kc.x_num
        x_num[k] = torch.where(kc.num_mask, noisy, x_num[k])


class _CappedNeighbours:
    """Per step, at most ``fanout`` sources per destination, as the training sampler draws.

    A row with more sources than ``fanout`` gets ``fanout`` uniform draws (with
    replacement, like ``NeighborSampler``); the others keep all their sources. The layout of
    the kept edges is the same at every step, so it is planned once; a step then costs one
    random draw and one gather over the kept edges (no sort, no host sync).
    """

    def __init__(self, rowptr: torch.Tensor, src: torch.Tensor, fanout: int | None) -> None:
        self.rowptr, self.src = rowptr, src
        deg = rowptr[1:] - rowptr[:-1]
        self.active = fanout is not None and len(src) > 0 and int(deg.max()) > fanout
        if not self.active:
            return
        take = deg.clamp(max=fanout)
        self.new_ptr = torch.zeros_like(rowptr)
        self.new_ptr[1:] = torch.cumsum(take, 0)
        rep = torch.repeat_interleave(torch.arange(len(deg), device=deg.device), take)
        self.start = rowptr[rep]
        self.pos = torch.arange(len(rep), device=deg.device) - self.new_ptr[rep]
        self.deg = deg[rep]
        self.big = self.deg > fanout

    def draw(self, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rowptr, src)`` of this step's edges."""
        if not self.active:
            return self.rowptr, self.src
        r = torch.rand(len(self.pos), generator=generator, device=self.pos.device)
        drawn = torch.minimum((r * self.deg).long(), self.deg - 1)
        return self.new_ptr, self.src[self.start + torch.where(self.big, drawn, self.pos)]
