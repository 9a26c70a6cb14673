"""Structure model p(V, E): a degree-preserving random relational graph.

Fit records, per table, every real row's *vector* of child counts (one entry per foreign key
pointing at the table), and per child table the null rate of each foreign key. Sampling:

* root tables get ``round(scale * n)`` rows;
* every other table has one *primary* foreign key (the least-null one): its row count is the
  sum of the primary parents' child counts (plus rows with a null primary key, scaled);
* each synthetic row of a table takes its whole child-count vector from one real row
  (every real row once per whole multiple of the size, the remainder drawn without
  replacement), so a parent's child counts in different child tables keep going together
  (unlike the reference code, which draws each foreign key independently);
* the other foreign keys of a multi-parent table are matched by configuration-model stub
  matching: parent ``q`` gets about ``d_q`` children, rescaled so the stubs add up to the rows
  that need a parent, then shuffled. Repeated (primary, secondary) pairs are reduced by
  degree-preserving swaps until they are no more frequent than in the real data.

Everything is vectorized numpy, O(rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data.schema import ForeignKey, RelationalSchema


@dataclass
class StructureModel:
    """Degree-preserving structure sampler. See the module docstring.

    Attributes (learned by :meth:`fit`):
        n_rows: real row count per table.
        degrees: table -> ``n x c`` int matrix of child counts, one column per child FK.
        null_rate: fk name -> share of child rows whose FK is null.
        primary: child table -> name of its primary FK.
        null_primary: child table -> rows with a null primary FK per primary-parent row.
        dup_rate: fk name -> share of rows whose (primary, this) parent pair repeats.
    """

    schema: RelationalSchema
    n_rows: dict[str, int] = field(default_factory=dict)
    degrees: dict[str, np.ndarray] = field(default_factory=dict)
    null_rate: dict[str, float] = field(default_factory=dict)
    primary: dict[str, str] = field(default_factory=dict)
    null_primary: dict[str, float] = field(default_factory=dict)
    dup_rate: dict[str, float] = field(default_factory=dict)

    def fit(self, n_rows: dict[str, int], links: dict[str, np.ndarray]) -> 'StructureModel':
        """Learn the structure.

        Args:
            n_rows: rows per table.
            links: fk name -> parent row index of every child row (``-1`` where null).
        """
        s = self.schema
        self.n_rows = dict(n_rows)
        for t in s.tables:
            kids = s.children_of(t)
            cols = [np.bincount(links[fk.name][links[fk.name] >= 0], minlength=n_rows[t])
                    for fk in kids]
            self.degrees[t] = (np.stack(cols, 1) if cols else np.zeros((n_rows[t], 0))).astype(np.int64)
        for fk in s.foreign_keys:
            self.null_rate[fk.name] = float((links[fk.name] < 0).mean()) if n_rows[fk.child] else 0.0
        for t in s.tables:
            fks = s.parents_of(t)
            if not fks:
                continue
            # A foreign key that is the table's primary key (1-to-1) is always the primary FK:
            # its rows then come from the parents' sampled counts, each 0 or 1 as in the data,
            # so no parent gets two rows with its key.
            prim = min(fks, key=lambda fk: (fk.column != s.primary_keys.get(t),
                                            self.null_rate[fk.name], s.foreign_keys.index(fk)))
            self.primary[t] = prim.name
            n_null = int((links[prim.name] < 0).sum())
            self.null_primary[t] = n_null / max(1, n_rows[prim.parent])
            for fk in fks:
                if fk is prim:
                    continue
                self.dup_rate[fk.name] = _dup_rate(links[prim.name], links[fk.name])
        return self

    def _fk(self, name: str) -> ForeignKey:
        return next(fk for fk in self.schema.foreign_keys if fk.name == name)

    def sample(
        self,
        scale: float,
        rng: np.random.Generator,
        fixed_rows: dict[str, int] | None = None,
        fixed_links: dict[str, np.ndarray] | None = None,
    ) -> tuple[dict[str, int], dict[str, np.ndarray]]:
        """Sample a new graph.

        Args:
            scale: size factor relative to the real database.
            rng: numpy generator (the only source of randomness).
            fixed_rows: optional table -> row count to force (a table kept as given). A
                non-root table in it must have all its foreign keys in ``fixed_links``.
            fixed_links: fk name -> parent row index per child row, for kept tables.

        Returns:
            ``(n_rows, links)`` in the same form :meth:`fit` takes.
        """
        s = self.schema
        n_syn: dict[str, int] = {}
        deg_syn: dict[str, np.ndarray] = {}
        links: dict[str, np.ndarray] = {}
        for t in s.tables:
            fks = s.parents_of(t)
            if fixed_rows and t in fixed_rows:
                n = int(fixed_rows[t])
                for fk in fks:
                    links[fk.name] = np.asarray(fixed_links[fk.name], dtype=np.int64)
            elif not fks:
                n = max(1, int(round(scale * self.n_rows[t])))
            else:
                prim = self._fk(self.primary[t])
                col = s.children_of(prim.parent).index(prim)
                counts = deg_syn[prim.parent][:, col]
                n_null = int(round(self.null_primary[t] * n_syn[prim.parent]))
                parent_idx = np.repeat(np.arange(n_syn[prim.parent]), counts)
                links[prim.name] = np.concatenate([parent_idx, np.full(n_null, -1)]).astype(np.int64)
                n = len(links[prim.name])
                for fk in fks:
                    if fk is prim:
                        continue
                    links[fk.name] = self._match(fk, n, n_syn, deg_syn, links[prim.name], rng)
            n_syn[t] = n
            real_deg = self.degrees[t]
            if real_deg.shape[1]:
                if self.n_rows[t] == 0:
                    deg_syn[t] = np.zeros((n, real_deg.shape[1]), np.int64)
                else:
                    deg_syn[t] = real_deg[_resample(self.n_rows[t], n, rng)]
            else:
                deg_syn[t] = real_deg[:0].reshape(n, 0) if n == 0 else np.zeros((n, 0), np.int64)
        return n_syn, links

    def _match(self, fk, n, n_syn, deg_syn, primary_links, rng) -> np.ndarray:
        """Assign a parent of ``fk`` to ``n`` child rows keeping parent degrees (stub matching)."""
        n_parent = n_syn[fk.parent]
        out = np.full(n, -1, np.int64)
        n_null = int(round(self.null_rate[fk.name] * n))
        need = rng.permutation(n)[: n - n_null]
        m = len(need)
        if m == 0 or n_parent == 0:
            return out
        col = self.schema.children_of(fk.parent).index(fk)
        d = deg_syn[fk.parent][:, col].astype(np.float64)
        if d.sum() == 0:
            d = np.ones(n_parent)
        # Rescale the wanted degrees to exactly m stubs: floor, then hand out the remainder
        # in proportion to the fractional parts.
        want = d * (m / d.sum())
        base = np.floor(want).astype(np.int64)
        rest = m - int(base.sum())
        if rest > 0:
            frac = want - base
            extra = rng.choice(n_parent, size=rest, replace=False, p=frac / frac.sum()) \
                if (frac > 0).sum() >= rest else rng.choice(n_parent, size=rest)
            np.add.at(base, extra, 1)
        stubs = rng.permutation(np.repeat(np.arange(n_parent), base))
        out[need] = stubs
        return _reduce_duplicates(primary_links, out, self.dup_rate.get(fk.name, 1.0), rng)


def _resample(n_real: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices from ``range(n_real)``: whole copies, then a draw without replacement.

    Lower variance than i.i.d. bootstrap: at scale 1 every real degree vector is used once, so
    a table of 77 circuits does not randomly give 10% fewer races (and fewer of everything
    below them).
    """
    full, rest = divmod(n, n_real)
    idx = np.concatenate([np.tile(np.arange(n_real), full), rng.choice(n_real, rest, replace=False)])
    return rng.permutation(idx)


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.int64) + 1) * (int(b.max(initial=0)) + 2) + (b.astype(np.int64) + 1)


def _duplicated(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean mask: rows whose non-null (a, b) pair appeared earlier."""
    valid = (a >= 0) & (b >= 0)
    keys = _pair_keys(a, b)
    order = np.argsort(keys, kind='stable')
    sk = keys[order]
    dup_sorted = np.zeros(len(keys), bool)
    dup_sorted[1:] = sk[1:] == sk[:-1]
    dup = np.zeros(len(keys), bool)
    dup[order] = dup_sorted
    return dup & valid


def _dup_rate(a: np.ndarray, b: np.ndarray) -> float:
    return float(_duplicated(a, b).mean()) if len(a) else 0.0


def _reduce_duplicates(a, b, target_rate, rng, rounds: int = 20) -> np.ndarray:
    """Swap parents of duplicated pairs with random rows (keeps every parent's degree)."""
    b = b.copy()
    valid = np.flatnonzero(b >= 0)
    if len(valid) < 2:
        return b
    for _ in range(rounds):
        dup = np.flatnonzero(_duplicated(a, b))
        if len(dup) <= target_rate * len(b) + 0.5:
            break
        partners = valid[rng.integers(0, len(valid), len(dup))]
        keep = (b[dup] >= 0) & (partners != dup)
        dup, partners = dup[keep], partners[keep]
        # Do not touch a row twice in one round (keeps the swap a permutation).
        _, first = np.unique(np.concatenate([dup, partners]), return_index=True)
        ok = np.zeros(2 * len(dup), bool)
        ok[first] = True
        ok = ok[: len(dup)] & ok[len(dup):]
        dup, partners = dup[ok], partners[ok]
        b[dup], b[partners] = b[partners], b[dup].copy()
    return b
