"""Children's means as inputs of their parent: every sibling hears all of its siblings.

Siblings share effects that no parent column carries (the laps of one F1 race, the
per-region effect of the planted database's ``visits``). Siblings reach each other only
through their parent, whose message is the mean over at most ``fanout`` of them, redrawn at
every step. Here each parent row is also given, for every foreign key pointing at it, the
mean of its children's *current* numbers (the noisy ones while they are denoised) over all
of its children, with the children's signal and noise shares at their time, so the parent's
state, which each child hears one hop later, carries the exact sufficient statistic of an
effect the siblings share. Unlike ``child_summaries`` (means the parent *generates*), nothing
is added to what is generated.

In training, a subgraph holds only some of a parent's children; the others are noised for
the mean at the children's time in that subgraph, independently, which is the distribution
of their noisy numbers (the children present contribute their own noisy rows, so the mean
holds the seed's own noise as at sampling).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .graph import EdgeType, RelationalGraph

__all__ = ['ChildMeans', 'child_mean_dims', 'means_target']


def means_target(option) -> str | None:
    """Who is given the means for a ``child_means`` setting: ``'parent'`` (``True`` or
    ``'parent'``), ``'children'`` (``'siblings'``) or ``None`` (``False``)."""
    if option is False or option is None:
        return None
    return 'children' if option in ('siblings', 'hubs') else 'parent'


def child_mean_dims(schema, d_num: dict[str, int], to: str = 'parent', keys=None) -> dict[str, int]:
    """Node type -> width of its children's-means inputs (``d_num``: node type -> numbers;
    ``to``: who is given them, the parents or the children themselves)."""
    nt = RelationalGraph.node_types(schema)
    dims = dict.fromkeys(nt.values(), 0)
    for fk in schema.foreign_keys:
        if d_num[nt[fk.child]] and (keys is None or fk.name in keys):
            dims[nt[fk.parent] if to == 'parent' else nt[fk.child]] += d_num[nt[fk.child]] + 2
    return dims


@dataclass
class _Part:
    child: str
    parent: str
    link: torch.Tensor   # (n_child,) parent row of each child, -1 for none
    count: torch.Tensor  # (n_parent,) float, children in the graph
    width: int


class ChildMeans:
    """The children's-means inputs of every parent table of one graph.

    Args:
        graph: the database graph (its reverse edge types give the links).
        d_num: node type -> width of its numerical block.
        noise: ``t -> (signal share, noise share)`` of the numbers at time ``t``
            (``sqrt(abar_t)``, ``sqrt(1 - abar_t)``).
        device: where the links are held.
        to: ``'parent'``: each parent row is given its children's means; ``'children'``:
            each child row is given the means over its parent's children (its siblings and
            itself), per foreign key, and the parent is left as it was.
    """

    def __init__(self, graph: RelationalGraph, d_num: dict[str, int], noise, device=None,
                 to: str = 'parent', keys=None) -> None:
        self.noise, self.to = noise, to
        self.parts: list[_Part] = []
        # Reverse edge types (parent, 'rev_<fk>', child) exist whatever the message direction,
        # in foreign-key order, as child_mean_dims counts them.
        for (p, rel, c), e in graph.edge_index.items():
            if not rel.startswith('rev_') or not d_num[c] or (keys is not None and rel[4:] not in keys):
                continue
            link = torch.full((graph.num_nodes[c],), -1, dtype=torch.long)
            link[e[1]] = e[0]
            count = torch.bincount(e[0], minlength=graph.num_nodes[p]).float()
            self.parts.append(_Part(c, p, link.to(device), count.to(device), d_num[c]))
        self._sums: dict[int, torch.Tensor] = {}

    def widths(self) -> dict[str, int]:
        """Node type -> width of its inputs."""
        out: dict[str, int] = {}
        for part in self.parts:
            k = part.parent if self.to == 'parent' else part.child
            out[k] = out.get(k, 0) + part.width + 2
        return out

    def _features(self, part: _Part, total: torch.Tensor, count: torch.Tensor,
                  t: torch.Tensor) -> torch.Tensor:
        a, s = self.noise(t)
        n = count.clamp(min=1)
        return torch.cat([total / n[:, None], a[:, None].expand(len(n), 1),
                          (s / n.sqrt())[:, None]], 1)

    def full(self, x_num: dict[str, torch.Tensor], times: dict[str, float]) -> dict[str, torch.Tensor]:
        """Parent node type -> ``(rows, width)`` inputs from the children's current numbers
        (full-graph sampling; ``times``: node type -> its time now)."""
        feats: dict[str, list[torch.Tensor]] = {}
        for part in self.parts:
            y = x_num[part.child]
            ok = part.link >= 0
            total = y.new_zeros(len(part.count), part.width).index_add_(0, part.link[ok], y[ok].float())
            t = torch.full((len(part.count),), float(times[part.child]), device=y.device)
            f = self._features(part, total, part.count, t)
            if self.to == 'parent':
                feats.setdefault(part.parent, []).append(f)
            else:
                f = f[part.link.clamp(min=0)] * ok[:, None]
                feats.setdefault(part.child, []).append(f)
        return {k: torch.cat(v, 1) for k, v in feats.items()}

    def batch(self, batch, x_noisy: dict[str, torch.Tensor], x_clean: dict[str, torch.Tensor],
              child_time, generator) -> dict[str, torch.Tensor]:
        """Parent node type -> inputs of a training batch's parent rows.

        Args:
            batch: the :class:`~grdm_sdv.sampling.neighbors.SubgraphBatch`.
            x_noisy: node type -> the batch rows' noisy numbers.
            x_clean: node type -> every row's clean numbers (the whole table).
            child_time: ``(subgraph, node type) -> time``: ``child_time(b, k)`` gives the
                time of node type ``k``'s rows outside the batch in subgraphs ``b``.
        """
        feats: dict[str, list[torch.Tensor]] = {}
        for i, part in enumerate(self.parts):
            c, p = part.child, part.parent
            n_p = len(part.count)
            ids_p, b_p = batch.node_ids[p], batch.batch[p]
            if i not in self._sums:  # every parent's sum of its children's clean numbers
                ok = part.link >= 0
                self._sums[i] = x_clean[c].new_zeros(n_p, part.width).index_add_(
                    0, part.link[ok], x_clean[c][ok])
            if self.to != 'parent':
                feats.setdefault(c, []).append(self._to_children(i, part, batch, x_noisy, x_clean,
                                                                 child_time, generator))
                continue
            # The batch's children of each batch parent: same subgraph, linked to its row.
            key_p = b_p * n_p + ids_p
            sorted_p, perm = torch.sort(key_p)
            lp = part.link[batch.node_ids[c]]
            rows = torch.nonzero(lp >= 0).squeeze(1)
            ck = batch.batch[c][rows] * n_p + lp[rows]
            pos = torch.searchsorted(sorted_p, ck).clamp_(max=max(len(sorted_p) - 1, 0))
            hit = sorted_p[pos] == ck if len(sorted_p) else torch.zeros_like(ck, dtype=torch.bool)
            rows, dst = rows[hit], perm[pos[hit]]
            sub_y = x_noisy[c].new_zeros(len(ids_p), part.width).index_add_(0, dst, x_noisy[c][rows].float())
            sub_x = x_noisy[c].new_zeros(len(ids_p), part.width).index_add_(
                0, dst, x_clean[c][batch.node_ids[c][rows]])
            m = torch.bincount(dst, minlength=len(ids_p)).float()
            count = part.count[ids_p]
            t = child_time(b_p, c)
            a, s = self.noise(t)
            rest = (count - m).clamp(min=0)
            noise = torch.randn(sub_y.shape, generator=generator, device=sub_y.device)
            total = sub_y + a[:, None] * (self._sums[i][ids_p] - sub_x) + (s * rest.sqrt())[:, None] * noise
            feats.setdefault(p, []).append(self._features(part, total, count, t))
        return {k: torch.cat(v, 1) for k, v in feats.items()}

    def _to_children(self, i: int, part: _Part, batch, x_noisy, x_clean, child_time,
                     generator) -> torch.Tensor:
        """Each batch child's means over its parent's children: those of its subgraph as
        they are in the batch, the others noised at their time in that subgraph."""
        c, n_p = part.child, len(part.count)
        ids_c = batch.node_ids[c]
        lp = part.link[ids_c]
        rows = torch.nonzero(lp >= 0).squeeze(1)
        out = x_noisy[c].new_zeros(len(ids_c), part.width + 2, dtype=torch.float32)
        if not len(rows):
            return out
        key = batch.batch[c][rows] * n_p + lp[rows]
        uniq, inv = torch.unique(key, return_inverse=True)
        sub_y = out.new_zeros(len(uniq), part.width).index_add_(0, inv, x_noisy[c][rows].float())
        sub_x = out.new_zeros(len(uniq), part.width).index_add_(0, inv, x_clean[c][ids_c[rows]])
        m = torch.bincount(inv, minlength=len(uniq)).float()
        parent = uniq % n_p
        count = part.count[parent]
        t = child_time(torch.div(uniq, n_p, rounding_mode='floor'), c)
        a, s = self.noise(t)
        rest = (count - m).clamp(min=0)
        noise = torch.randn(sub_y.shape, generator=generator, device=sub_y.device)
        total = sub_y + a[:, None] * (self._sums[i][parent] - sub_x) + (s * rest.sqrt())[:, None] * noise
        out[rows] = self._features(part, total, count, t)[inv]
        return out
