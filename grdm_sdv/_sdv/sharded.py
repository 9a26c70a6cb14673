"""GRDMSynthesizer.sample_sharded: samples larger than memory, spread over workers.

A mixin of :class:`~grdm_sdv.synthesizer.GRDMSynthesizer`. The structure (keys only) is
sampled once, as :meth:`sample` would at the same seed; the attributes are generated shard
by shard (:mod:`grdm_sdv.sharding.plan`), each shard written to part files and freed
(:mod:`grdm_sdv.sharding.store`). Under ``torchrun`` every rank takes the shards whose index
modulo the world size is its rank; a shard is seeded by its index, so the output does not
depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sdv.errors import SynthesizerInputError
from tqdm.auto import tqdm

from .. import __version__
from ..data.graph import RelationalGraph
from ..data.tensors import KnownCells
from ..sharding.keys import PositionalKeys, UnsupportedKey
from ..sharding.plan import child_counts, plan_shards, shard_graph, tree_keys
from ..sharding.store import FORMATS, ShardStore, ShardStoreError
from ..training.runtime import init_distributed, resolve_device
from .params import check_params, check_scale

# Peak bytes per generated row while a shard is denoised and decoded, per unit of
# hidden_dim (1.4 KiB per row at hidden_dim=128, measured at 10M rows in docs/performance.md).
_BYTES_PER_ROW_PER_HIDDEN = 11


@contextlib.contextmanager
def _numpy_seed(seed: int):
    """Seed numpy's global generator (RDT draws from it) for one block, then restore it."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def available_memory() -> int:
    """Bytes of memory available to this process now."""
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil comes with the test and eval extras
        return int(os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'))


class ShardedSampling:
    """The sharded sampling form of :class:`~grdm_sdv.synthesizer.GRDMSynthesizer`."""

    def sample_sharded(
        self,
        output_folder_path: str | os.PathLike,
        scale: float = 1.0,
        *,
        max_rows_in_memory: int | None = None,
        file_format: str = 'csv',
        seed: int | None = None,
        overwrite: bool = False,
    ) -> dict:
        """Sample a database of any size into part files, shard by shard.

        Tables that many shards share as parents (F1's drivers and constructors) are
        generated first; then every shard, a set of whole root entities with their
        descendants (F1: circuits with their races and all their results, standings,
        qualifying rows), is generated with the parents it references held clean, written to
        ``<folder>/<table>/part-<shard>.<format>`` and freed. ``<folder>/manifest.json``,
        written last, lists every part; without it the sample is not finished.

        Under ``torchrun --nproc_per_node N`` (or several nodes sharing the folder) each
        worker generates every N-th shard. A rerun with the same folder (and the same
        settings) generates only the shards that are not committed, so a worker that died
        costs its unfinished shards only. Read a small sample back with
        :func:`grdm_sdv.sharding.read_sharded`.

        Args:
            output_folder_path: the folder (created; must be empty, hold this same run, or
                ``overwrite``). Every worker must see it (one machine, or a shared file system).
            scale: size factor relative to the training data.
            max_rows_in_memory: rows generated per shard (the parent rows it holds clean come
                on top). Default: what half the memory available now holds at about
                ``11 * hidden_dim`` bytes a row, divided among this machine's workers.
            file_format: ``'csv'`` or ``'parquet'`` (needs pyarrow).
            seed: seeds the structure and every shard; ``None`` continues the unfinished run
                in the folder, or draws one as :meth:`sample` does.
            overwrite: delete a different sample already in the folder.

        Returns:
            The manifest: ``{'run': settings, 'shards': n, 'tables': {table: {'rows': n,
            'columns': [...], 'parts': [{'path', 'rows', 'shard'}, ...]}}}``.
        """
        self._check_sharded(scale, max_rows_in_memory, file_format)
        rank, world, _ = init_distributed(resolve_device(self.device))
        seed = self._sharded_seed(output_folder_path, seed, rank, world)
        schema = self._schema
        n_rows, links, source = self._structure.sample(float(scale), np.random.default_rng(seed),
                                                       link_matching=self.link_matching,
                                                       nest=self.nested_places)
        positions = self._positions(n_rows, links, source)
        del source  # held no longer than needed: one integer per row of every parent table
        # Held for the whole run: int32 halves the one thing that grows with the database.
        links = {k: v.astype(np.int32) if max(n_rows.values(), default=0) < 2**31 else v
                 for k, v in links.items()}
        shard_rows = int(max_rows_in_memory or self._default_shard_rows())
        plan = plan_shards(schema, tree_keys(schema, self._table_sizes, self._structure.primary),
                           n_rows, links, shard_rows)
        run = {'grdm_sdv': __version__, 'seed': int(seed), 'scale': float(scale),
               'shard_rows': shard_rows, 'model': self._model_fingerprint(), 'shards': len(plan)}
        try:
            store = ShardStore(output_folder_path, run, file_format)
            if rank == 0:
                store.prepare(list(schema.tables), overwrite)
        except ShardStoreError as err:
            raise SynthesizerInputError(str(err)) from None
        _barrier(world)
        key_makers = self._positional_keys(n_rows)
        counts = child_counts(schema, n_rows, links)
        mine = [k for k in range(len(plan)) if k % world == rank and not store.done(k)]
        bar = tqdm(total=sum(plan.size(k) for k in mine), desc=f'Shards (rank {rank})', unit='row',
                   disable=not self.verbose)
        with self._transformer_states_kept():
            for k in mine:
                stage = plan.stage_of_shard[k]
                store.wait([j for s in range(stage) for j in plan.shards_of(s)])
                self._sample_shard(plan, k, links, counts, store, key_makers, seed, rank, positions)
                bar.update(plan.size(k))
        bar.close()
        columns = {t: list(self._output_columns(t, pd.DataFrame(
            columns=self.get_metadata().get_column_names(t))).columns) for t in schema.tables}
        if rank == 0:
            store.wait(list(range(len(plan))))
            return store.finish(len(plan), columns)
        # Not a barrier: the slowest worker may finish long after gloo's timeout.
        return store.wait_manifest()

    # --- one shard ---------------------------------------------------------------------------
    def _sample_shard(self, plan, shard: int, links, counts, store: ShardStore, key_makers,
                      seed: int, rank: int = 0, positions=None) -> None:
        """Generate, decode and commit one shard (``positions``: the whole sample's places
        on the co-parent axes, table -> array, or None)."""
        start = time.perf_counter()
        schema = self._schema
        node = RelationalGraph.node_types(schema)
        sub = shard_graph(schema, plan, shard, links, counts)
        shard_seed = int(np.random.SeedSequence([seed, shard]).generate_state(1, np.uint64)[0] >> 1)
        cells = {}
        for t, rows in sub.rows.items():
            if t in sub.generated or not len(rows):
                continue
            x_num, x_cat = (torch.from_numpy(a) for a in store.load_rows(plan, t, rows))
            cells[node[t]] = KnownCells(x_num, torch.ones_like(x_num, dtype=torch.bool),
                                        x_cat, torch.ones_like(x_cat, dtype=torch.bool))
        if positions is not None:  # this shard's rows of them
            positions = {t: p[sub.rows[t]] if t in sub.rows else p[:0] for t, p in positions.items()}
        graph = RelationalGraph.build(schema, sub.n_rows, sub.links, self._nullable,
                                      self.message_direction, child_counts=sub.child_counts,
                                      positions=positions)
        out = self._denoise(graph, cells, torch.Generator().manual_seed(shard_seed), verbose=False)
        later = {t for s in plan.stages[:-1] for t in s}  # tables later shards hold clean
        rng = np.random.default_rng(shard_seed)
        frames, arrays, done = {}, {}, {}
        for t, rows in sub.rows.items():
            pk = schema.primary_keys.get(t)
            if t not in sub.generated and pk:
                done[t] = pd.DataFrame({pk: key_makers[t](rows)})
        with _numpy_seed(shard_seed), warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='The regex generator is not able')
            for t in sub.generated:  # parents first
                tt = out.pop(node[t])
                if not len(sub.rows[t]):
                    continue
                if t in later:
                    arrays[t] = (tt.x_num.numpy(), tt.x_cat.numpy())
                self._seed_transformers(t, [shard_seed, schema.tables.index(t)])
                # A rank column is ranked where its parents' children are all in the shard.
                df = self._decode_table(t, tt, sub.links, done, rng, complete=sub.siblings_complete)
                pk = schema.primary_keys.get(t)
                if pk:
                    df[pk] = key_makers[t](sub.rows[t])
                    done[t] = df[[pk]]
                frames[t] = self._output_columns(t, df)
        held = sum(len(r) for t, r in sub.rows.items() if t not in sub.generated)
        store.commit(shard, frames, arrays, {
            'rows': int(sum(len(sub.rows[t]) for t in sub.generated)), 'held_rows': int(held),
            'seconds': round(time.perf_counter() - start, 3), 'rank': rank})

    # --- checks and settings -----------------------------------------------------------------
    def _check_sharded(self, scale, max_rows_in_memory, file_format) -> None:
        if not self._fitted:
            raise SynthesizerInputError('This synthesizer has not been fitted: call fit() first.')
        check_scale(scale)
        check_params(link_matching=self.link_matching)  # read when sampling: set after fit?
        if file_format not in FORMATS:
            raise SynthesizerInputError(f"file_format must be one of {FORMATS}, got {file_format!r}.")
        if max_rows_in_memory is not None and (
                isinstance(max_rows_in_memory, bool) or not isinstance(max_rows_in_memory, (int, np.integer))
                or max_rows_in_memory < 1):
            raise SynthesizerInputError(
                f'max_rows_in_memory must be a positive integer, got {max_rows_in_memory!r}.')
        if not self._streamable():
            raise SynthesizerInputError(
                'sample_sharded cannot apply multi-table constraints or composite keys, which '
                'need the whole database at once; use sample() or sample_scale().')
        alternate = [t for t in self._schema.tables
                     if self._table_synthesizers[t]._data_processor.metadata.alternate_keys]
        if alternate:
            raise SynthesizerInputError(
                f'sample_sharded cannot keep alternate keys unique across shards (tables '
                f'{alternate}); use sample() or sample_scale().')

    def _positional_keys(self, n_rows: dict[str, int]) -> dict:
        """Table -> its key column by row position (refuses keys that cannot be)."""
        makers = {}
        for t, pk in self._schema.primary_keys.items():
            if not pk:
                continue
            proc = self._table_synthesizers[t]._data_processor
            transformer = proc._hyper_transformer.field_transformers.get(pk)
            try:
                keys = PositionalKeys(transformer, n_rows[t])
            except UnsupportedKey as err:
                raise SynthesizerInputError(
                    f"sample_sharded cannot generate the primary key '{t}.{pk}': {err}. Give "
                    'it an sdtype id with a regex_format, or use sample_scale().') from None
            dtype = proc._dtypes.get(pk)
            makers[t] = (lambda rows, keys=keys, dtype=dtype: _cast(keys(rows), dtype))
        return makers

    def _transformers(self, table: str) -> list:
        """The table's RDT transformers, chained and multi-column ones included."""
        proc = self._table_synthesizers[table]._data_processor
        hyper = proc._hyper_transformer
        found = list(getattr(hyper, '_transformers_sequence', None) or hyper.field_transformers.values())
        found += list(getattr(proc, 'grouped_columns_to_transformers', {}).values())
        return [t for t in found if t is not None]

    def _seed_transformers(self, table: str, seed: list[int]) -> None:
        """Give the table's transformers random states of this shard's own, so its nulls and
        PII draws do not depend on which shards the process decoded before (nor repeat from
        shard to shard); key generators restart, so a long run never exhausts them (the
        keys they draw are replaced by positional ones)."""
        for i, tr in enumerate(self._transformers(table)):
            if hasattr(tr, 'reset_randomization'):
                tr.reset_randomization()
            state = int(np.random.SeedSequence([*seed, i]).generate_state(1)[0])
            if getattr(tr, 'random_states', None) is not None:
                tr.set_random_state(np.random.RandomState(state), 'reverse_transform')
            if getattr(tr, 'faker', None) is not None:
                tr.faker.seed_instance(state)

    @contextlib.contextmanager
    def _transformer_states_kept(self):
        """Restore every transformer after the block (random states, key generators, Faker),
        so sample() goes on as if sample_sharded had not run. By pickle, which every RDT
        transformer supports (a RegexGenerator rebuilds its generator where it was)."""
        saved = [(tr, pickle.dumps(tr)) for t in self._schema.tables for tr in self._transformers(t)]
        try:
            yield
        finally:
            for tr, state in saved:
                tr.__dict__.clear()
                tr.__dict__.update(pickle.loads(state).__dict__)

    def _default_shard_rows(self) -> int:
        workers = int(os.environ.get('LOCAL_WORLD_SIZE', '1'))
        return max(1000, int(available_memory() * 0.5 / workers
                             / (_BYTES_PER_ROW_PER_HIDDEN * self.hidden_dim)))

    def _model_fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name, tensor in self._model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]

    def _sharded_seed(self, folder, seed, rank: int, world: int) -> int:
        """The run's seed: given, the unfinished run's in ``folder``, or drawn as sample() does;
        rank 0's on every rank."""
        if seed is None:
            old = ShardStore.existing_run(folder) if os.path.isdir(folder) else None
            if old is not None and not os.path.exists(os.path.join(folder, 'manifest.json')):
                seed = old['seed']
            else:
                with self._set_temp_numpy_seed():
                    seed = int(np.random.randint(0, 2**31 - 1))
        if world > 1:
            box = [int(seed)]
            torch.distributed.broadcast_object_list(box, src=0)
            seed = box[0]
        return int(seed)


def _cast(values: np.ndarray, dtype) -> pd.Series:
    series = pd.Series(values)
    if dtype is None:
        return series
    try:
        return series.astype(dtype)
    except (TypeError, ValueError, OverflowError):
        return series


def _barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


__all__ = ['ShardedSampling']
