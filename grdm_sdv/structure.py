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
  that need a parent. The stubs are paired with the rows along the foreign key's co-parent
  axis with an FK matched before it (:mod:`grdm_sdv.coparents`: an F1 driver's results
  fall in the races and teams of his era), or shuffled where it has none or with
  ``link_matching='random'``. Where both parents of an axis have child places
  (:meth:`StructureModel.fit_places`), the rows are paired again by them within blocks of
  the axis order (an F1 driver's results go to teams of his era *and* of his strength).
  Repeated (primary, secondary) pairs, and along an axis
  (anchor, secondary) ones, are reduced by degree-preserving swaps (with rows nearby in
  the matching order) until they are no more frequent than in the real data.

A table with one foreign key, into a top-level table, whose rows have places on co-parent
axes (F1's ``race`` under ``circuit``: a race's place is its era) is *nested*
(:meth:`StructureModel.sample`'s ``nest``): its generated rows, each with its source's
counts and places, are dealt again among their parents, every parent keeping its number of
children, so that a parent's children sit on the first principal axis of those places
around the mean and with the spread of the children of the real row the parent copied (a
generated circuit hosts races of one era, as real ones do, not races of every era).

A table whose rows are a parent's seats at events, held in runs by a third parent (F1's
``result``: a team's cars in races, each driven by a driver for a run of races) is *seated*
(:mod:`grdm_sdv.seats`): its two other foreign keys are matched together instead of one after
another, each team taking its source's entries and each driver's rows a chunk of races at a
time, so a driver drives for a few teams, one after another, and team-mates share a race.

Every synthetic row of a table with children copies a real row (its *source*); its places on
the co-parent axes (:meth:`StructureModel.positions`) are that row's, so the attribute model
can be given them as structural inputs, as it is given the child counts.

Everything is vectorized numpy, O(rows).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial import cKDTree

from .coparents import CoParentAxis, axis_scores, fit_axis, normal_scores, pair_keys, with_places
from .data.schema import ForeignKey, RelationalSchema
from .seats import Seats, covered_tables, find_seats


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
        axes: secondary fk name -> its co-parent axis, in matching order.
        nests: nested child table -> how its rows are dealt among their parents (:class:`Nest`).
        seats: seated child table -> how its two secondary foreign keys are matched
            (:class:`~grdm_sdv.seats.Seats`).
        expected: table -> a ridge regression of its rows' ``log1p`` child counts on their
            values (:meth:`fit_expected`; tables with children only).
        categories: table -> column -> a classifier of the column's category from the
            row's ``log1p`` child counts (:meth:`fit_categories`; tables with children).
    """

    schema: RelationalSchema
    n_rows: dict[str, int] = field(default_factory=dict)
    degrees: dict[str, np.ndarray] = field(default_factory=dict)
    null_rate: dict[str, float] = field(default_factory=dict)
    primary: dict[str, str] = field(default_factory=dict)
    null_primary: dict[str, float] = field(default_factory=dict)
    dup_rate: dict[str, float] = field(default_factory=dict)
    axes: dict[str, CoParentAxis] = field(default_factory=dict)
    nests: dict[str, 'Nest'] = field(default_factory=dict)
    seats: dict[str, Seats] = field(default_factory=dict)
    expected: dict[str, 'ExpectedCounts'] = field(default_factory=dict)
    categories: dict[str, dict[str, object]] = field(default_factory=dict)

    def fit(self, n_rows: dict[str, int], links: dict[str, np.ndarray]) -> 'StructureModel':
        """Learn the structure.

        Args:
            n_rows: rows per table.
            links: fk name -> parent row index of every child row (``-1`` where null).
        """
        s = self.schema
        self.n_rows = dict(n_rows)
        for t in s.tables:
            self.degrees[t] = _child_counts(s, t, n_rows[t], links)
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
            self._fit_axes(fks, prim, n_rows, links)
        self._fit_nests(links)
        self._fit_seats(n_rows, links)
        return self

    def _fit_seats(self, n_rows: dict[str, int], links: dict[str, np.ndarray]) -> None:
        """The seated tables (:func:`~grdm_sdv.seats.find_seats`), covered ones left out
        (:func:`~grdm_sdv.seats.covered_tables`; they are matched one key at a time)."""
        s = self.schema
        covered = covered_tables(s, links, self.primary)
        self.seats = {}
        for t, prim in self.primary.items():
            if t in covered:
                continue
            axes = {name: axis for name, axis in self.axes.items() if s.foreign_key(name).child == t}
            seated = find_seats(t, prim, axes, self.dup_rate, links, n_rows,
                                lambda name: s.foreign_key(name).parent)
            if seated is not None:
                self.seats[t] = seated

    def _fit_nests(self, links: dict[str, np.ndarray]) -> None:
        """The nested tables (module docstring): one foreign key, into a top-level table, and
        places on co-parent axes; at least ``MIN_NEST_PARENTS`` parents with 2 or more
        children. A row's place is the first principal component of its places (normal
        scores, standardised); each real parent keeps the mean and spread of its children's."""
        s, positions = self.schema, self.positions()
        for t, p in positions.items():
            fks = s.parents_of(t)
            if len(fks) != 1 or s.parents_of(fks[0].parent):
                continue
            link = links[fks[0].name]
            ok = link >= 0
            n_parent = self.n_rows[fks[0].parent]
            count = np.bincount(link[ok], minlength=n_parent)
            if (count >= 2).sum() < MIN_NEST_PARENTS:
                continue
            sd = p.std(0)
            z = (p - p.mean(0)) / np.where(sd > 1e-9, sd, 1.0)
            place = z @ np.linalg.svd(z, full_matrices=False)[2][0]
            total = np.bincount(link[ok], weights=place[ok], minlength=n_parent)
            square = np.bincount(link[ok], weights=place[ok] ** 2, minlength=n_parent)
            mean = total / np.maximum(count, 1)
            spread = np.sqrt(np.maximum(square / np.maximum(count, 1) - mean ** 2, 0.0))
            self.nests[t] = Nest(fks[0].name, place, mean, spread)

    def _fit_axes(self, fks, prim, n_rows, links) -> None:
        """Each secondary FK's co-parent axis with its anchor, an FK matched before it.

        Greedy: of the FKs not yet placed, the one whose axis with an FK already placed
        correlates most comes next, anchored on that FK (F1's ``result``: the driver along
        the team, then the race along the driver). The order of ``axes`` is the matching
        order; FKs without an axis are matched first, at random.
        """
        pairs = {}
        for anchor in fks:
            for fk in fks:
                if fk is not prim and fk is not anchor:
                    axis = fit_axis(anchor.name, links[anchor.name], links[fk.name],
                                    n_rows[anchor.parent], n_rows[fk.parent])
                    if axis is not None:
                        pairs[anchor.name, fk.name] = axis
        placed, todo = [prim.name], [fk.name for fk in fks if fk is not prim]
        size = {fk.name: n_rows[fk.parent] for fk in fks}
        while todo:
            best = max(((_rounded(pairs[a, f].rho), a, f) for a in placed for f in todo
                        if (a, f) in pairs), default=None)
            if best is None:
                # Nothing placed pairs with what is left: the FK that anchors most of the
                # rest is matched at random, and the others may follow it. An axis's
                # correlation is the same from either side (up to rounding), so of two such
                # FKs the one with more parents (the finer one: a driver, not his team) leads.
                f = max(todo, key=lambda f: (_rounded(max((pairs[f, g].rho for g in todo
                                                           if (f, g) in pairs), default=0.0)),
                                             size[f]))
            else:
                f = best[2]
                # The anchor's pairs repeat no more often when sampled than here (as the
                # primary's, ``dup_rate``); measured only for the axes kept.
                self.axes[f] = replace(pairs[best[1], f], repeat=_dup_rate(links[best[1]], links[f]))
            placed.append(f)
            todo.remove(f)

    def fit_places(self, places: dict[str, dict[str, np.ndarray]], links: dict[str, np.ndarray]) -> None:
        """Give every co-parent axis whose two parents have child places along the two
        foreign keys those places (:func:`grdm_sdv.coparents.with_places`).

        Args:
            places: table -> foreign key name -> a place per real row of the table (the
                parent's place among its children along that key).
            links: the real links, as :meth:`fit` takes them.
        """
        fk = self.schema.foreign_key
        for name, axis in getattr(self, 'axes', {}).items():
            anchor, secondary = fk(axis.anchor), fk(name)
            a = places.get(anchor.parent, {}).get(anchor.name)
            b = places.get(secondary.parent, {}).get(secondary.name)
            if a is not None and b is not None:
                self.axes[name] = with_places(axis, links[anchor.name], links[name], a, b)

    def fit_expected(self, features: dict[str, Callable[[np.ndarray], np.ndarray]]) -> None:
        """Learn, per table with children, how its rows' child counts follow their values:
        a ridge regression of ``log1p`` counts on its rows' feature vectors, so that rows
        kept as given (``sample``'s ``fixed_sources``, :meth:`sources_by_values`) can take
        child counts of real rows like them.

        Args:
            features: table -> a function giving the feature vectors of the real rows at
                given row indices (called on at most :data:`EXPECTED_FIT_ROWS` rows at a
                time, so a wide one-hot layout is never built for every row at once).
        """
        self.expected = {}
        for t, make in features.items():
            rows = self._rows_to_fit(t)
            if rows is None:
                continue
            fitted = ExpectedCounts.fit(make, np.log1p(self.degrees[t].astype(np.float64)), rows)
            if fitted is not None:
                self.expected[t] = fitted

    def fit_categories(self, codes: dict[str, dict[str, np.ndarray]]) -> None:
        """Learn, per table with children and per categorical column of it, how likely each
        category is given a row's child counts: a multinomial logistic regression of the
        real rows' category codes on their ``log1p`` counts (on at most
        :data:`EXPECTED_FIT_ROWS` rows), so that rows conditioned on a category
        (:meth:`condition_weights`) can copy the counts of real rows as that category has
        them. Columns of one class or more than :data:`MAX_CONDITION_CLASSES` are left out.

        Args:
            codes: table -> column -> category code of every real row.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        self.categories = {}
        for t, columns in codes.items():
            rows = self._rows_to_fit(t)
            if rows is None:
                continue
            x = np.log1p(self.degrees[t][rows].astype(np.float64))
            for name, code in columns.items():
                y = np.asarray(code)[rows]
                if not 2 <= len(np.unique(y)) <= MAX_CONDITION_CLASSES:
                    continue
                with warnings.catch_warnings():  # a rough fit is enough for weights
                    warnings.simplefilter('ignore', ConvergenceWarning)
                    model = LogisticRegression(max_iter=500).fit(x, y)
                self.categories.setdefault(t, {})[name] = model

    def _rows_to_fit(self, table: str) -> np.ndarray | None:
        """The real rows :meth:`fit_expected` and :meth:`fit_categories` fit on: at most
        :data:`EXPECTED_FIT_ROWS` (at random, seed 0); ``None`` for a table without children
        or of fewer than :data:`MIN_EXPECTED_ROWS` rows."""
        deg = self.degrees.get(table)
        if deg is None or not deg.shape[1] or self.n_rows[table] < MIN_EXPECTED_ROWS:
            return None
        n = self.n_rows[table]
        if n <= EXPECTED_FIT_ROWS:
            return np.arange(n)
        return np.sort(np.random.default_rng(0).choice(n, EXPECTED_FIT_ROWS, replace=False))

    def condition_weights(self, table: str, codes: dict[str, int]) -> np.ndarray | None:
        """Weights over the real rows of ``table`` for rows whose columns take the category
        ``codes`` (column -> code): the product over those columns of each real row's
        probability of that category given its child counts (:meth:`fit_categories`), so
        that drawing sources by them gives the counts the category has (Bayes: the counts'
        distribution reweighted by how likely the category is at each; several columns
        multiply, as if independent given the counts). A column whose classifier never saw
        the category (outside the rows it was fitted on) adds no weight. ``None`` (every real
        row alike) where no conditioned column has a classifier (tables of fewer than
        :data:`MIN_EXPECTED_ROWS` rows, files saved before 0.2.21) or nothing is left."""
        fitted = getattr(self, 'categories', {}).get(table, {})
        used = [(fitted[c], code) for c, code in codes.items() if c in fitted]
        if not used:
            return None
        x = np.log1p(self.degrees[table].astype(np.float64))
        weight, weighed = np.ones(len(x)), False
        for model, code in used:
            classes = list(model.classes_)
            if code not in classes:  # a category its rows never showed: no weight from it
                continue
            weighed = True
            for part in chunks(len(x)):  # n x classes a chunk at a time
                weight[part] *= model.predict_proba(x[part])[:, classes.index(code)]
        return weight if weighed and weight.sum() > 0 else None

    def expected_counts(self, table: str, features: np.ndarray) -> np.ndarray | None:
        """The ``log1p`` child counts rows with these feature vectors are expected to have
        (:meth:`fit_expected`), or ``None`` where nothing was fitted for the table (no
        children, fewer than :data:`MIN_EXPECTED_ROWS` rows, or a file saved before 0.2.21)."""
        fitted = getattr(self, 'expected', {}).get(table)
        return None if fitted is None else fitted.predict(features)

    def sources_by_values(self, table: str, expected: np.ndarray, counts: np.ndarray,
                          rng: np.random.Generator) -> np.ndarray:
        """Source rows for rows of ``table`` given as they are (kept with ``fixed_tables``),
        from the child counts their values predict (:meth:`expected_counts`): each given
        row takes a real row at its place among the real rows' expected counts, a few places
        either way at random, distinct real rows while there are enough (:func:`_placed`:
        the whole real table given back gets every real row's counts once, each near its
        own place; a part of it, those of the real rows its values resemble). Where some
        foreign keys' children are given too (``counts`` column ``>= 0``; ``-1``: to be
        sampled), those columns are the actual counts, and each given row draws, with
        replacement, one of the about :data:`KEPT_NEIGHBOURS` real rows nearest in both
        (:func:`_nearest`); where all are given, a real row with the nearest actual counts
        (as :meth:`sources_of` gives keys and links given).

        Args:
            table: a table :meth:`expected_counts` has a fit for.
            expected: ``n x c`` expected ``log1p`` child counts of the given rows.
            counts: ``n x c`` child counts of the given rows (``schema.children_of`` order),
                a column of ``-1`` where that foreign key's children are to be sampled.
            rng: numpy generator.
        """
        real = self.expected[table].fitted.astype(np.float64)
        given = np.array(expected, np.float64)
        known = (counts >= 0).all(0)
        real[:, known] = np.log1p(self.degrees[table][:, known].astype(np.float64))
        given[:, known] = np.log1p(counts[:, known].astype(np.float64))
        if known.all():  # every child kept: the nearest actual counts, as for given keys
            return _nearest(real, given, rng)
        if known.any():
            return _nearest(real, given, rng, KEPT_NEIGHBOURS)
        return _placed(real, given, KEPT_NEIGHBOURS, rng)

    def sample(
        self,
        scale: float,
        rng: np.random.Generator,
        fixed_rows: dict[str, int] | None = None,
        fixed_links: dict[str, np.ndarray] | None = None,
        link_matching: str = 'places',
        nest: bool = True,
        seat: bool = True,
        fixed_sources: dict[str, np.ndarray] | None = None,
        source_weights: dict[str, np.ndarray] | None = None,
    ) -> tuple[dict[str, int], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Sample a new graph.

        Args:
            scale: size factor relative to the real database.
            rng: numpy generator (the only source of randomness).
            fixed_rows: optional table -> row count to force (a table kept as given). A
                non-root table in it must have all its foreign keys in ``fixed_links``.
            fixed_links: fk name -> parent row index per child row, for kept tables.
            fixed_sources: table -> the real row each row of a kept table takes its child
                counts (and places) from (:meth:`sources_by_values`); a kept table not in it
                takes random real rows'.
            source_weights: table -> a weight per real row (:meth:`condition_weights`): the
                generated rows of the table copy real rows drawn by them (systematic
                resampling: each real row ``n * weight / sum(weight)`` times, rounded down
                or up) instead of every real row alike.
            link_matching: ``'places'``: secondary foreign keys along their co-parent axes
                (:mod:`grdm_sdv.coparents`) and, where :meth:`fit_places` gave an axis
                places, by them within blocks of the axis; ``'axis'``: along the axes only
                (0.2.7-0.2.12); ``'random'``: plain stub matching (0.2.6).
            nest: deal the rows of each nested table (``nests``) among their parents by
                place (module docstring; not where the table or its parent is in
                ``fixed_rows``, nor with ``link_matching='random'``).
            seat: match the two seated foreign keys of each seated table (``seats``) in
                entries and runs (:mod:`grdm_sdv.seats`; not with
                ``link_matching='random'``, nor for a kept table).

        Returns:
            ``(n_rows, links, source)``: the first two in the form :meth:`fit` takes;
            ``source``: table -> the real row each synthetic row copied its child counts
            from (tables with children, kept ones in ``fixed_rows`` too; see
            :meth:`positions`).
        """
        s = self.schema
        n_syn: dict[str, int] = {}
        deg_syn: dict[str, np.ndarray] = {}
        source: dict[str, np.ndarray] = {}  # the real row each synthetic row's degrees copy
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
                prim = self.schema.foreign_key(self.primary[t])
                col = s.children_of(prim.parent).index(prim)
                counts = deg_syn[prim.parent][:, col]
                n_null = int(round(self.null_primary[t] * n_syn[prim.parent]))
                parent_idx = np.repeat(np.arange(n_syn[prim.parent]), counts)
                links[prim.name] = np.concatenate([parent_idx, np.full(n_null, -1)]).astype(np.int64)
                n = len(links[prim.name])
                # Files saved before 0.2.7 have no axes: every FK is matched at random.
                axes = getattr(self, 'axes', {}) if link_matching != 'random' else {}
                order = list(axes)  # FKs with an axis after their anchors, the others first
                # Files saved before 0.2.22 have no seats.
                seated = getattr(self, 'seats', {}).get(t) if seat and link_matching != 'random' else None
                if seated is not None:
                    made = self._seat(seated, n, n_syn, deg_syn, links, source, rng)
                    links.update(made or {})
                    seated = seated if made else None
                for fk in sorted((fk for fk in fks if fk is not prim
                                  and (seated is None or fk.name not in (seated.runs, seated.events))),
                                 key=lambda fk: order.index(fk.name) if fk.name in axes else -1):
                    links[fk.name] = self._match(fk, n, n_syn, deg_syn, links, rng,
                                                 axes.get(fk.name), source, prim.name,
                                                 use_places=link_matching == 'places')
            n_syn[t] = n
            real_deg = self.degrees[t]
            if real_deg.shape[1]:
                if self.n_rows[t] == 0:
                    deg_syn[t] = np.zeros((n, real_deg.shape[1]), np.int64)
                else:
                    if fixed_sources is not None and t in fixed_sources:
                        source[t] = np.asarray(fixed_sources[t], np.int64)
                    elif source_weights is not None and t in source_weights:
                        source[t] = _weighted_resample(source_weights[t], n, rng)
                    else:
                        source[t] = _resample(self.n_rows[t], n, rng)
                    deg_syn[t] = real_deg[source[t]]
            else:
                deg_syn[t] = real_deg[:0].reshape(n, 0) if n == 0 else np.zeros((n, 0), np.int64)
        if nest and link_matching != 'random':
            for t, nested in getattr(self, 'nests', {}).items():  # none in files before 0.2.19
                parent = self.schema.foreign_key(nested.fk).parent
                if t in source and parent in source and not (fixed_rows and {t, parent} & set(fixed_rows)):
                    links[nested.fk] = nested.deal(links[nested.fk], source[t], source[parent], rng)
        return n_syn, links, source

    def _sides(self) -> list[tuple[tuple[ForeignKey, np.ndarray], tuple[ForeignKey, np.ndarray]]]:
        """Each co-parent axis's two sides, ``(foreign key, real rows' scores)``, the anchor's
        first, in the order of ``axes``: the column layout of every method below."""
        fk = self.schema.foreign_key
        return [((fk(axis.anchor), axis.anchor_scores), (fk(name), axis.scores))
                for name, axis in getattr(self, 'axes', {}).items()]

    def position_widths(self) -> dict[str, int]:
        """Table -> how many co-parent axes its rows have a place on (tables with none left out)."""
        widths: dict[str, int] = {}
        for sides in self._sides():
            for fk, _ in sides:
                widths[fk.parent] = widths.get(fk.parent, 0) + 1
        return widths

    def positions(self, source: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Each row's place on every co-parent axis its table is a parent on.

        Args:
            source: table -> the real row each synthetic row copied (:meth:`sample`);
                ``None``: the real rows themselves.

        Returns:
            table -> ``n x p`` float32 array (``p`` from :meth:`position_widths`), the normal
            score of the row's axis score: 0 in the middle of the axis, N(0, 1) over the real
            rows. Columns in the order of ``axes``, the anchor's side before the other's.
        """
        cols: dict[str, list[np.ndarray]] = {}
        for sides in self._sides():
            for fk, scores in sides:
                col = normal_scores(scores)
                cols.setdefault(fk.parent, []).append(col if source is None else col[source[fk.parent]])
        return {t: np.stack(c, 1).astype(np.float32) for t, c in cols.items()}

    def positions_of(self, n_rows: dict[str, int], links: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The places of the rows of a graph given, not sampled (keys and links of user data).

        Each axis is refitted on the given links, with the same foreign keys (the training
        data given back gets exactly its own axes). An axis's sign is arbitrary: it is
        turned so that the places correlate with the parents' child counts as the fitted
        ones do, and where that correlation is too weak to tell (below 0.1 either way), or
        the given graph is too small to fit, the rows are put at 0, the middle of the axis.
        Same layout as :meth:`positions`.
        """
        children = self.schema.children_of
        cols: dict[str, list[np.ndarray]] = {}
        for sides in self._sides():
            (anchor, anchor_scores), (fk, scores) = sides
            link = {f.name: np.asarray(links[f.name]) for f in (anchor, fk)}
            given = axis_scores(link[anchor.name], link[fk.name], n_rows[anchor.parent], n_rows[fk.parent])
            sign = 0.0
            if given is not None and (len(given[0]), len(given[1])) == (len(anchor_scores), len(scores)):
                for turn in (1.0, -1.0):  # the training links given back: their own axis
                    if np.allclose(turn * given[0], anchor_scores) and np.allclose(turn * given[1], scores):
                        sign = turn
            if given is not None and sign == 0:
                # The sign both sides share, from how places follow child counts.
                fitted = sum(_count_correlation(x, self.degrees[f.parent][:, children(f.parent).index(f)])
                             for f, x in sides)
                now = sum(_count_correlation(x, np.bincount(link[f.name][link[f.name] >= 0],
                                                            minlength=n_rows[f.parent]))
                          for (f, _), x in zip(sides, given))
                sign = np.sign(fitted * now) if min(abs(fitted), abs(now)) >= 0.1 else 0.0
            for (f, _), x in zip(sides, given or (None, None)):
                col = np.zeros(n_rows[f.parent]) if sign == 0 else normal_scores(sign * x)
                cols.setdefault(f.parent, []).append(col)
        return {t: np.stack(c, 1).astype(np.float32) for t, c in cols.items()}

    def sources_of(self, n_rows: dict[str, int], links: dict[str, np.ndarray],
                   rng: np.random.Generator, tables=None) -> dict[str, np.ndarray]:
        """Source rows for a graph given, not sampled (keys and links of user data).

        A sampled row copies its child counts from a real row, its *source*, and takes that
        row's places among its children (:class:`~grdm_sdv.data.child_places.ChildPlaces`).
        A given row has its own child counts; its source is a real row with the nearest
        ones (``log1p`` counts, one per child foreign key; at random among the real rows
        that share them), so the places
        it is given go with child counts like its own, as a sampled row's do. Returns
        table -> one real row per given row, for the tables with children and real rows
        (of ``tables`` only, when given); the training data given back gets rows with its
        own child counts (itself, where they are unique).
        """
        out: dict[str, np.ndarray] = {}
        for t in self.schema.tables if tables is None else tables:
            real = self.degrees[t]
            if not real.shape[1] or self.n_rows[t] == 0 or n_rows[t] == 0:
                continue
            given = _child_counts(self.schema, t, n_rows[t], links)
            out[t] = _nearest(np.log1p(real.astype(float)), np.log1p(given.astype(float)), rng)
        return out

    def _match(self, fk, n, n_syn, deg_syn, links, rng, axis, source, primary,
               use_places: bool = True) -> np.ndarray:
        """Assign a parent of ``fk`` to ``n`` child rows keeping parent degrees (stub matching).

        Along ``axis`` (:mod:`grdm_sdv.coparents`) when given, and by its places where it
        has them and ``use_places``, else at random.
        """
        n_parent = n_syn[fk.parent]
        out = np.full(n, -1, np.int64)
        n_null = int(round(self.null_rate[fk.name] * n))
        need = rng.permutation(n)[: n - n_null]
        m = len(need)
        if m == 0 or n_parent == 0:
            return out
        col = self.schema.children_of(fk.parent).index(fk)
        base = _stub_counts(deg_syn[fk.parent][:, col], m, rng)
        stubs = np.repeat(np.arange(n_parent), base)
        anchor = self.schema.foreign_key(axis.anchor) if axis is not None else None
        if anchor is not None and fk.parent in source and anchor.parent in source:
            rows, stub_order = axis.pair(links[anchor.name][need], source[anchor.parent], stubs,
                                         source[fk.parent], rng, use_places=use_places)
            need, stubs = need[rows], stubs[stub_order]
            order = need
        else:
            stubs, order = rng.permutation(stubs), None
        out[need] = stubs
        out = _reduce_duplicates(links[primary], out, self.dup_rate.get(fk.name, 1.0), rng, order)
        if order is not None and anchor.name != primary and getattr(axis, 'repeat', None) is not None:
            # Pairs with the anchor repeat no more than in the real data either (an F1 driver
            # races once in a race; matched along him, 17% of his results repeated a race
            # in 0.2.8), then the primary's pairs again.
            out = _reduce_duplicates(links[anchor.name], out, axis.repeat, rng, order)
            out = _reduce_duplicates(links[primary], out, self.dup_rate.get(fk.name, 1.0), rng, order)
        return out

    def _seat(self, seated: Seats, n, n_syn, deg_syn, links, source, rng) -> dict[str, np.ndarray] | None:
        """The two seated foreign keys' links (:meth:`~grdm_sdv.seats.Seats.seat`), repeated
        (event, run) pairs then swapped away down to the real share with rows of about the
        same time; ``None`` where the table cannot be seated."""
        fk = self.schema.foreign_key
        parent = {name: fk(name).parent for name in (seated.primary, seated.runs, seated.events)}
        if n == 0 or any(parent[name] not in source or n_syn[parent[name]] == 0 for name in parent):
            return None
        want = {}
        for name in (seated.runs, seated.events):
            f = fk(name)
            want[name] = _stub_counts(deg_syn[f.parent][:, self.schema.children_of(f.parent).index(f)], n, rng)
        made = seated.seat(links[seated.primary], want[seated.runs], want[seated.events],
                           source[parent[seated.primary]], source[parent[seated.runs]],
                           source[parent[seated.events]], rng)
        if made is None:
            return None
        a, b, order = made
        b = _reduce_duplicates(a, b, self.axes[seated.events].repeat or 0.0, rng, order=order)
        return {seated.runs: a, seated.events: b}


def _stub_counts(d: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Wanted child counts ``d`` rescaled to exactly ``m`` stubs: floor, then the remainder
    handed out in proportion to the fractional parts (every parent alike where ``d`` is 0)."""
    d = d.astype(np.float64)
    n_parent = len(d)
    if d.sum() == 0:
        d = np.ones(n_parent)
    want = d * (m / d.sum())
    base = np.floor(want).astype(np.int64)
    rest = m - int(base.sum())
    if rest > 0:
        frac = want - base
        extra = rng.choice(n_parent, size=rest, replace=False, p=frac / frac.sum()) \
            if (frac > 0).sum() >= rest else rng.choice(n_parent, size=rest)
        np.add.at(base, extra, 1)
    return base


#: A kept row's source is drawn among about this many real rows nearest in expected counts.
KEPT_NEIGHBOURS = 10
#: No expected child counts are fitted for a table of fewer rows.
MIN_EXPECTED_ROWS = 10


@dataclass
class ExpectedCounts:
    """A table's ``log1p`` child counts as a ridge regression on its rows' values
    (:meth:`StructureModel.fit_expected`).

    Attributes:
        model: the fitted ``sklearn.linear_model.Ridge``.
        fitted: its prediction for every real row (``n x c``, float32).
    """

    model: object
    fitted: np.ndarray

    @classmethod
    def fit(cls, make: Callable[[np.ndarray], np.ndarray], y: np.ndarray,
            rows: np.ndarray) -> 'ExpectedCounts | None':
        """Fit on ``rows`` of ``y``'s, their feature vectors from ``make(rows)``; then
        predict every row, a chunk (:func:`chunks`) at a time. ``None`` where the rows have
        no features."""
        from sklearn.linear_model import Ridge

        x = make(rows)
        if not x.shape[1]:
            return None
        out = cls(Ridge(alpha=1.0).fit(x, y[rows]), np.zeros(y.shape, np.float32))
        everyone = len(rows) == len(y)  # then x holds every row, in order
        for part in chunks(len(y)):
            out.fitted[part] = out.predict(x[part] if everyone else make(part))
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Expected ``log1p`` child counts of rows with values ``x`` (``n x c``, float64)."""
        pred = self.model.predict(np.asarray(x, np.float32))
        return np.asarray(pred, np.float64).reshape(len(x), -1)


#: A categorical column of more classes gets no classifier for conditions.
MAX_CONDITION_CLASSES = 50
#: Rows a table's expected child counts are fitted on, at most; and rows per chunk.
EXPECTED_FIT_ROWS = 20000


def chunks(n: int, size: int = EXPECTED_FIT_ROWS):
    """Slices of ``range(n)``, ``size`` rows each (wide per-row arrays a chunk at a time)."""
    return [slice(start, start + size) for start in range(0, n, size)]


#: A table is nested only when at least this many real parents have 2 or more children.
MIN_NEST_PARENTS = 10


@dataclass
class Nest:
    """How a nested table's rows are dealt among their parents (:class:`StructureModel`).

    Attributes:
        fk: the table's one foreign key (``ForeignKey.name``).
        place: each real row's place (first principal component of its co-parent places).
        mean, spread: per real parent row, the mean and spread of its children's places.
    """

    fk: str
    place: np.ndarray
    mean: np.ndarray
    spread: np.ndarray

    def deal(self, link: np.ndarray, source: np.ndarray, parent_source: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
        """``link`` with its parents dealt again among the same rows (each parent keeps its
        number of children): every child slot of a parent draws a key around that parent's
        source's mean place (its spread times N(0, 1)), and the rows, in the order of
        their sources' places, take the slots in the order of their keys."""
        out = link.copy()
        rows = np.flatnonzero(link >= 0)
        if len(rows) < 2:
            return out
        parents = link[rows]
        src = parent_source[parents]
        key = self.mean[src] + self.spread[src] * rng.standard_normal(len(rows))
        slots = parents[np.lexsort((rng.random(len(rows)), key))]
        out[rows[np.lexsort((rng.random(len(rows)), self.place[source[rows]]))]] = slots
        return out


def _count_correlation(scores: np.ndarray, counts: np.ndarray) -> float:
    """Correlation of a parent's place on an axis with ``log1p`` of its child count (0 when
    either is constant)."""
    if len(scores) < 3 or np.std(scores) == 0 or np.std(counts) == 0:
        return 0.0
    return float(np.corrcoef(normal_scores(scores), np.log1p(counts))[0, 1])


def _child_counts(schema: RelationalSchema, table: str, n: int,
                  links: dict[str, np.ndarray]) -> np.ndarray:
    """``n x c`` int64: each of the table's ``n`` rows' children along each of its ``c``
    child foreign keys (``schema.children_of`` order; null links left out)."""
    cols = []
    for fk in schema.children_of(table):
        link = np.asarray(links[fk.name])
        cols.append(np.bincount(link[link >= 0], minlength=n)[:n])
    return (np.stack(cols, 1) if cols else np.zeros((n, 0))).astype(np.int64)


def _placed(real: np.ndarray, given: np.ndarray, jitter: int, rng: np.random.Generator) -> np.ndarray:
    """For each ``given`` row, a ``real`` row at its place among the real rows: both scored
    on the first principal component of the real rows (centred, in their own units, so a
    column the values hardly predict weighs little), each given row placed among the real
    scores (anywhere among tied ones) and moved up to ``jitter / 2`` places either way at
    random. Fewer given rows than real ones take distinct real rows in that order, each at
    the first place at or after its own that the rows before it leave free (so a crowd of
    given rows spreads upward); as many or more take the real rows whole copies at a time
    and the rest drawn at random (as a sampled table does), one to one in that order. The
    real rows given back get every real row once, near its own place; a part of them, real
    rows of its own places."""
    n, m = len(real), len(given)
    mean = real.mean(0)
    axis = np.linalg.svd(real - mean, full_matrices=False)[2][0]
    s_real, s_given = (real - mean) @ axis, (given - mean) @ axis
    ranked = np.sort(s_real)
    lo = np.searchsorted(ranked, s_given, side='left')
    hi = np.searchsorted(ranked, s_given, side='right')
    place = lo + rng.random(m) * (hi - lo) + rng.uniform(-jitter / 2, jitter / 2, m)
    rows = np.argsort(place, kind='stable')
    out = np.empty(m, np.int64)
    if m >= n:
        pool = _resample(n, m, rng)
        out[rows] = pool[np.lexsort((rng.random(m), s_real[pool]))]
        return out
    order = np.lexsort((rng.random(n), s_real))
    i = np.arange(m)
    want = np.clip(np.floor(place[rows]).astype(np.int64), 0, n - 1)
    # The i-th given row (in place order) takes real position
    # min(i + max_{j<=i}(want_j - j), n - m + i): increasing, so distinct, and in range.
    at = np.minimum(i + np.maximum.accumulate(want - i), n - m + i)
    out[rows] = order[at]
    return out


def _nearest(real: np.ndarray, given: np.ndarray, rng: np.random.Generator, k: int = 1) -> np.ndarray:
    """For each ``given`` row, one of the ``real`` rows nearest to it (Euclidean), at random:
    the distinct real values are taken nearest first until they hold ``k`` rows, and a row is
    drawn among all the rows of those (with ``k=1``: among the real rows sharing the nearest
    values; many real rows with one value, e.g. every driver of one nationality, are drawn
    alike, not the first ``k`` of them)."""
    values, group = np.unique(real, axis=0, return_inverse=True)
    group = group.reshape(-1)
    members = np.argsort(group, kind='stable')  # real rows, grouped by their values
    size = np.bincount(group, minlength=len(values))
    start = np.r_[0, np.cumsum(size)[:-1]]
    m = min(k, len(values))
    _, near = cKDTree(values).query(given, k=m)
    near = np.asarray(near).reshape(len(given), m)
    count = size[near]
    before = np.cumsum(count, 1) - count
    count = np.where(before < k, count, 0)  # groups until they hold k rows
    pick = rng.random(len(given)) * count.sum(1)
    j = np.minimum((np.cumsum(count, 1) <= pick[:, None]).sum(1), m - 1)
    rows = np.arange(len(given))
    offset = np.floor(pick - (np.cumsum(count, 1) - count)[rows, j]).astype(np.int64)
    offset = np.clip(offset, 0, size[near[rows, j]] - 1)
    return members[start[near[rows, j]] + offset].astype(np.int64)


def _weighted_resample(weight: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices drawn by ``weight`` with low variance (systematic resampling: one
    random offset, then every ``1/n`` of the cumulative weight), in random order."""
    weight = np.asarray(weight, np.float64)
    cum = np.cumsum(weight)
    cum /= cum[-1]
    at = np.searchsorted(cum, (rng.random() + np.arange(n)) / n, side='right')
    last = np.flatnonzero(weight > 0)[-1]  # rounding at the very top: the last weighted row
    return rng.permutation(np.minimum(at, last)).astype(np.int64)


def _resample(n_real: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices from ``range(n_real)``: whole copies, then a draw without replacement.

    Lower variance than i.i.d. bootstrap: at scale 1 every real degree vector is used once, so
    a table of 77 circuits does not randomly give 10% fewer races (and fewer of everything
    below them).
    """
    full, rest = divmod(n, n_real)
    idx = np.concatenate([np.tile(np.arange(n_real), full), rng.choice(n_real, rest, replace=False)])
    return rng.permutation(idx)


def _duplicated(a: np.ndarray, b: np.ndarray, base: int | None = None,
                with_keys: bool = False):
    """Boolean mask: rows whose non-null (a, b) pair appeared earlier; with ``with_keys``,
    also every row's pair key (:func:`pair_keys` with ``base``), sorted."""
    valid = (a >= 0) & (b >= 0)
    keys = pair_keys(a, b, base)
    order = np.argsort(keys, kind='stable')
    sk = keys[order]
    dup_sorted = np.zeros(len(keys), bool)
    dup_sorted[1:] = sk[1:] == sk[:-1]
    dup = np.zeros(len(keys), bool)
    dup[order] = dup_sorted
    return (dup & valid, sk) if with_keys else dup & valid


def _present(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which ``keys`` are in ``sorted_keys``."""
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _rounded(rho: float) -> float:
    """A correlation compared with others: equal ones (the same axis seen from its two
    sides differs by ~1e-16, which way depends on the machine) tie, and the tie is broken
    by what follows it in the comparison, the same on every machine."""
    return round(float(rho), 9)


def _dup_rate(a: np.ndarray, b: np.ndarray) -> float:
    return float(_duplicated(a, b).mean()) if len(a) else 0.0


def _reduce_duplicates(a, b, target_rate, rng, order=None, rounds: int = 20) -> np.ndarray:
    """Swap parents of duplicated pairs with other rows (keeps every parent's degree).

    ``order``: rows in the order they were matched in (along a co-parent axis); partners are
    then drawn near the row in it, in a window that doubles every second round (up to twice
    ``rounds`` rounds), and a swap is made only where it repeats no pair, so the matching's
    locality is kept (0.2.9; before, the window doubled every round and any swap was made:
    F1's drivers' standings then spread over 4.2 years of races, now 3.1, with the structure
    alone). Without it, partners are any rows, and any swap is made (the random matching
    as it has always been). Pairs still repeated after the windowed rounds (parents whose
    children must fill nearly every row of the other parent: an F1 team in 369 of 377 races
    with constructor results, a driver in every race with qualifying rows) take, for up to
    ``rounds`` more rounds, the first of 64 partners drawn anywhere whose swap
    repeats no pair (:func:`_free_partners`). With one partner per row and round, the rows that
    find none near grow their window to the whole order: on F1's seated results (22% of the rows
    repeat a (driver, race) pair after seating) the drivers' careers spread twice as wide in
    time after the swaps; 16 partners per row and window keep them nearer but score no better
    (``docs/fidelity.md``, "Careers, seats, totals and templates").
    """
    b = b.copy()
    valid = np.flatnonzero(b >= 0) if order is None else order
    if len(valid) < 2:
        return b
    position = None
    if order is not None:
        position = np.zeros(len(b), np.int64)
        position[order] = np.arange(len(order))
    base = int(b.max(initial=0)) + 2  # the swaps permute b: one key base for every round
    for round_ in range(rounds if order is None else 3 * rounds):
        dup, pairs = _duplicated(a, b, base, with_keys=True)
        dup = np.flatnonzero(dup)
        if len(dup) <= target_rate * len(b) + 0.5:
            break
        if position is None:
            partners = valid[rng.integers(0, len(valid), len(dup))]
        elif round_ >= 2 * rounds:
            partners = _free_partners(a, b, dup, valid, pairs, base, rng)
        else:
            # Uniform within the window as it lies inside the order (clipping a draw to the
            # ends instead made most late partners the first or the last row).
            width = 4 << min(round_ // 2, 62)
            lo = np.maximum(position[dup] - width, 0)
            hi = np.minimum(position[dup] + width, len(valid) - 1)
            partners = valid[lo + (rng.random(len(dup)) * (hi - lo + 1)).astype(np.int64)]
        keep = (b[dup] >= 0) & (partners != dup)
        dup, partners = dup[keep], partners[keep]
        # Do not touch a row twice in one round (keeps the swap a permutation).
        _, first = np.unique(np.concatenate([dup, partners]), return_index=True)
        ok = np.zeros(2 * len(dup), bool)
        ok[first] = True
        ok = ok[: len(dup)] & ok[len(dup):]
        dup, partners = dup[ok], partners[ok]
        if position is not None:  # only swaps that repeat no pair
            fine = _repeats_none(a, b, dup, partners, pairs, base)
            dup, partners = dup[fine], partners[fine]
        b[dup], b[partners] = b[partners], b[dup].copy()
    return b


def _free_partners(a, b, dup, valid, pairs, base, rng, tries: int = 64) -> np.ndarray:
    """A swap partner for each duplicated row ``dup``: the first of ``tries`` rows drawn from
    ``valid`` whose swap repeats no pair of ``pairs`` (sorted pair keys), else the first drawn."""
    cand = valid[rng.integers(0, len(valid), (len(dup), tries))]
    fine = _repeats_none(a, b, dup[:, None], cand, pairs, base) & (cand != dup[:, None])
    return cand[np.arange(len(dup)), fine.argmax(1)]


def _repeats_none(a, b, rows, partners, pairs, base) -> np.ndarray:
    """Whether swapping the ``b`` of ``rows`` and ``partners`` (arrays that broadcast) makes
    neither new pair one of ``pairs`` (sorted pair keys) nor the two new pairs the same."""
    mine, theirs = pair_keys(a[rows], b[partners], base), pair_keys(a[partners], b[rows], base)
    return ~_present(pairs, mine) & ~_present(pairs, theirs) & (mine != theirs)
