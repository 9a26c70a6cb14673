"""Child places: where a parent's children sit, given to the model as a structural input.

A driver's results, standings and qualifying rows share his skill, a team's its strength:
an effect shared by one parent's children that no parent column shows (in F1, 30% of the
variance of a result's finishing position lies between drivers; 0.2.11 generated 18%, and
the per-driver means spread 0.80x the real ones). The denoiser draws each row from its own
conditional and hears its siblings only through the parent, so siblings agree too little.
Since the structure step gives every generated parent the child counts of one real row (its
*source*, :class:`~grdm_sdv.structure.StructureModel`), the parent can take that row's
*place* among its children too: per foreign key into a leaf table, the first principal
component of the per-parent means of the children's numbers (in the encoder's
standard-normal space), shrunk toward the middle by how reliable a mean over that many
children is (see :func:`_place`). The model is given it as it is given the child counts and
the co-parent places, and generates the children (and the parent's own columns) to agree
with it. One number per parent and foreign key is copied, never a child row.

Only *top-level* tables (no parent of their own) get places, and only from *leaf* child
tables (no children of their own): a table with a parent must also agree with the parent it
is generated under, and a child table with children takes its own rows' places from its own
sources, so a summary copied from the parent's source pins the children to that source
instead (F1: places for every parent cost ``race.round ~ circuit.country`` 0.57 -> 0.47).
Columns the sampler sets over a parent's children are left out (``grouped``). Keys and links
given rather than sampled (``impute``, ``sample_from_structure``) have no source of their
own: a parent row whose children's values are known (``impute``) takes the place they make
(the fit's :class:`Projection` of them: the training data given back whole gets its fitted
places wherever each child row has a value in the place's columns, as in F1; a child
without one counts at fit but not when given), any other the places of a real row with the nearest
child counts (``StructureModel.sources_of``), as a sampled row takes those of the row whose
counts it copied. (Until 0.2.19 they were put in the middle (0), where the model, trained on real
places, was seldom; on F1's training keys and links the strong 1-hop pairs came out at 0.76,
against 0.89 with sources.) Measured in ``docs/fidelity.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .schema import RelationalSchema

#: A foreign key gives a place when at least this many parents have children along it.
MIN_PARENTS = 10


@dataclass
class ChildPlaces:
    """Each real row's places of the tables that have any.

    Attributes:
        places: table -> ``n_real x k`` float32, one column per foreign key in ``fks``.
        fks: table -> the foreign keys (``ForeignKey.name``) its places summarise.
        shares: table -> per foreign key, the share of the variance of the per-parent means
            that the first component explains (reported by ``get_info``).
    """

    places: dict[str, np.ndarray] = field(default_factory=dict)
    fks: dict[str, list[str]] = field(default_factory=dict)
    shares: dict[str, list[float]] = field(default_factory=dict)
    #: table -> per foreign key in ``fks``, how a place is made of children's values (files
    #: saved before 0.2.20 have none).
    projections: dict[str, list['Projection']] = field(default_factory=dict)

    def __setstate__(self, state: dict) -> None:
        # Files saved before 0.2.20 have no projections: places from their sources only.
        self.__dict__.update({'projections': {}, **state})

    def widths(self) -> dict[str, int]:
        """Table -> number of places its rows have."""
        return {t: p.shape[1] for t, p in self.places.items()}

    def by_key(self) -> dict[str, dict[str, np.ndarray]]:
        """Table -> foreign key name -> each real row's place along that key."""
        return {t: dict(zip(self.fks[t], p.T)) for t, p in self.places.items()}

    def of(self, n_rows: dict[str, int], source: dict[str, np.ndarray] | None,
           values: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
           links: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The places of a graph's rows: the source rows' (``source`` from
        ``StructureModel.sample`` or ``sources_of``), or the middle (0) for a table
        without one (no rows).

        ``values`` (table -> the children's encoded numbers and which cells are known, as
        :func:`fit_child_places` takes them) with the graph's ``links``: a row with known
        children's values takes the place they make (:meth:`Projection.place`; the
        training data given back gets its fitted places), the others their source's.
        """
        out = {}
        for t, p in self.places.items():
            if source is not None and t in source:
                out[t] = p[source[t]]  # fancy indexing: a copy, safe to fill in below
            else:
                out[t] = np.zeros((n_rows[t], p.shape[1]), np.float32)
            if values is None or links is None:
                continue
            for j, (name, proj) in enumerate(zip(self.fks[t], self.projections.get(t, []))):
                if proj.child not in values:
                    continue
                x, ok = values[proj.child]
                place, has = proj.place(x, ok, np.asarray(links[name]), n_rows[t])
                out[t][has, j] = place[has]
        return out


@dataclass
class Projection:
    """How one parent table's places along one foreign key are made of its children's values
    (:func:`_place`): the child columns used, their per-parent means' centre and spread, the
    first component, and the shrinkage (between- and within-parent variances) and final
    scale of the fit."""

    child: str
    columns: list[int]
    center: np.ndarray
    sd: np.ndarray
    axis: np.ndarray
    between: float
    within: float
    spread: float

    def place(self, x: np.ndarray, ok: np.ndarray, link: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(places, has)`` of ``n`` parents from their children's encoded numbers ``x``
        (all the child table's columns), known where ``ok``, each row's parent ``link``
        (``-1``: none): the fitted projection of the per-parent means of the known cells (a
        column without one at its centre), shrunk by how many children have a known value.
        ``has``: the parents with at least one such child (the others' places are 0)."""
        rows = link >= 0
        x, ok, link = x[rows][:, self.columns], ok[rows][:, self.columns], link[rows]
        valued, total = _per_parent(x, ok, link, n)
        means = np.where(valued > 0, total / np.maximum(valued, 1), self.center)
        k = np.bincount(link[ok.any(1)], minlength=n)
        has = k > 0
        score = ((means - self.center) / self.sd) @ self.axis
        place = np.zeros(n)
        place[has] = score[has] * self.between / (self.between + self.within / k[has])
        if self.spread > 1e-9:
            place /= self.spread
        return place.astype(np.float32), has


def _per_parent(x: np.ndarray, ok: np.ndarray, link: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(valued, total)``, each ``n x d``: per parent and column, how many of its children
    hold a value (``ok``) and their sum."""
    valued = np.stack([np.bincount(link[ok[:, j]], minlength=n) for j in range(x.shape[1])], 1)
    total = np.stack([np.bincount(link[ok[:, j]], weights=x[ok[:, j], j], minlength=n)
                      for j in range(x.shape[1])], 1)
    return valued, total


def _place(x: np.ndarray, ok: np.ndarray, link: np.ndarray,
           n: int) -> tuple[np.ndarray, float, Projection] | None:
    """One parent table's places along one foreign key, the first component's share, and
    the projection that makes them (its child and columns left for the caller).

    ``x``: the children's encoded numbers (rows with a parent only), ``ok``: which cells hold
    a value, ``link``: each row's parent (of ``n``). The per-parent means, standardised over
    the parents, are projected on their first principal component. A parent's mean over
    few children is mostly its children's own noise, so it is shrunk toward the middle by
    its reliability ``b / (b + w / n_children)`` (``b``, ``w``: the between- and
    within-parent variances of the children's projections, a one-way analysis of
    variance), as a random effect's best linear predictor is; without that, a parent with
    one child (most MovieLens actors) would carry that child's own value. Unit variance
    over the parents with children; the others at 0. ``None`` with too few parents.
    """
    count = np.bincount(link, minlength=n)
    has = count > 0
    if has.sum() < MIN_PARENTS:
        return None
    valued, total = _per_parent(x, ok, link, n)
    means = np.where(valued > 0, total / np.maximum(valued, 1), np.nan)[has]
    # A parent whose children have no value in a column sits at that column's mean (0
    # where no child has one).
    seen = ~np.isnan(means)
    column_mean = np.where(seen, means, 0.0).sum(0) / np.maximum(seen.sum(0), 1)
    means = np.where(seen, means, column_mean)
    center, sd = means.mean(0), means.std(0)
    sd = np.where(sd > 1e-9, sd, 1.0)
    z = (means - center) / sd
    if z.shape[1] == 1:
        axis, share = np.ones(1), 1.0
    else:
        _, sv, vt = np.linalg.svd(z, full_matrices=False)
        axis = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])  # a fixed sign
        share = float(sv[0] ** 2 / max((sv ** 2).sum(), 1e-12))
    score = np.zeros(n)
    score[has] = z @ axis
    # Each child's projection, its missing cells at its parent's mean, so that the
    # projections of one parent's children average to the parent's score.
    parent_means = np.zeros((n, x.shape[1]))
    parent_means[has] = means
    child = ((np.where(ok, x, parent_means[link]) - center) / sd) @ axis
    within = float(((child - score[link]) ** 2).sum() / max(len(link) - has.sum(), 1))
    k = count[has]
    between = max(float(score[has].var() - within * np.mean(1.0 / k)), 1e-3 * float(score[has].var()))
    place = np.zeros(n)
    place[has] = score[has] * between / (between + within / k)
    spread = float(place[has].std())
    projection = Projection('', [], center, sd, axis, between, within, spread)
    return (place / spread if spread > 1e-9 else place).astype(np.float32), share, projection


def fit_child_places(schema: RelationalSchema, x_num: dict[str, np.ndarray],
                     observed: dict[str, np.ndarray], links: dict[str, np.ndarray],
                     grouped: set[tuple[str, int]] = frozenset()) -> ChildPlaces:
    """The places of every top-level table's real rows among their leaf children.

    Args:
        schema: the tables and foreign keys.
        x_num: table -> encoded numbers (``n x d``, standard-normal margins).
        observed: table -> ``n x d`` bool, the cells that hold a value.
        links: fk name -> parent row of every child row (``-1`` where null).
        grouped: ``(fk name, column index)`` of the columns whose values over one parent's
            children along that foreign key the sampler sets itself (rank, template and
            follower columns): their per-parent means say nothing of the parent (a rank
            column's is its child count) or are replaced, so they are left out.
    """
    out, columns = ChildPlaces(), {}
    for t in schema.tables:
        if schema.parents_of(t):
            continue
        for fk in schema.children_of(t):
            child = fk.child
            cols = [j for j in range(x_num[child].shape[1]) if (fk.name, j) not in grouped]
            if schema.children_of(child) or not cols:
                continue
            link = np.asarray(links[fk.name])
            rows = link >= 0
            found = _place(x_num[child][rows][:, cols], observed[child][rows][:, cols],
                           link[rows], len(x_num[t]))
            if found is None:
                continue
            place, share, projection = found
            columns.setdefault(t, []).append(place)
            out.fks.setdefault(t, []).append(fk.name)
            out.shares.setdefault(t, []).append(share)
            out.projections.setdefault(t, []).append(replace(projection, child=child, columns=cols))
    out.places = {t: np.stack(cols, 1) for t, cols in columns.items()}
    return out


__all__ = ['ChildPlaces', 'MIN_PARENTS', 'Projection', 'fit_child_places']
