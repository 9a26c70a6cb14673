"""Seats: a table whose rows are a parent's seats at events, held in runs by a third parent.

An F1 result is a team's car in a race, driven by a driver: a team enters a race with two
cars (92% of the real results share their (race, team) with another), and a driver holds a
seat for a run of races (84% of the results repeat their (driver, team) pair five times or
more; a driver drives for 2.3 teams in his career, one after another). Matched one foreign
key after another, each along its co-parent axis (:mod:`grdm_sdv.coparents`), every row
draws its place on the axis apart: a generated driver's results fall in 7.5 teams and half
of the results have no team-mate in their race; the nationalities of a driver and of his
teams then cannot go together as they do in real data (``evaluation.co_parent_trends``).

A table with a primary foreign key ``P`` (the team), a secondary ``A`` matched along ``P``
whose (P, A) pairs mostly repeat (the driver: runs) and a secondary ``B`` matched along
``A`` whose (P, B) pairs repeat too (the race: entries of several rows) is *seated*
(:func:`find_seats`), unless its rows' parent combinations are those of another table's
rows (F1's qualifying rows are results' (race, driver, team): :func:`covered_tables`); such a
table is matched one key at a time, as before (seated too, F1's car-number pairs fell).
Its rows are then laid out as the real ones are (:meth:`Seats.seat`), on the (A, B)
co-parent axis read as time (each parent's rank on it over the real rows, from 0 to 1):

1. Each generated ``P`` parent takes the *entries* of the real row it copied (its child
   counts are that row's): the events it entered, each with its number of rows (seats) and
   its event's time.
2. Each generated ``A`` parent's rows follow one another around the time of the real row
   it copied, as far apart as a real run moves per row.
3. Chunks of :data:`CHUNK` consecutive turns of a seat and chunks of as many consecutive
   rows of an ``A`` parent's career are paired within blocks of time, by the two parents'
   places on their co-parent axis (a strong driver in a strong team, as before): a driver
   keeps a seat for a chunk of races, and his chunks fall in the few teams of his time.
4. Entries (their rows together) and the events' stubs, both in time order, are paired row
   by row: an entry's rows mostly share an event of its time (an entry can straddle two
   events' stubs). Every parent keeps its count.

Repeated (A, B) pairs (a driver twice in one race) are then swapped away with rows of about
the same time, as the structure model does for every axis (:class:`~grdm_sdv.structure.
StructureModel`). Measured in ``docs/fidelity.md``, "Two parents of one row".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .coparents import CoParentAxis, normal_scores, pair_keys
from .data.schema import RelationalSchema

#: A secondary foreign key is held in runs when at least this share of its real rows
#: repeat their (primary, secondary) pair.
MIN_RUN_REPEAT = 0.5
#: Events are entered in entries of several rows when at least this share of the real
#: rows repeat their (primary, event) pair.
MIN_ENTRY_REPEAT = 0.3
#: Turns of a seat, and rows of a career, paired as one chunk (a run of races in one car).
CHUNK = 8
#: Chunks are paired within blocks of this many rows in time order.
CHUNK_BLOCK = 256
#: A table whose rows' parent combinations are, for at least this share, those of another
#: table's rows is covered by it (and not seated).
MIN_COVERAGE = 0.9
#: ... where its own combinations repeat for at most this share of its rows.
MAX_REPEAT = 0.05


@dataclass
class Seats:
    """How a seated table's two secondary foreign keys are matched (module docstring).

    Ragged arrays: real row ``i`` of a parent table owns items ``start[i]:start[i + 1]``.

    Attributes:
        table: the seated table.
        primary, runs, events: names of its foreign keys ``P``, ``A`` and ``B``.
        run_times, event_times: each real ``A`` / ``B`` parent row's time (0 to 1).
        entry_start, entry_time, entry_size: each real ``P`` row's entries, in time order.
        step: how far in time a real run (a (P, A) group) moves per row (the median over
            runs of 5 rows or more): a generated ``A`` parent's rows are that far apart.
        prim_scores, run_scores, run_axis_rho: the (``P``, ``A``) co-parent axis: each real
            ``P`` / ``A`` row's score and the scores' correlation over the real rows.
    """

    table: str
    primary: str
    runs: str
    events: str
    run_times: np.ndarray
    event_times: np.ndarray
    entry_start: np.ndarray
    entry_time: np.ndarray
    entry_size: np.ndarray
    step: float
    prim_scores: np.ndarray
    run_scores: np.ndarray
    run_axis_rho: float

    def seat(self, prim: np.ndarray, run_want: np.ndarray, event_want: np.ndarray,
             prim_source: np.ndarray, run_source: np.ndarray, event_source: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The ``A`` and ``B`` parent of every row.

        Args:
            prim: the ``P`` parent (generated row) of every row of the table, all set.
            run_want, event_want: stubs per generated ``A`` / ``B`` parent row, each adding
                up to the table's rows.
            prim_source, run_source, event_source: the real row each generated ``P`` /
                ``A`` / ``B`` parent row copied.
            rng: numpy generator.

        Returns:
            ``(a, b, order)``: the ``A`` and ``B`` parent of every row and the rows in time
            order (for swaps between neighbours); ``None`` where the ``P`` parents' rows
            are not their sources' entries (then matched as any other table).
        """
        n = len(prim)
        n_prim = int(prim.max()) + 1 if n else 0
        count = np.bincount(prim, minlength=n_prim)
        src = prim_source[:n_prim] if n_prim else prim_source[:0]
        e_count = self.entry_start[src + 1] - self.entry_start[src]
        e_idx = _ranges(self.entry_start[src], e_count)
        e_owner = np.repeat(np.arange(n_prim), e_count)
        if not np.array_equal(np.bincount(e_owner, weights=self.entry_size[e_idx], minlength=n_prim), count):
            return None
        # 1. Entries and seats: one slot per row, (P parent, entry, seat).
        e_time, e_size = self.entry_time[e_idx], self.entry_size[e_idx]
        slot_entry = np.repeat(np.arange(len(e_idx)), e_size)
        slot_seat = np.arange(n) - np.repeat(np.cumsum(e_size) - e_size, e_size)
        slot_owner = e_owner[slot_entry]
        # A seat's turns: the slots of that seat in its P parent's entries, in time order
        # (entries are stored in time order).
        turn_order = np.lexsort((slot_entry, slot_seat, slot_owner))
        # 2. Each A parent's rows, one after another around its time, a real run's step apart.
        owner = np.repeat(np.arange(len(run_want)), run_want)
        within = np.arange(n) - np.repeat(np.cumsum(run_want) - run_want, run_want)
        t = self.run_times[run_source[owner]] + (within - (run_want[owner] - 1) / 2) * self.step
        # 3. Seats' turns and careers' rows, a chunk at a time.
        a = self._pair_chunks(n, slot_owner, slot_seat, slot_entry, e_time, turn_order, owner, t,
                              prim_source, run_source, rng)
        # 4. Entries and event stubs in time order, paired row by row.
        entry_rank = np.empty(len(e_idx), np.int64)
        entry_rank[np.lexsort((rng.random(len(e_idx)), e_time))] = np.arange(len(e_idx))
        by_time = np.lexsort((slot_seat, entry_rank[slot_entry]))
        stubs = np.repeat(np.arange(len(event_want)), event_want)
        stub_time = self.event_times[event_source[stubs]]
        # Events of one time (copies of one real event, at scales above 1) in a random order,
        # each one's stubs together, so an entry's rows share an event.
        event_rank = rng.permutation(len(event_want))
        b_slot = np.empty(n, np.int64)
        b_slot[by_time] = stubs[np.lexsort((event_rank[stubs], stub_time))]
        # Slots to the table's rows: the rows of each P parent are alike, in turn.
        rows = np.argsort(prim, kind='stable')
        slot_by_owner = np.argsort(slot_owner, kind='stable')
        to_row = np.empty(n, np.int64)
        to_row[slot_by_owner] = rows
        out_a, out_b = np.empty(n, np.int64), np.empty(n, np.int64)
        out_a[to_row] = a
        out_b[to_row] = b_slot
        return out_a, out_b, to_row[by_time]

    def _pair_chunks(self, n, slot_owner, slot_seat, slot_entry, e_time, turn_order, owner, t,
                     prim_source, run_source, rng) -> np.ndarray:
        """The ``A`` parent of every slot: chunks of :data:`CHUNK` turns of a seat and chunks
        of as many rows of an ``A`` parent's career, each in time order within blocks of
        :data:`CHUNK_BLOCK` rows, paired by their parents' places on the (``P``, ``A``)
        co-parent axis (copula correlation ``run_axis_rho``)."""
        C, B = CHUNK, CHUNK_BLOCK
        # Slot chunks: C consecutive turns of a seat.
        lane = pair_keys(slot_owner, slot_seat)
        s_chunk = np.empty(n, np.int64)
        s_chunk[turn_order] = _chunk_ids(lane[turn_order], C)
        s_time = e_time[slot_entry]
        # Stub chunks: C consecutive rows of an A parent's career.
        o = np.lexsort((t, owner))
        owner, t = owner[o], t[o]
        u_chunk = _chunk_ids(owner, C)

        def blocks(chunk, time):
            size = np.bincount(chunk)
            ct = np.bincount(chunk, weights=time) / np.maximum(size, 1)
            order = np.lexsort((rng.random(len(size)), ct))
            start = np.empty(len(size))
            start[order] = np.cumsum(size[order]) - size[order]
            return (start // B).astype(np.int64)[chunk]

        rho = self.run_axis_rho
        g_p = normal_scores(self.prim_scores[prim_source[slot_owner]], rng)
        p_key = np.bincount(s_chunk, weights=g_p) / np.bincount(s_chunk)
        n_a = int(owner.max()) + 1
        eps = rng.standard_normal(n_a)
        g_a = rho * normal_scores(self.run_scores[run_source[owner]], rng) + np.sqrt(1 - rho ** 2) * eps[owner]
        a_key = np.bincount(u_chunk, weights=g_a) / np.bincount(u_chunk)
        slots = np.lexsort((s_time, s_chunk, p_key[s_chunk], blocks(s_chunk, s_time)))
        stubs = np.lexsort((t, u_chunk, a_key[u_chunk], blocks(u_chunk, t)))
        a = np.empty(n, np.int64)
        a[slots] = owner[stubs]
        return a


def find_seats(table: str, primary: str, axes: dict[str, CoParentAxis], dup_rate: dict[str, float],
               links: dict[str, np.ndarray], n_rows: dict[str, int], parent_of) -> Seats | None:
    """The table's seats (module docstring), or ``None`` where it is not seated.

    Args:
        table: a child table.
        primary: its primary foreign key.
        axes: the co-parent axes of the table's secondary foreign keys (fk -> axis).
        dup_rate: fk -> share of the real rows repeating their (primary, fk) pair.
        links: real links.
        n_rows: real rows per table.
        parent_of: fk name -> parent table name.
    """
    for runs, run_axis in axes.items():
        if run_axis.anchor != primary or (run_axis.repeat or 0) < MIN_RUN_REPEAT:
            continue
        for events, era_axis in axes.items():
            if era_axis.anchor != runs or dup_rate.get(events, 0) < MIN_ENTRY_REPEAT:
                continue
            p, a, b = links[primary], links[runs], links[events]
            if (p < 0).any() or (a < 0).any() or (b < 0).any():
                continue
            n_p = n_rows[parent_of(primary)]
            # Times: each A and B parent's rank on the (A, B) axis over the real rows.
            event_times = _times(era_axis.scores, b)
            run_times = _times(era_axis.anchor_scores, a)
            t = event_times[b]
            # Entries: the (P, B) groups, by P parent in time order.
            _, e_first, e_size = np.unique(pair_keys(p, b), return_index=True, return_counts=True)
            e_owner, e_time = p[e_first], t[e_first]
            order = np.lexsort((e_time, e_owner))
            # Runs: the (P, A) groups; how far one moves in time per row.
            run_of = np.unique(pair_keys(p, a), return_inverse=True)[1].reshape(-1)
            return Seats(table, primary, runs, events, run_times, event_times,
                         _starts(e_owner[order], n_p), e_time[order], e_size[order],
                         _step(run_of, t), run_axis.anchor_scores, run_axis.scores, run_axis.rho)
    return None


def covered_tables(schema: RelationalSchema, links: dict[str, np.ndarray],
                   primary: dict[str, str]) -> set[str]:
    """Tables of two or more foreign keys whose real rows' parent combinations are, for at
    least :data:`MIN_COVERAGE` of them, those of another table's rows over the same parent
    tables (F1's ``qualify``: (race, driver, team) of results), their own combinations
    repeating for at most :data:`MAX_REPEAT` of the rows; of two tables that cover each
    other, only the smaller (the later in schema order at equal size). Such a table is not
    seated.

    Args:
        schema: the relational schema.
        links: fk name -> parent row of every real child row (-1 null).
        primary: child table -> its primary foreign key's name.
    """
    covered = set()
    for t in primary:
        fks = schema.parents_of(t)
        if len(fks) < 2:
            continue
        for h in schema.tables:
            theirs = schema.parents_of(h)
            pairs = [[g for g in theirs if g.parent == fk.parent] for fk in fks]
            if h == t or any(len(same) != 1 for same in pairs):
                continue
            a = np.stack([links[fk.name] for fk in fks], 1)
            b = np.stack([links[same[0].name] for same in pairs], 1)
            a, b = a[(a >= 0).all(1)], b[(b >= 0).all(1)]
            if len(a) < 20 or not len(b) or 1 - len(np.unique(a, axis=0)) / len(a) > MAX_REPEAT:
                continue
            if _isin_rows(a, b).mean() >= MIN_COVERAGE:
                mutual = len(b) >= 20 and _isin_rows(b, a).mean() >= MIN_COVERAGE
                if not mutual or (len(a), -schema.tables.index(t)) < (len(b), -schema.tables.index(h)):
                    covered.add(t)
                    break
    return covered


def _isin_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each row of ``a`` is a row of ``b`` (int arrays of the same width)."""
    _, code = np.unique(np.concatenate([a, b]), axis=0, return_inverse=True)
    code = code.reshape(-1)
    return np.isin(code[:len(a)], code[len(a):])


def _times(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each parent's time: the rank of its score among the child rows' parents' scores,
    from 0 to 1 (ties: their mean rank)."""
    child = scores[rows]
    ranked = np.sort(child)
    low = np.searchsorted(ranked, scores, side='left')
    high = np.searchsorted(ranked, scores, side='right')
    return (low + high) / (2.0 * max(len(child), 1))


def _step(group: np.ndarray, time: np.ndarray) -> float:
    """The real runs' median move per row: the spread of their events' times over the spread
    of ``L`` evenly spaced rows (``L / sqrt(12)``), over runs of 5 rows or more."""
    size = np.bincount(group)
    mean = np.bincount(group, weights=time) / np.maximum(size, 1)
    var = np.bincount(group, weights=time ** 2) / np.maximum(size, 1) - mean ** 2
    long = size >= 5
    if not long.any():
        return 0.0
    return float(np.median(np.sqrt(np.maximum(var[long], 0)) * np.sqrt(12) / size[long]))


def _starts(owner_sorted: np.ndarray, n: int) -> np.ndarray:
    """Ragged starts: items of owner ``i`` at ``start[i]:start[i + 1]``."""
    return np.r_[0, np.cumsum(np.bincount(owner_sorted, minlength=n))].astype(np.int64)


def _chunk_ids(group: np.ndarray, size: int) -> np.ndarray:
    """For a non-decreasing ``group``, the id of each element's chunk: ``size`` consecutive
    elements of one group, numbered 0, 1, ... in order (no product of two indices, so no
    overflow however many rows)."""
    n = len(group)
    pos = np.arange(n) - np.searchsorted(group, group)
    new = np.ones(n, bool)
    new[1:] = (group[1:] != group[:-1]) | (pos[1:] // size != pos[:-1] // size)
    return np.cumsum(new) - 1


def _ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(start, count)])``, vectorized."""
    total = int(count.sum())
    offset = np.repeat(start - np.r_[0, np.cumsum(count)[:-1]], count)
    return (np.arange(total) + offset).astype(np.int64)
