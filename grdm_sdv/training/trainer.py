"""Training of the GRDM denoiser on one database graph (tensors only, no SDV).

``Trainer`` owns the optimizer, the EMA weights and the loss history; one step samples
disjoint K-hop subgraphs around seed rows of every table, noises each subgraph at its own
time (or each table of it at a time of its own), and trains the denoiser to predict the
noise (numbers) and the clean tokens (categories) of the seed rows and the rows within
``loss_hops`` of them. The reverse chain is :mod:`grdm_sdv.pipeline`.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.graph import RelationalGraph
from ..data.tensors import TableTensors
from ..diffusion import MixedDiffusion
from ..nn.denoiser import HeteroDenoiser
from ..nn.layers import compiled_blocks
from ..sampling.neighbors import NeighborSampler
from .runtime import init_distributed, use_bf16

LOGGER = logging.getLogger(__name__)


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
        # The fused kernel: one pass over every parameter instead of ~10 small ops per
        # tensor (the model has ~430); with the index_select in TimeRows.gather, an F1 training
        # step on 2 CPU cores is about 10% faster.
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay,
                                fused=dev.type in ('cpu', 'cuda'))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, self._lr_at)
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
        per = self._seeds_per_table(graph, data)
        self.loss_history = []
        if not per:
            return ema.cpu()
        # Every draw happens on the training device (no host -> device copy per step).
        gen = generator if dev.type == 'cpu' else torch.Generator(device=dev).manual_seed(
            int(torch.randint(0, 2**62, (1,), generator=generator)))
        pending: list[tuple] = []
        start = time.perf_counter()
        bar = tqdm(range(self.steps), desc='Fit GRDM', disable=not self.verbose or rank > 0, leave=True)
        with compiled_blocks(self.torch_compile) as compiled:
            for i in bar:
                seeds = {k: torch.randint(0, graph.num_nodes[k], (n,), generator=gen, device=dev)
                         for k, n in per.items()}
                batch = sampler.sample(seeds, generator=gen)
                loss, l_num, l_cat, per_table = self._loss(net, graph, batch, data, struct, per, gen,
                                                           dev, compiled)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                with torch.no_grad():
                    decay = min(self.ema_decay, (1 + i) / (10 + i))
                    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
                # Losses stay on the device; they are read (one sync) every 50 steps.
                pending.append((i, torch.stack([loss, l_num, l_cat, *per_table]).detach(),
                                int(sum(len(v) for v in batch.node_ids.values()))))
                if len(pending) == 50 or i == self.steps - 1:
                    self._record(pending, list(per), bar)
                    pending = []
        self.train_seconds = time.perf_counter() - start
        model.cpu()
        return ema.cpu().eval()

    def _lr_at(self, i: int) -> float:
        """Learning-rate factor: linear warm-up, then cosine decay to 10%."""
        warm = max(1, min(100, self.steps // 10))
        if i < warm:
            return (i + 1) / warm
        p = (i - warm) / max(1, self.steps - warm)
        return 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * p))

    def _seeds_per_table(self, graph: RelationalGraph, data: dict[str, TableTensors]) -> dict[str, int]:
        """Seed rows per step of each table with something to predict (none: nothing to train).

        Shared by ``sqrt`` of the table sizes, so small tables (e.g. 10 regions) are still
        trained while big ones dominate less than by size.
        """
        trainable = [k for k, v in data.items()
                     if v.x_num.shape[1] + v.x_cat.shape[1] > 0 and graph.num_nodes[k] > 0]
        if not trainable:
            return {}
        w = np.sqrt(np.array([graph.num_nodes[k] for k in trainable], dtype=float))
        per = np.maximum(1, np.round(self.batch_size * w / w.sum())).astype(int)
        return {k: int(min(p, graph.num_nodes[k])) for k, p in zip(trainable, per)}

    def _noised(self, graph: RelationalGraph, batch, data: dict[str, TableTensors], n_seeds: int,
                gen, dev) -> tuple[dict, dict, dict, dict, dict]:
        """``(x_num, x_cat, t, eps, masked)`` of a subgraph batch noised for one step."""
        t_table = self._table_times(n_seeds, len(graph.num_nodes), gen, dev)
        x_num, x_cat, t, eps, masked = {}, {}, {}, {}, {}
        if self.clean_prob > 0:
            held = torch.rand((n_seeds, len(graph.num_nodes)), generator=gen, device=dev) < self.clean_prob
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
        return x_num, x_cat, t, eps, masked

    def _loss(self, net, graph: RelationalGraph, batch, data: dict[str, TableTensors], struct,
              per: dict[str, int], gen, dev, compiled):
        """``(loss, numerical part, categorical part, per-table losses)`` of one batch."""
        n_seeds = sum(per.values())
        x_num, x_cat, t, eps, masked = self._noised(graph, batch, data, n_seeds, gen, dev)
        st = {k: struct[k][batch.node_ids[k]] for k in graph.num_nodes}
        edges = batch.edge_index
        if self.context_dropout > 0:
            alone = torch.rand(n_seeds, generator=gen, device=dev) < self.context_dropout
            edges = {et: e[:, ~alone[batch.batch[et[2]][e[1]]]] for et, e in edges.items()}
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16(dev, self.mixed_precision)):
            out = net(x_num, x_cat, st, t, edges, hop_ptr=batch.hop_ptr,
                      compiled=compiled, out_hops=self.loss_hops)
        l_num_all, l_cat_all = [], []
        for k in per:
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
        return l_num + l_cat, l_num, l_cat, [a + b for a, b in zip(l_num_all, l_cat_all)]

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


__all__ = ['Trainer']
