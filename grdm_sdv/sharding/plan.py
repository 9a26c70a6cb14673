"""Which rows each shard generates, and which parent rows it holds clean around them.

The structure (keys only) is sampled once, globally. The attributes are then generated in
*stages* and, within a stage, in *shards*:

* Every table with parents hangs under one of its foreign keys, its *tree key*
  (:func:`tree_keys`), so rows form trees: a row and its descendants along tree keys. A
  table that some other table references through another foreign key (F1's ``driver``
  under ``result.driverId``, the tree key being ``raceId``) cannot be generated tree by tree:
  its rows are shared by many trees. It goes in an earlier stage, with its ancestors as far
  as they are not shared either. Tables are generated as late as possible, together with
  their tree children.
* A stage's rows are cut into *units*: the rows under one parent of an earlier stage
  (siblings together), or a row without a tree parent, each with its descendants in the
  stage. Consecutive units are packed into shards of at most ``shard_rows`` rows; a unit
  larger than that is a shard of its own.
* A shard's graph holds its generated rows, and, held clean, the earlier-stage rows they
  reference with all their ancestors. Structural features (child counts) are the global
  ones, so a parent held for a shard is still seen with all its children's count.

Generation then needs, per shard, memory for its rows and its parents only: the database's
size bounds nothing but the keys-only structure. Pure numpy, O(rows).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..data.schema import RelationalSchema


def stages(schema: RelationalSchema, tree: dict[str, str]) -> list[list[str]]:
    """Tables per stage, in generation order (each list in topological order).

    Args:
        tree: child table -> name of the foreign key its rows hang under in a unit
            (see :func:`tree_keys`); its other foreign keys point at earlier stages.
    """
    depth: dict[str, int] = {}
    for t in reversed(schema.tables):  # children first
        depth[t] = max((depth[fk.child] + (tree.get(fk.child) != fk.name)
                        for fk in schema.children_of(t)), default=0)
    last = max(depth.values(), default=0)
    return [[t for t in schema.tables if last - depth[t] == s] for s in range(last + 1)]


def tree_keys(schema: RelationalSchema, n_rows: dict[str, int],
              prefer: dict[str, str] | None = None) -> dict[str, str]:
    """For each table with parents, the foreign key its rows are grouped under.

    Chosen so that as few rows as possible fall in earlier stages (generated before, and
    without, their children): for F1, races with all their results, standings and
    qualifying rows, under their circuits, while drivers and constructors come first. Every
    combination is tried when there are at most 4,096, else one key at a time from
    ``prefer`` (the structure's primary keys); ties keep ``prefer``'s choice.
    """
    options = {}
    for t in schema.tables:
        names = [fk.name for fk in schema.parents_of(t)]
        if names:
            first = (prefer or {}).get(t, names[0])
            options[t] = [first] + [n for n in names if n != first]

    def cost(tree):
        return sum(n_rows[t] for s in stages(schema, tree)[:-1] for t in s)

    if math.prod(len(v) for v in options.values()) <= 4096:
        trees = (dict(zip(options, combo)) for combo in itertools.product(*options.values()))
        return min(trees, key=cost, default={})  # min keeps the first of equal costs
    choice = {t: v[0] for t, v in options.items()}
    best = cost(choice)
    for _ in range(len(choice)):
        before = best
        for t, names in options.items():
            for name in names:
                trial = {**choice, t: name}
                if (c := cost(trial)) < best:
                    choice, best = trial, c
        if best == before:
            break
    return choice


@dataclass
class ShardPlan:
    """Every shard of every stage, numbered in generation order.

    Attributes:
        stages: tables per stage.
        stage_of_shard: stage of each shard.
        order: table -> its row numbers sorted by shard (int32 or int64).
        bounds: table -> where each shard's rows start in ``order``, for the shards of the
            table's stage (``first[stage]`` is the first of them).
        first: stage -> index of its first shard.
    """

    stages: list[list[str]]
    stage_of_shard: list[int]
    order: dict[str, np.ndarray]
    bounds: dict[str, np.ndarray]
    first: list[int]

    def __len__(self) -> int:
        return len(self.stage_of_shard)

    def shards_of(self, stage: int) -> range:
        """The shards of ``stage``."""
        end = self.first[stage + 1] if stage + 1 < len(self.first) else len(self.stage_of_shard)
        return range(self.first[stage], end)

    def tables(self, shard: int) -> list[str]:
        """The tables ``shard`` generates."""
        return self.stages[self.stage_of_shard[shard]]

    def rows(self, shard: int, table: str) -> np.ndarray:
        """Sorted global row numbers of ``table`` that ``shard`` generates."""
        if table not in self.tables(shard):
            return np.empty(0, np.int64)
        k = shard - self.first[self.stage_of_shard[shard]]
        b = self.bounds[table]
        return self.order[table][b[k]:b[k + 1]].astype(np.int64)

    def size(self, shard: int) -> int:
        """Rows ``shard`` generates."""
        k = shard - self.first[self.stage_of_shard[shard]]
        return int(sum(self.bounds[t][k + 1] - self.bounds[t][k] for t in self.tables(shard)))


def plan_shards(schema: RelationalSchema, tree: dict[str, str], n_rows: dict[str, int],
                links: dict[str, np.ndarray], shard_rows: int) -> ShardPlan:
    """Cut a sampled structure into shards of about ``shard_rows`` generated rows.

    Depends on the structure and ``shard_rows`` only (never on the number of workers), so a
    shard's index can seed it.
    """
    if shard_rows < 1:
        raise ValueError(f'shard_rows must be at least 1, got {shard_rows}')
    by_name = {fk.name: fk for fk in schema.foreign_keys}
    plan = ShardPlan(stages(schema, tree), [], {}, {}, [])
    for s, tables in enumerate(plan.stages):
        unit_of = _units(tables, tree, by_name, n_rows, links)
        n_units = 1 + max((int(u.max()) for u in unit_of.values() if len(u)), default=-1)
        sizes = sum(np.bincount(u, minlength=n_units) for u in unit_of.values())
        shard_of_unit = _pack(np.asarray(sizes, np.int64).reshape(-1), shard_rows)
        n_shards = int(shard_of_unit.max()) + 1 if n_units else 0
        plan.first.append(len(plan.stage_of_shard))
        plan.stage_of_shard.extend([s] * n_shards)
        for t, u in unit_of.items():
            row_shard = shard_of_unit[u]
            order = np.argsort(row_shard, kind='stable')
            plan.order[t] = order.astype(np.int32 if len(order) < 2**31 else np.int64)
            plan.bounds[t] = np.searchsorted(row_shard[order], np.arange(n_shards + 1))
    return plan


def _pack(sizes: np.ndarray, shard_rows: int) -> np.ndarray:
    """Shard of each unit: consecutive units, as many as fit in ``shard_rows`` (at least one).
    One step per shard, not per unit."""
    cum = np.concatenate([[0], np.cumsum(sizes)])
    starts, i = [], 0
    while i < len(sizes):
        starts.append(i)
        i = max(int(np.searchsorted(cum, cum[i] + shard_rows, side='right')) - 1, i + 1)
    return np.repeat(np.arange(len(starts)), np.diff(starts + [len(sizes)]))


def _units(tables, tree, by_name, n_rows, links) -> dict[str, np.ndarray]:
    """Table -> unit number of each of its rows, for one stage's tables."""
    unit_of: dict[str, np.ndarray] = {}
    n_units = 0
    for t in tables:
        n = n_rows[t]
        fk = by_name.get(tree.get(t, ''))
        u = np.empty(n, np.int64)
        has = np.zeros(n, bool)
        if fk is not None:
            link = links[fk.name]
            has = link >= 0
            if fk.parent in unit_of:  # under a row of this stage: that row's unit
                u[has] = unit_of[fk.parent][link[has]]
            else:  # under an earlier stage's row: one unit per parent, siblings together
                _, rank = np.unique(link[has], return_inverse=True)
                u[has] = n_units + rank
                n_units += int(rank.max()) + 1 if len(rank) else 0
        # Rows without a parent in the tree start a unit each.
        u[~has] = n_units + np.arange(int((~has).sum()))
        n_units += int((~has).sum())
        unit_of[t] = u
    return unit_of


@dataclass
class ShardGraph:
    """A shard's subgraph, in the form :meth:`RelationalGraph.build` takes.

    Attributes:
        rows: table -> the global row numbers it holds (sorted); tables absent hold none.
        generated: tables whose rows the shard generates (in topological order); the other
            tables in ``rows`` are held clean.
        n_rows: table -> rows in the subgraph (every table).
        links: fk name -> local parent row per local child row (``-1``: null).
        child_counts: fk name -> the global child count of each local parent row.
    """

    rows: dict[str, np.ndarray]
    generated: list[str]
    n_rows: dict[str, int]
    links: dict[str, np.ndarray]
    child_counts: dict[str, np.ndarray] = field(default_factory=dict)

    def siblings_complete(self, fk: str) -> bool:
        """Whether every parent row with children here along ``fk`` has all of them here."""
        local, counts = self.links[fk], self.child_counts[fk]
        here = np.bincount(local[local >= 0], minlength=len(counts))
        return bool(((here == 0) | (here == counts)).all())


def child_counts(schema: RelationalSchema, n_rows: dict[str, int],
                 links: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """fk name -> children per parent row in the whole sampled structure (int32)."""
    return {fk.name: np.bincount(links[fk.name][links[fk.name] >= 0],
                                 minlength=n_rows[fk.parent]).astype(np.int32)
            for fk in schema.foreign_keys}


def shard_graph(schema: RelationalSchema, plan: ShardPlan, shard: int,
                links: dict[str, np.ndarray], counts: dict[str, np.ndarray]) -> ShardGraph:
    """The subgraph that generates ``shard``: its rows, and the earlier-stage rows they
    reference with all their ancestors, held clean."""
    generated = plan.tables(shard)
    rows = {t: plan.rows(shard, t) for t in generated}
    needed: dict[str, list[np.ndarray]] = {}
    for t in reversed(schema.tables):  # children first: a table's needs are complete here
        if t not in rows:
            if t not in needed:
                continue
            rows[t] = np.unique(np.concatenate(needed.pop(t)))
        for fk in schema.parents_of(t):
            if fk.parent in generated:
                continue  # a tree parent in this stage: in this shard by construction
            parents = links[fk.name][rows[t]]
            needed.setdefault(fk.parent, []).append(parents[parents >= 0])
    local = {}
    for fk in schema.foreign_keys:
        child_rows = rows.get(fk.child, np.empty(0, np.int64))
        local[fk.name] = _local(links[fk.name][child_rows], rows.get(fk.parent, np.empty(0, np.int64)))
    return ShardGraph(
        rows=rows, generated=generated,
        n_rows={t: len(rows.get(t, ())) for t in schema.tables}, links=local,
        child_counts={fk.name: counts[fk.name][rows[fk.parent]] if fk.parent in rows
                      else np.zeros(0, np.int32) for fk in schema.foreign_keys},
    )


def _local(parents: np.ndarray, parent_rows: np.ndarray) -> np.ndarray:
    """Global parent rows -> their positions in the sorted ``parent_rows`` (``-1``: null)."""
    out = np.full(len(parents), -1, np.int64)
    has = parents >= 0
    if has.any():
        pos = np.searchsorted(parent_rows, parents[has])
        if (pos >= len(parent_rows)).any() or (parent_rows[np.minimum(pos, len(parent_rows) - 1)]
                                               != parents[has]).any():  # pragma: no cover
            raise AssertionError('a shard references a parent row it does not hold')
        out[has] = pos
    return out
