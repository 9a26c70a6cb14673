"""Co-parent axes: which parents of a multi-parent table's rows go together.

The rows of a table with several foreign keys do not pair their parents at random: an F1
result pairs a driver with races of his own years and with a team of those years, so a
driver's results, standings and qualifying rows all fall in one era. The structure model
keeps each parent's number of children by stub matching; matched at random, a generated
driver's results are spread over every era, and whatever the model then generates for them
(points systems, car numbers, laps) no longer agrees from one of his rows to the next.

Fit (:func:`fit_axis`), for a secondary foreign key and an *anchor* (another foreign key of
the same table, matched before it): a correspondence analysis of the real counts of
(anchor parent, secondary parent) pairs gives every real parent row a score on the first
non-trivial axis, and ``rho``, the correlation of the two scores' normal scores over the real
child rows. The counts are regularised (every cell gets a hundredth of the mean cell) so that
small groups of parents that share no rows with the rest do not take the axis; more than
that folds a long axis onto itself (0.2.7 and 0.2.8 gave a tenth: the Spearman correlation
of F1's races' places on the (driver, race) axis with their year was 0.92 then, 0.996 now,
and on the (driver, standings race) axis 0.78, now 0.999).

Sampling (:meth:`CoParentAxis.pair`): each generated parent row has copied a real row's
child counts and takes that row's score. The child rows, sorted by ``rho * g + sqrt(1 - rho^2)
* noise`` (``g``: the normal score of the anchor parent's score), and the secondary parent's
stubs, sorted by their parent's normal score, are paired position by position: a Gaussian
copula with the real correlation. Every parent keeps exactly its number of children, and no
real pair of parents is copied, only where parents sit on the axis. Only the first axis is
kept. (Career windows, each anchor parent placed once and its rows spread over consecutive
partners, were measured in 0.2.9 and not kept: ``docs/fidelity.md``.)

Places within the axis (:func:`with_places`, 0.2.13): where both parents also have a *child
place* along these foreign keys (:mod:`grdm_sdv.data.child_places`: a driver's skill, a
team's strength, which the axis, an era, does not show), the rows and stubs paired along the
axis are cut into :data:`PLACE_BLOCKS` consecutive blocks and, within each block, paired
again by the same Gaussian copula on the two places, its correlation calibrated on the real
rows so that the places of a row's two parents correlate over the generated rows as over
the real ones (F1's results: 0.51 real; 0.02 along the axis alone, where good drivers drive
for bad teams as often as for good ones).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, svds
from scipy.stats import norm, rankdata

#: Each cell of the count matrix gets this share of the mean cell count.
REGULARISATION = 0.01
#: No axis is fitted on fewer child rows that have both parents.
MIN_ROWS = 20
#: Nor kept when its held-out correlation is not above this.
MIN_CORRELATION = 0.1
#: Blocks of the axis order within which rows and stubs are paired again by their places.
PLACE_BLOCKS = 32


@dataclass
class CoParentAxis:
    """Where the anchor's and the secondary parent's rows sit on their shared axis.

    Attributes:
        anchor: name of the foreign key the secondary one is matched along.
        anchor_scores: a score per real row of the anchor's parent table.
        scores: a score per real row of the secondary foreign key's parent table.
        rho: correlation of the two scores' normal scores over the real child rows.
        repeat: share of the real child rows whose (anchor, secondary) pair repeats an
            earlier row's, set by the structure model for the axes it keeps: sampling repeats
            such pairs no more often (``None`` in files saved before 0.2.9, which do not
            reduce them).
        anchor_places, places: each real anchor / secondary parent row's child place along
            these foreign keys, or ``None`` (set by :func:`with_places`).
        place_rho: the copula correlation of the two places within a block of the axis
            order (signed; calibrated by :func:`with_places`), or ``None``.
        place_target: the correlation of the two parents' places over the real child rows.
    """

    anchor: str
    anchor_scores: np.ndarray
    scores: np.ndarray
    rho: float
    repeat: float | None = None
    anchor_places: np.ndarray | None = None
    places: np.ndarray | None = None
    place_rho: float | None = None
    place_target: float | None = None

    def pair(self, anchor_parents: np.ndarray, anchor_source: np.ndarray, stubs: np.ndarray,
             source: np.ndarray, rng: np.random.Generator,
             use_places: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Orders of the child rows and of the stubs to pair position by position.

        Args:
            anchor_parents: anchor parent (generated row) of each child row to match; -1 null.
            anchor_source: the real row each generated anchor parent row copied.
            stubs: secondary parent (generated row) of each stub, one stub per child row.
            source: the real row each generated secondary parent row copied.
            rng: numpy generator.
            use_places: pair again by the parents' places within blocks of the axis order,
                where :func:`with_places` gave the axis places.
        """
        rows = _copula_order(self.rho, self.anchor_scores, anchor_parents, anchor_source, rng)
        stub_order = np.argsort(normal_scores(self.scores[source[stubs]], rng), kind='stable')
        if use_places and self.place_rho is not None:
            return self._within_blocks(self.place_rho, rows, stub_order, anchor_parents,
                                       anchor_source, stubs, source, rng)
        return rows, stub_order

    def _within_blocks(self, rho, rows, stub_order, anchor_parents, anchor_source, stubs,
                       source, rng) -> tuple[np.ndarray, np.ndarray]:
        """``rows`` and ``stub_order`` re-sorted, within each of :data:`PLACE_BLOCKS`
        consecutive blocks, by the copula on the places (correlation ``rho``)."""
        m = len(stubs)
        block = np.arange(m) // max(1, -(-m // PLACE_BLOCKS))
        key = _copula_order(rho, self.anchor_places, anchor_parents, anchor_source, rng, keys=True)
        place = normal_scores(self.places[source[stubs]], rng)
        return (rows[np.lexsort((key[rows], block))],
                stub_order[np.lexsort((place[stub_order], block))])


def _copula_order(rho: float, anchor_values: np.ndarray, anchor_parents: np.ndarray,
                  anchor_source: np.ndarray, rng: np.random.Generator, keys: bool = False) -> np.ndarray:
    """The child rows sorted by ``rho * g + sqrt(1 - rho^2) * noise``, ``g`` the normal score
    of their anchor parent's value (``keys``: the keys themselves, unsorted)."""
    m = len(anchor_parents)
    has = anchor_parents >= 0
    g = rng.standard_normal(m)  # child rows without an anchor parent: anywhere
    if has.any():
        g[has] = normal_scores(anchor_values[anchor_source[anchor_parents[has]]], rng)
    key = rho * g + np.sqrt(1 - rho ** 2) * rng.standard_normal(m)
    return key if keys else np.argsort(key, kind='stable')


def with_places(axis: CoParentAxis, a: np.ndarray, b: np.ndarray, anchor_places: np.ndarray,
                places: np.ndarray) -> CoParentAxis:
    """``axis`` with the two parents' child places, for pairing within blocks of the axis.

    Args:
        axis: a fitted axis.
        a, b: anchor / secondary parent row of every real child row (-1 null).
        anchor_places, places: a place per real row of the anchor's / secondary's parent table.

    Returns:
        ``axis`` with the places and ``place_rho``: the copula correlation (found by
        bisection, pairing the real rows themselves) at which the two parents' places
        correlate over the child rows as they do in the real data; ``axis`` unchanged where
        that correlation is under :data:`MIN_CORRELATION` either way or too few rows have both.
    """
    ok = (a >= 0) & (b >= 0)
    if ok.sum() < MIN_ROWS:
        return axis
    a, b = a[ok], b[ok]
    target = _correlation(anchor_places[a], places[b])
    if not abs(target) >= MIN_CORRELATION:
        return axis
    sign = float(np.sign(target))
    axis = replace(axis, anchor_places=np.asarray(anchor_places, np.float64),
                   places=np.asarray(places, np.float64), place_target=target)
    first = normal_scores(axis.anchor_places[a])
    # The real rows are their own sources.
    own_a, own_b = np.arange(len(anchor_places)), np.arange(len(places))
    rows0, stubs0 = axis.pair(a, own_a, b, own_b, np.random.default_rng(0), use_places=False)

    def achieved(rho: float) -> float:
        rows, stub_order = axis._within_blocks(sign * rho, rows0, stubs0, a, own_a, b, own_b,
                                               np.random.default_rng(0))
        paired = np.empty(len(a), np.int64)
        paired[rows] = b[stub_order]
        return sign * float(np.corrcoef(first, normal_scores(axis.places[paired]))[0, 1])

    lo, hi = 0.0, 0.99
    if achieved(hi) <= abs(target):
        return replace(axis, place_rho=sign * hi)
    for _ in range(12):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if achieved(mid) < abs(target) else (lo, mid)
    return replace(axis, place_rho=sign * (lo + hi) / 2)


def normal_scores(values: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """``Phi^-1((rank - 1/2) / n)`` of each value; ties share their mean rank, or with ``rng``
    are broken at random."""
    n = len(values)
    if rng is None:
        rank = rankdata(values)
    else:
        rank = np.empty(n)
        rank[np.lexsort((rng.random(n), values))] = np.arange(1, n + 1)
    return norm.ppf((rank - 0.5) / n)


def fit_axis(anchor: str, a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> CoParentAxis | None:
    """The first non-trivial correspondence-analysis axis of the real (a, b) parent pairs.

    Args:
        anchor: name of the anchor foreign key (kept on the result).
        a, b: anchor / secondary parent row of every real child row (-1 null).
        n_a, n_b: rows of the two parent tables.

    Returns:
        The axis, or None with fewer than :data:`MIN_ROWS` rows, fewer than 3 parents on a
        side, or a held-out correlation not above :data:`MIN_CORRELATION`.
    """
    ok = (a >= 0) & (b >= 0)
    m = int(ok.sum())
    if m < MIN_ROWS or n_a < 3 or n_b < 3:
        return None
    a, b = a[ok], b[ok]
    # The axis of a sparse count matrix fits its noise too (parents paired at random give a
    # correlation near 0.5 in-sample): the correlation is measured on rows the axis was not
    # fitted on, two folds each way, and the axis of all rows is fitted only if it passes.
    fold = np.random.default_rng(0).random(m) < 0.5
    try:
        rho = 0.0
        for part in (fold, ~fold):
            xf, yf = _axis(a[part], b[part], n_a, n_b)
            rho += 0.5 * _correlation(xf[a[~part]], yf[b[~part]])
        if not rho > MIN_CORRELATION:
            return None
        x, y = _axis(a, b, n_a, n_b)
    except ArpackNoConvergence:  # no clear axis: matched at random
        return None
    return CoParentAxis(anchor, x, y, rho)


def axis_scores(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Both parents' scores on the first non-trivial axis of the (a, b) pairs (rows with both
    parents), fitted as :func:`fit_axis` fits its axis, with no held-out check; ``None`` where
    there is too little to fit. The sign is arbitrary."""
    ok = (a >= 0) & (b >= 0)
    if ok.sum() < 2 or n_a < 3 or n_b < 3:
        return None
    try:
        return _axis(a[ok], b[ok], n_a, n_b)
    except (ArpackNoConvergence, ValueError):
        return None


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    c = np.corrcoef(normal_scores(x), normal_scores(y))[0, 1]
    return float(c) if np.isfinite(c) else 0.0


def _axis(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column scores on the first non-trivial axis of the regularised counts."""
    m = len(a)
    counts = sp.csr_matrix((np.ones(m), (a, b)), shape=(n_a, n_b))
    tau = REGULARISATION * m / (n_a * n_b)
    row = 1 / np.sqrt(np.asarray(counts.sum(1)).ravel() + tau * n_b)
    col = 1 / np.sqrt(np.asarray(counts.sum(0)).ravel() + tau * n_a)

    # D_r^-1/2 (N + tau) D_c^-1/2 without forming the dense matrix.
    def matmat(v: np.ndarray) -> np.ndarray:
        w = col[:, None] * v.reshape(n_b, -1)
        return row[:, None] * (counts @ w + tau * w.sum(0, keepdims=True))

    def rmatmat(v: np.ndarray) -> np.ndarray:
        w = row[:, None] * v.reshape(n_a, -1)
        return col[:, None] * (counts.T @ w + tau * w.sum(0, keepdims=True))

    op = LinearOperator((n_a, n_b), matvec=matmat, rmatvec=rmatmat, matmat=matmat,
                        rmatmat=rmatmat, dtype=np.float64)
    # The largest singular value (1) belongs to the trivial axis; the second is the one kept.
    u, s, vt = svds(op, k=2, random_state=0)
    second = int(np.argmin(s))
    return u[:, second] * row, vt[second] * col


def pair_keys(a: np.ndarray, b: np.ndarray, base: int | None = None) -> np.ndarray:
    """One integer per (a, b) pair of row indices (-1: none), in (a, b) order; ``base``
    (default ``b.max() + 2``) above every ``b + 1``."""
    base = int(b.max(initial=0)) + 2 if base is None else base
    return (a.astype(np.int64) + 1) * base + (b.astype(np.int64) + 1)
