"""GRDMSynthesizer: the SDV glue around the GRDM model.

It fills the hooks of ``sdv.multi_table.base.BaseMultiTableSynthesizer`` the way
``HMASynthesizer`` does, so it drops into code written for HMA:

* SDV/RDT preprocesses every table (datetimes, PII, keys, formats); categorical and boolean
  columns are passed through raw and encoded by :mod:`grdm_sdv.data.encoding`;
* ``_model_tables`` fits the structure model and trains the diffusion denoiser;
* ``_sample`` samples a new graph, denoises all tables jointly, reverse-transforms each
  table with its RDT processor (new primary keys, fake PII, original formats), fills the
  foreign keys from the sampled edges and applies the constraints, as sdv's
  ``hierarchical_sampler`` does.
"""

from __future__ import annotations

import datetime
import logging
import importlib
import os
import pickle
import time
import warnings
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sdv._utils import check_sdv_versions_and_warn, check_synthesizer_version
from sdv.errors import InvalidDataError, SamplingError, SynthesizerInputError
from sdv.logging import disable_single_table_logger
from sdv.multi_table.base import BaseMultiTableSynthesizer
from sdv.single_table.base import BaseSingleTableSynthesizer

from . import __version__
from .data.encoding import TableEncoder, known_masks
from .data.graph import RelationalGraph
from .data.schema import RelationalSchema
from .data.summaries import fit_summaries, with_summaries
from .data.tensors import KnownCells, TableTensors
from .diffusion import MixedDiffusion
from .nn.denoiser import HeteroDenoiser
from .pipeline import generate
from .structure import StructureModel
from .training.runtime import resolve_device
from .training.trainer import Trainer

LOGGER = logging.getLogger(__name__)


class _TableProcessor(BaseSingleTableSynthesizer):
    """Per-table SDV/RDT processing only; the model is the multi-table one.

    Categorical and boolean columns keep their raw values (as CTGAN's synthesizer does) so
    the diffusion can treat them as categories rather than as UniformEncoder floats.
    """

    _model_sdtype_transformers = {'categorical': None, 'boolean': None}

    def _fit(self, processed_data):  # pragma: no cover - the multi-table model does the work
        pass

    def _sample(self, num_rows, conditions=None):  # pragma: no cover
        raise NotImplementedError('Sample tables through GRDMSynthesizer.')


class GRDMSynthesizer(BaseMultiTableSynthesizer):
    """Graph-conditional diffusion synthesizer for relational databases (GRDM).

    Structure first (a degree-preserving random graph of rows and foreign keys), then all
    attributes of all tables denoised jointly by a heterogeneous GNN. No limit on the number
    of tables or the depth of the schema.

    Args:
        metadata: ``sdv.metadata.Metadata`` of the database.
        locales: Faker locales for PII columns. (default: ``['en_US']``)
        steps: training steps. (default: ``1000``; with ``loss_hops=1`` a step costs about
            twice a seeds-only step and teaches more than two: ``docs/fidelity.md``)
        batch_size: seed rows per training step (each brings its K-hop subgraph).
            (default: ``512``)
        n_hops: K, message-passing layers of the denoiser = hops each row sees per
            denoising step. (default: ``2``)
        hidden_dim: hidden width of the denoiser. (default: ``128``)
        num_timesteps: diffusion time levels used in training. (default: ``1000``)
        sampling_steps: reverse steps when sampling (at most ``num_timesteps``).
            (default: ``50``)
        learning_rate: AdamW learning rate. (default: ``2e-3``)
        fanout: neighbours kept per row and foreign key per hop in training subgraphs.
            (default: ``8``)
        device: ``'auto'`` (CUDA when available), ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
            (default: ``'auto'``)
        verbose: show progress bars. (default: ``True``)
        mixed_precision: run the denoiser under bfloat16 autocast. ``None``: on with
            CUDA, off on CPU (where it measured 8% faster sampling but 30% slower training
            even with AMX units). (default: ``None``)
        torch_compile: run the denoiser's per-row blocks through ``torch.compile``
            (inductor; needs a C compiler on CPU). The first fit or sample compiles for
            seconds to a minute; it pays off on long runs. (default: ``False``)
        message_direction: ``'both'``: messages flow along every foreign key both ways.
            ``'down'``: parent -> child only; each row then sees its ancestors but not its
            descendants, which cannot learn dependencies that only run through children,
            e.g. between two parents of one table. It was the cure for shrinking parents
            under the one-level sampler; ``parent_lead`` now is (``docs/fidelity.md``).
            (default: ``'both'``)
        independent_times: share of training subgraphs in which every table is noised at
            its own diffusion time (else one time per subgraph), so the model can denoise a
            table next to tables at other noise levels. (default: ``0.5``)
        parent_lead: sampling schedule: how far each table's noise level trails its
            parents' (0: all tables at one level, joint denoising, which shrinks hub
            parents toward their mean and commits children before their parents are
            known; 1: each level of the schema wholly generated before its children
            start). Needs a model fitted with ``independent_times > 0``. Measured in
            ``docs/fidelity.md``. (default: ``0.5``)
        sampling_variance: noise of each reverse step of the numbers: ``'beta'`` (DDPM's
            beta_t, as the GRDM reference samples) or ``'posterior'`` (beta~_t, smaller:
            measured to draw every column too narrow). (default: ``'beta'``)
        loss_hops: the training loss covers the rows within this many hops of each seed
            row, not only the seeds: more signal per step from the subgraphs already
            sampled (rows farther out see a neighbourhood cut at the subgraph's edge).
            (default: ``1``)
        child_summaries: experimental. Give every parent table extra generated columns, the
            mean of each numerical column over its children (``grdm_sdv.data.summaries``), so
            siblings can share an effect no parent column shows; dropped from the output.
            Measured to help exactly that and to cost a little everywhere else
            (``docs/fidelity.md``). A table kept with ``fixed_tables`` is then conditioned
            on RePaint-style, not held clean. (default: ``False``)
        context_dropout: share of training subgraphs in which every message is dropped, so
            the model also learns each table without its neighbours, which
            ``guidance_scale`` needs. (default: ``0.1``)
        guidance_scale: classifier-free guidance on the neighbourhood at sampling: every
            step moves ``guidance_scale`` times as far from the message-free prediction
            as the model's own (``1``: no guidance; above 1 strengthens what the rows take
            from their neighbours, at the cost of a second pass per step). Needs a model
            fitted with ``context_dropout > 0``. Measured in ``docs/fidelity.md``: 1.15
            brings the planted dependencies to within 0.05 of real. (default: ``1.15``)
        seed: seed for fitting; ``None`` draws one from numpy's global generator.
            (default: ``None``)
    """

    _synthesizer = _TableProcessor
    # The source's DDL (a grdm_sdv.database.DatabaseSchema) when the data was read from a
    # database, so grdm_sdv.database.sample_to_database recreates it; saved with the model.
    # A class attribute, so files saved before it existed load with None.
    database_schema = None
    # Share of training subgraphs in which a neighbour table is given clean (time 0), so
    # tables kept at sampling (fixed_tables) are conditioned on exactly, not RePaint-style.
    _CLEAN_PROB = 0.15

    def __init__(
        self,
        metadata,
        locales: list[str] | str | None = ['en_US'],  # noqa: B006 - SDV's own default
        steps: int = 1000,
        batch_size: int = 512,
        n_hops: int = 2,
        hidden_dim: int = 128,
        num_timesteps: int = 1000,
        sampling_steps: int = 50,
        learning_rate: float = 2e-3,
        fanout: int = 8,
        device: str = 'auto',
        verbose: bool = True,
        seed: int | None = None,
        mixed_precision: bool | None = None,
        torch_compile: bool = False,
        message_direction: str = 'both',
        independent_times: float = 0.5,
        parent_lead: float = 0.5,
        sampling_variance: str = 'beta',
        loss_hops: int = 1,
        child_summaries: bool = False,
        context_dropout: float = 0.1,
        guidance_scale: float = 1.15,
    ) -> None:
        _check_params(steps=steps, batch_size=batch_size, n_hops=n_hops, hidden_dim=hidden_dim,
                      num_timesteps=num_timesteps, sampling_steps=sampling_steps,
                      fanout=fanout, learning_rate=learning_rate, mixed_precision=mixed_precision,
                      torch_compile=torch_compile, message_direction=message_direction,
                      independent_times=independent_times, parent_lead=parent_lead,
                      sampling_variance=sampling_variance, loss_hops=loss_hops,
                      child_summaries=child_summaries, context_dropout=context_dropout,
                      guidance_scale=guidance_scale)
        if guidance_scale != 1 and not context_dropout:
            raise SynthesizerInputError(
                f'guidance_scale={guidance_scale} needs context_dropout > 0 (the model then '
                'learns the message-free prediction guidance starts from). Set guidance_scale=1 '
                'or context_dropout=0.1.')
        super().__init__(metadata, locales=locales)
        self.steps = steps
        self.batch_size = batch_size
        self.n_hops = n_hops
        self.hidden_dim = hidden_dim
        self.num_timesteps = num_timesteps
        self.sampling_steps = sampling_steps
        self.learning_rate = learning_rate
        self.fanout = fanout
        self.device = device
        self.verbose = verbose
        self.seed = seed
        self.mixed_precision = mixed_precision
        self.torch_compile = torch_compile
        self.message_direction = message_direction
        self.independent_times = independent_times
        self.parent_lead = parent_lead
        self.sampling_variance = sampling_variance
        self.loss_hops = loss_hops
        self.child_summaries = child_summaries
        self.context_dropout = context_dropout
        self.guidance_scale = guidance_scale
        self._table_sizes: dict[str, int] = {}
        self._model: HeteroDenoiser | None = None
        self._loss_history: list[dict] = []
        self._fit_seconds: float | None = None
        self._grdm_version = __version__

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, data: dict[str, pd.DataFrame]) -> None:
        """Fit the synthesizer to ``data`` (one DataFrame per table of the metadata).

        The data is checked whole first (tables the metadata does not know, empty tables,
        foreign keys whose type cannot match their parent's key, unhashable category values,
        then SDV's own checks) and every problem is reported in one ``InvalidDataError``.
        A fit that fails leaves the synthesizer unfitted.
        """
        self._fitted = False
        self._check_tables(data)
        super().fit(data)

    def validate(self, data: dict[str, pd.DataFrame]) -> None:
        """Check ``data`` against the metadata; raise one ``InvalidDataError`` listing all problems."""
        self._check_tables(data)
        try:
            super().validate(data)
        except InvalidDataError as err:
            # SDV's unknown-reference message names the FK column but not its table: say
            # which table, which parent, how many rows.
            sdv_refs = [e for e in err.errors if str(e).startswith('Relationships:')]
            ours = _unknown_reference_errors(self._original_metadata, data)
            if not sdv_refs or not ours:
                raise
            others = [e for e in err.errors if e not in sdv_refs]
            raise InvalidDataError(others + ours) from None

    def _check_tables(self, data) -> None:
        """The checks SDV's base leaves to a deep traceback (or does not do), collected."""
        if not isinstance(data, dict) or not all(isinstance(v, pd.DataFrame) for v in data.values()):
            held = (' holding ' + ', '.join(sorted({type(v).__name__ for v in data.values()}))
                    if isinstance(data, dict) else '')
            raise SynthesizerInputError(
                f'Expected a dict of table name -> pandas.DataFrame, got '
                f'{type(data).__name__}{held}. Pass one DataFrame per table of the metadata.'
            )
        meta = self._original_metadata
        errors = _table_errors(meta, data) + _key_type_errors(meta, data) \
            + _column_errors(meta, data)
        if errors:
            raise InvalidDataError(errors)

    def _augment_tables(self, processed_data: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return processed_data

    def _model_tables(self, augmented_data: dict[str, pd.DataFrame]) -> None:
        # Everything is built in locals and stored at the end, so a fit that fails (e.g. a
        # bad table in fit_processed_data) leaves no mix of old and new state behind.
        self._fitted = False
        start = time.perf_counter()
        schema = RelationalSchema.from_metadata_dict(self.metadata.to_dict())
        missing = sorted(set(schema.tables) - set(augmented_data))
        if missing:
            raise SynthesizerInputError(
                f'The data has no table(s) {missing} that the metadata describes. '
                'Pass one DataFrame per table of the metadata.'
            )
        node = RelationalGraph.node_types(schema)
        links = _links(schema, augmented_data)
        n_rows = {t: len(augmented_data[t]) for t in schema.tables}

        structure = StructureModel(schema).fit(n_rows, links)
        nullable = {fk.name: bool((links[fk.name] < 0).any()) for fk in schema.foreign_keys}
        encoders: dict[str, TableEncoder] = {}
        tensors: dict[str, TableTensors] = {}
        for t in schema.tables:
            df = augmented_data[t]
            fk_cols = {fk.column for fk in schema.parents_of(t)}
            attrs = df[[c for c in df.columns if c not in fk_cols]]
            enc = TableEncoder(self._categorical_columns(t, attrs)).fit(attrs)
            x_num, x_cat = enc.transform(attrs)
            encoders[t] = enc
            tensors[node[t]] = TableTensors(torch.from_numpy(x_num), torch.from_numpy(x_cat),
                                            enc.num_classes)

        summaries = None
        if self.child_summaries:
            summaries = fit_summaries(schema, {t: tensors[node[t]].x_num.numpy() for t in schema.tables}, links)
            tensors = with_summaries(summaries, tensors, node, schema, links)
        graph = RelationalGraph.build(schema, n_rows, links, nullable, self.message_direction)
        seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        device = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = HeteroDenoiser(
                node_types=list(node.values()),
                edge_types=RelationalGraph.edge_types(schema, self.message_direction),
                d_num={k: v.x_num.shape[1] for k, v in tensors.items()},
                num_classes={k: v.num_classes for k, v in tensors.items()},
                d_struct=RelationalGraph.struct_dims(schema, nullable),
                hidden=self.hidden_dim,
                num_layers=self.n_hops,
            )
        trainer = Trainer(
            model=model, diffusion=self._diffusion(), steps=self.steps,
            batch_size=self.batch_size, lr=self.learning_rate, fanout=self.fanout,
            device=device, verbose=self.verbose, mixed_precision=self.mixed_precision,
            torch_compile=self.torch_compile, clean_prob=self._CLEAN_PROB,
            independent_times=self.independent_times, loss_hops=self.loss_hops,
            context_dropout=self.context_dropout,
        )
        generator = torch.Generator().manual_seed(seed)
        fitted_model = trainer.fit(graph, tensors, generator)

        self._schema = schema
        self._structure = structure
        self._nullable = nullable
        self._encoders = encoders
        self._summaries = summaries
        self._table_sizes = n_rows
        self._fit_seed = seed
        self._model = fitted_model
        self._loss_history = trainer.loss_history
        self._train_seconds = trainer.train_seconds
        self._clean_known = trainer.clean_prob > 0
        self._guidable = trainer.context_dropout > 0
        self._fit_device = str(device)
        self._fit_seconds = time.perf_counter() - start

    def _summary_width(self, table: str) -> int:
        """Children-summary columns the model generates for ``table`` (``child_summaries``)."""
        layout = getattr(self, '_summaries', None)
        return layout.width(table) if layout is not None else 0

    def _categorical_columns(self, table: str, attrs: pd.DataFrame) -> list[str]:
        """Columns the diffusion treats as categories: by sdtype, not by dtype.

        Categorical, boolean and non-key id columns reach us raw (their RDT transformer is
        ``None``), so a categorical column of integer codes stays categorical; numerical and
        datetime columns are floats by now. Columns the metadata does not list (added by
        constraints) go by dtype.
        """
        columns = self.metadata.tables[table].columns
        out = []
        for c in attrs.columns:
            sdtype = columns.get(c, {}).get('sdtype')
            is_number = pd.api.types.is_numeric_dtype(attrs[c]) \
                and not pd.api.types.is_bool_dtype(attrs[c])
            if not is_number or sdtype not in (None, 'numerical', 'datetime'):
                out.append(c)
        return out

    def _diffusion(self) -> MixedDiffusion:
        return MixedDiffusion(num_timesteps=self.num_timesteps,
                              variance=self.sampling_variance)

    # --- sampling ----------------------------------------------------------------------------
    def _sample(self, scale: float, batch_size=None, max_tries_per_batch=100) -> dict[str, pd.DataFrame]:
        # The base wraps this in its temporary numpy seed, so drawing our seeds from
        # np.random makes sampling repeatable and reset_sampling() rewinds it.
        seed = int(np.random.randint(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        fixed, conditions = getattr(self, '_pending', None) or ({}, {})
        fixed_rows, fixed_links = self._fixed_structure(fixed)
        start = time.perf_counter()
        n_rows, links = self._structure.sample(scale, rng, fixed_rows, fixed_links)
        timings = {'structure': time.perf_counter() - start}
        known = {t: self._known_all(t, df) for t, df in fixed.items()}
        for table, values in conditions.items():
            known[table] = self._known_condition(table, values, n_rows[table])
        sink = getattr(self, '_sink', None)
        sampled = self._generate(n_rows, links, known, seed, keep=fixed, timings=timings, sink=sink)
        if sink is not None:
            return sampled  # written already; only key columns were kept
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='The metadata lists columns in a different order')
            return self._reverse_transform_constraints(sampled)

    def _generate(self, n_rows, links, known, seed, keep=None, fill_nulls=False,
                  keys_from=None, timings=None, sink=None) -> dict[str, pd.DataFrame]:
        """Denoise every table of the graph ``(n_rows, links)`` jointly and decode it.

        Args:
            known: table -> (processed attribute values, boolean mask of known cells).
            keep: table -> DataFrame returned as it is (its keys are the parents' keys).
            fill_nulls: unknown numerical cells get a value, never a null (imputation).
            keys_from: table -> DataFrame whose primary key replaces the generated one.
            timings: phase -> seconds so far; the denoise and decode times are added and
                the whole kept as ``_sample_seconds`` (read by the speed benchmark).
            sink: ``sink(table, df)`` takes each table as soon as it is decoded; then only
                the primary keys children still need are kept, and the frames returned
                hold nothing else (streamed sampling, see ``sample_scale``).
        """
        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)
        schema = self._schema
        node = RelationalGraph.node_types(schema)
        graph = RelationalGraph.build(schema, n_rows, links, self._nullable,
                                      getattr(self, 'message_direction', 'both'))
        cells = {}
        for t, (values, mask) in known.items():
            enc = self._encoders[t]
            x_num, x_cat = enc.transform(values)
            num_mask, cat_mask, x_cat = known_masks(enc, mask, x_cat, fill_nulls)
            extra = self._summary_width(t)  # children summaries: unknown, generated
            if extra:
                x_num = np.concatenate([x_num, np.zeros((len(x_num), extra), x_num.dtype)], 1)
                num_mask = np.concatenate([num_mask, np.zeros((len(num_mask), extra), bool)], 1)
            cells[node[t]] = KnownCells(torch.from_numpy(x_num), torch.from_numpy(num_mask),
                                        torch.from_numpy(x_cat), torch.from_numpy(cat_mask))
        start = time.perf_counter()
        out = generate(
            self._model, self._diffusion(), graph,
            d_num={node[t]: self._encoders[t].d_num + self._summary_width(t) for t in schema.tables},
            num_classes={node[t]: self._encoders[t].num_classes for t in schema.tables},
            sampling_steps=self.sampling_steps, generator=generator,
            device=resolve_device(self.device), verbose=self.verbose, known=cells,
            fanout=self.fanout, mixed_precision=getattr(self, 'mixed_precision', None),
            torch_compile=getattr(self, 'torch_compile', False),
            clean_known=getattr(self, '_clean_known', False),
            levels={node[t]: lv for t, lv in schema.levels().items()},
            parent_lead=self.parent_lead,
            guidance_scale=self._guidance(),
        )
        timings = {} if timings is None else timings
        timings['denoise'] = time.perf_counter() - start
        start = time.perf_counter()
        sampled: dict[str, pd.DataFrame] = {}
        for t in schema.tables:  # parents before children
            pk = schema.primary_keys.get(t)
            if keep and t in keep:
                sampled[t] = keep[t].reset_index(drop=True).copy()
            else:
                tt = out.pop(node[t])
                enc = self._encoders[t]
                attrs = enc.inverse(tt.x_num.numpy()[:, :enc.d_num], tt.x_cat.numpy(), rng)
                del tt
                sampled[t] = self._finalize_table(t, attrs, links, sampled)
                if keys_from and t in keys_from and pk:
                    sampled[t][pk] = keys_from[t][pk].to_numpy()
            if sink is not None:
                sink(t, sampled[t])
                sampled[t] = sampled[t][[pk]] if pk and schema.children_of(t) else sampled[t].iloc[:0]
        timings['decode'] = time.perf_counter() - start
        self._sample_seconds = timings
        return sampled

    def _guidance(self) -> float:
        scale = self.guidance_scale
        _check_params(guidance_scale=scale)
        if scale != 1 and not getattr(self, '_guidable', False):
            raise SynthesizerInputError(
                f'guidance_scale={scale} needs a model fitted with context_dropout > 0 (it '
                'learns the message-free prediction guidance starts from). Set '
                'guidance_scale=1, or refit with e.g. context_dropout=0.1.')
        return float(scale)

    # --- conditional generation --------------------------------------------------------------
    def _processed(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        """``df``'s attribute columns in the processed space the encoders read, row order kept.

        Columns the frame lacks come back as NaN (they are unknown to the caller).
        """
        proc = self._table_synthesizers[table]._data_processor
        meta_cols = self.metadata.get_column_names(table)
        full = df.reset_index(drop=True).copy()
        for c in meta_cols:
            if c not in full:
                full[c] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            processed = proc.transform(full[meta_cols])
        return processed.reset_index(drop=True).reindex(columns=self._encoders[table].columns)

    def _known_all(self, table, df):
        values = self._processed(table, df)
        return values, pd.DataFrame(True, index=values.index, columns=values.columns)

    def _known_condition(self, table: str, values: dict, n: int):
        self._validate_table_name(table)
        enc = self._encoders[table]
        unknown = sorted(set(values) - set(enc.columns))
        if unknown:
            raise SynthesizerInputError(
                f"Cannot condition table '{table}' on {unknown}: not attribute columns it models "
                f'(those are {enc.columns}). Keys are set with fixed_tables instead.'
            )
        cats = {c.name: c.categories for c in enc.cat_columns}
        for col, value in values.items():
            if col in cats and not any(value == v for v in cats[col]):
                raise SynthesizerInputError(
                    f"Condition {table}.{col} = {value!r}: the model never saw this value "
                    f'(known: {list(cats[col][:10])}{"..." if len(cats[col]) > 10 else ""}).'
                )
        frame = pd.DataFrame({c: [v] * n for c, v in values.items()})
        processed = self._processed(table, frame)
        mask = pd.DataFrame(False, index=processed.index, columns=processed.columns)
        mask[list(values)] = True
        return processed, mask

    def _fixed_structure(self, fixed: dict[str, pd.DataFrame]):
        if not fixed:
            return None, None
        return {t: len(df) for t, df in fixed.items()}, _links(self._schema, fixed, tables=set(fixed))

    def _check_given(self, data, what: str) -> None:
        if not self._fitted:
            raise SamplingError('This synthesizer has not been fitted. Please fit it before '
                                f'calling {what}.')
        if not isinstance(data, dict) or not all(isinstance(v, pd.DataFrame) for v in data.values()):
            raise SynthesizerInputError(f'{what} takes a dict of table name -> pandas.DataFrame.')
        unknown = sorted(set(data) - set(self._schema.tables))
        if unknown:
            raise SynthesizerInputError(f'{what}: unknown table(s) {unknown}; the metadata has '
                                        f'{self._schema.tables}.')
        for t, df in data.items():
            keys = [self._schema.primary_keys.get(t)] + [fk.column for fk in self._schema.parents_of(t)]
            missing = [k for k in keys if k and k not in df.columns]
            if missing:
                raise SynthesizerInputError(f"{what}: table '{t}' lacks its key column(s) {missing}.")

    def _given_structure(self, data, what: str) -> tuple[dict, dict, int]:
        """Row counts and links of a complete database given by the caller, and a seed drawn
        from the base's temporary numpy state (so ``reset_sampling`` rewinds it)."""
        self._check_given(data, what)
        missing = sorted(set(self._schema.tables) - set(data))
        if missing:
            raise SynthesizerInputError(f'{what} needs every table (keys at least); missing {missing}.')
        links = _links(self._schema, data)
        n_rows = {t: len(data[t]) for t in self._schema.tables}
        with self._set_temp_numpy_seed():
            seed = int(np.random.randint(0, 2**31 - 1))
        return n_rows, links, seed

    def sample_from_structure(self, data: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """New attributes for every table on the real keys and links of ``data``.

        Every table keeps its rows, primary keys and foreign keys; all other columns are
        generated jointly. ``data`` needs only the key columns.
        """
        n_rows, links, seed = self._given_structure(data, 'sample_from_structure')
        out = self._generate(n_rows, links, {}, seed, keys_from=data)
        return {t: out[t][self.metadata.get_column_names(t)] for t in self._schema.tables}

    def impute(self, data: dict[str, pd.DataFrame], method: str = 'draw',
               n_draws: int = 5) -> dict[str, pd.DataFrame]:
        """Fill every missing cell of ``data`` jointly with the rest of the database.

        ``data`` holds every table with its keys; any other cell that is NaN (or a whole
        column, or every attribute of a table given as keys only) is generated, conditioned
        on all known cells of all tables through the graph. Known cells come back unchanged.

        Args:
            data: table name -> DataFrame with NaN where a value is to be filled.
            method: ``'draw'``: each missing cell is one draw from its conditional
                distribution (right for multiple imputation: call it again for another
                completed database). ``'point'``: a point estimate from ``n_draws`` draws,
                the most frequent category, or the mean of numbers and dates (better
                single-guess accuracy when the conditional is flat). (default: ``'draw'``)
            n_draws: draws behind a point estimate. (default: ``5``)
        """
        if method not in ('draw', 'point'):
            raise SynthesizerInputError(f"method must be 'draw' or 'point', got {method!r}.")
        if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
            raise SynthesizerInputError(f'n_draws must be an integer >= 1, got {n_draws!r}.')
        n_rows, links, seed = self._given_structure(data, 'impute')
        known = {}
        for t in self._schema.tables:
            values = self._processed(t, data[t])
            given = data[t].reset_index(drop=True)
            mask = pd.DataFrame({c: given[c].notna().to_numpy() if c in given else np.zeros(len(given), bool)
                                 for c in values.columns})
            known[t] = (values, mask)
        draws = [self._generate(n_rows, links, known, seed + i, fill_nulls=True, keys_from=data)
                 for i in range(n_draws if method == 'point' else 1)]
        out = draws[0] if len(draws) == 1 else {
            t: _point_estimate([d[t] for d in draws], self.metadata.tables[t].columns)
            for t in self._schema.tables}
        result = {}
        for t in self._schema.tables:
            given = data[t].reset_index(drop=True).copy()
            for c in self.metadata.get_column_names(t):
                if c not in given:
                    given[c] = out[t][c].to_numpy()
                elif given[c].isna().any():
                    filled = given[c].where(given[c].notna(), out[t][c])
                    given[c] = filled.astype(out[t][c].dtype) if filled.notna().all() else filled
            result[t] = given[self.metadata.get_column_names(t)]
        return result

    def _finalize_table(self, table, attrs, links, done) -> pd.DataFrame:
        """Reverse-transform one table and fill its foreign keys from the sampled edges."""
        synth = self._table_synthesizers[table]
        proc = synth._data_processor
        df = proc.reverse_transform(attrs)
        text_keys = set()  # FKs to integer keys that came back as digit strings (beyond int64)
        for fk in self._schema.parents_of(table):
            parent_keys = done[fk.parent][fk.parent_key]
            link = links[fk.name]
            values = parent_keys.take(np.clip(link, 0, None)).reset_index(drop=True)
            if (link < 0).any():
                values = values.astype(object).where(pd.Series(link >= 0), None)
            df[fk.column] = values.to_numpy()
            if parent_keys.dtype == object:
                text_keys.add(fk.column)
        df = synth.reverse_transform_constraints(df)
        for name, dtype in proc._dtypes.items():
            if name not in df.columns:
                continue
            if name in text_keys and pd.api.types.is_numeric_dtype(dtype):
                continue  # a float or Int64 FK would round them: keep the parent's strings
            try:
                df[name] = df[name].astype(dtype)
            except (TypeError, ValueError, OverflowError):
                # e.g. an int FK that now holds nulls: keep the wider type, as HMA does.
                LOGGER.info("Could not cast column '%s.%s' back to %s.", table, name, dtype)
        columns = [c for c in self.metadata.get_column_names(table) if c in df.columns]
        extra = [c for c in df.columns if c not in columns]
        return df[columns + extra]

    def sample(
        self,
        num_rows: int | float | None = None,
        main_table_name: str | None = None,
        batch_size: int | None = None,
        max_tries_per_batch: int = 100,
        output_folder_path: str | None = None,
        *,
        scale: float | None = None,
        fixed_tables: dict[str, pd.DataFrame] | None = None,
        conditions: dict[str, dict] | None = None,
        return_data: bool = True,
    ) -> dict[str, pd.DataFrame]:
        """Sample a synthetic database.

        Two forms: ``sample(scale=2.0)`` (SDV 1.x; also ``sample(2.0)`` and ``sample()`` for
        scale 1), and SDV 2.0's ``sample(num_rows, main_table_name)``, which sizes the
        database so that ``main_table_name`` has about ``num_rows`` rows.

        Args:
            fixed_tables: table -> DataFrame kept exactly (rows, keys, values); the other
                tables are generated around them. A kept table's parents must be kept too.
            conditions: table -> {column: value} that every row of that table takes; the
                rest of the database follows from it (e.g. ``{'customer': {'country': 'FR'}}``).
            return_data: with ``output_folder_path``, ``False`` streams the tables to the
                folder without keeping them and returns table -> CSV path (see
                :meth:`sample_scale`).

        Returns:
            dict of DataFrames with the tables, columns and dtypes of the training data.
        """
        if fixed_tables or conditions:
            self._check_given(fixed_tables or {}, 'sample(fixed_tables=...)')
            for t, vals in (conditions or {}).items():
                if not isinstance(vals, dict):
                    raise SynthesizerInputError(
                        f"conditions['{t}'] must be a dict of column -> value, got {type(vals).__name__}.")
            self._pending = ({t: df.copy() for t, df in (fixed_tables or {}).items()}, conditions or {})
            try:
                return self.sample(num_rows, main_table_name, batch_size, max_tries_per_batch,
                                   output_folder_path, scale=scale, return_data=return_data)
            finally:
                self._pending = None
        if scale is not None or main_table_name is None:
            if scale is not None and num_rows is not None:
                raise SynthesizerInputError(
                    "Pass either 'scale' or 'num_rows' (with 'main_table_name'), not both."
                )
            return self.sample_scale(
                1.0 if scale is None and num_rows is None else (scale if scale is not None else num_rows),
                batch_size=batch_size, max_tries_per_batch=max_tries_per_batch,
                output_folder_path=output_folder_path, return_data=return_data,
            )
        self._check_output_folder(output_folder_path)
        return super().sample(num_rows, main_table_name, batch_size, max_tries_per_batch,
                              output_folder_path)

    def sample_scale(
        self,
        scale: float = 1.0,
        batch_size: int | None = None,
        max_tries_per_batch: int = 100,
        output_folder_path: str | None = None,
        *,
        return_data: bool = True,
    ) -> dict[str, pd.DataFrame]:
        """Sample the whole database at ``scale`` times the size of the training data.

        With ``output_folder_path``, each table is written to ``<table>.csv`` as soon as
        it is decoded (all files appear together at the end, or none on failure).

        Args:
            return_data: with ``output_folder_path``, ``False`` keeps no table in memory
                once written (only the primary keys children still need, until they are
                decoded) and returns table -> CSV path: the sample can then be far larger
                than the tables would take as DataFrames. The joint denoising itself needs
                about ``8 * hidden_dim`` bytes per row (1 KiB at the default width).
        """
        _check_scale(scale)
        self._check_output_folder(output_folder_path)
        if output_folder_path is None or not self._streamable():
            # Multi-table constraints transform the whole sampled database at once.
            data = super().sample_scale(float(scale), batch_size, max_tries_per_batch, output_folder_path)
            if output_folder_path is not None and not return_data:
                return {t: Path(output_folder_path) / f'{t}.csv' for t in data}
            return data
        self._validate_sample_input(
            num_rows=1, main_table_name=list(self.metadata.tables)[0], batch_size=batch_size,
            max_tries_per_batch=max_tries_per_batch, output_folder_path=output_folder_path,
        )
        with _CsvWriter(output_folder_path, keep=return_data) as writer:
            self.sample_stream(writer, scale, batch_size, max_tries_per_batch)
        return writer.kept if return_data else writer.paths

    def sample_stream(self, sink, scale: float = 1.0, batch_size: int | None = None,
                      max_tries_per_batch: int = 100) -> None:
        """Sample at ``scale`` and hand each table to ``sink(table, df)``, parents first.

        ``df`` holds the columns :meth:`sample` returns for the table. Each table is handed
        over as soon as it is decoded and not kept (only the primary keys its children still
        need), so the sample can be far larger than the tables would take as DataFrames;
        ``sink`` writes it somewhere (``sample_scale``'s CSV folder,
        :func:`grdm_sdv.database.sample_to_database`). With multi-table constraints or
        composite keys the whole database is sampled first, then handed over table by table.
        """
        _check_scale(scale)
        if not self._streamable():
            data = super().sample_scale(float(scale), batch_size, max_tries_per_batch)
            for table in self._schema.tables:
                sink(table, data[table])
            return
        self._validate_sample_input(
            num_rows=1, main_table_name=list(self.metadata.tables)[0], batch_size=batch_size,
            max_tries_per_batch=max_tries_per_batch, output_folder_path=None,
        )
        self._sink = lambda table, df: sink(table, self._output_columns(table, df))
        try:
            with self._set_temp_numpy_seed(), disable_single_table_logger():
                self._sample(scale=float(scale))
        finally:
            self._sink = None

    def _streamable(self) -> bool:
        """Whether tables can be written one at a time (not under multi-table constraints)."""
        return not (getattr(self, '_composite_keys', None) or getattr(self, 'constraints', None))

    def _output_columns(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        """The columns SDV returns for ``table`` (metadata order, original names)."""
        out = df[self.get_metadata().get_column_names(table)]
        original = getattr(self, '_original_table_columns', {}).get(table)
        if isinstance(original, dict):
            out = out.rename(columns=original)
        elif original is not None:
            out = out.set_axis(original, axis=1)
        return out

    def _check_output_folder(self, output_folder_path) -> None:
        """Refuse to overwrite: SDV's own check raises a bare ``AssertionError``."""
        if not self._fitted or not isinstance(output_folder_path, (str, os.PathLike)) \
                or not output_folder_path:
            return  # the base raises the not-fitted and bad-path errors
        folder = Path(output_folder_path)
        existing = [str(folder / f'{t}.csv') for t in self.get_metadata().tables
                    if (folder / f'{t}.csv').exists()]
        if existing:
            raise SynthesizerInputError(
                f'Sampling would overwrite existing file(s) {existing}. Choose another '
                "'output_folder_path', or move or delete those files first."
            )

    def _save_sampled_data(self, sampled_data: dict[str, pd.DataFrame], output_folder_path) -> None:
        """Write ``<table>.csv`` per table, all or nothing (see :class:`_CsvWriter`)."""
        with _CsvWriter(output_folder_path, keep=False) as writer:
            for table, df in sampled_data.items():
                writer(table, df)

    # --- introspection -----------------------------------------------------------------------
    def get_loss_values(self, table_name: str | None = None) -> pd.DataFrame:
        """Training loss per step: total, numerical (MSE) and categorical (CE) parts.

        Args:
            table_name: if given, only that table's loss (``Step``, ``Loss``).
        """
        if not self._fitted:
            raise SynthesizerInputError('Loss values are not available yet. Please fit your synthesizer first.')
        df = pd.DataFrame(self._loss_history)
        if table_name is None:
            return df[['Step', 'Loss', 'Numerical Loss', 'Categorical Loss']].copy()
        self._validate_table_name(table_name)
        col = f'Loss {RelationalGraph.node_types(self._schema)[table_name]}'
        if col not in df:
            raise SynthesizerInputError(f"Table '{table_name}' has no attributes to model, so it has no loss.")
        return df[['Step', col]].rename(columns={col: 'Loss'})

    def get_info(self) -> dict:
        """SDV's info plus the GRDM version, device and fit time."""
        info = super().get_info()
        info['grdm_sdv_version'] = self._grdm_version
        if self._fitted:
            info['fit_device'] = getattr(self, '_fit_device', None)
            info['fit_seconds'] = self._fit_seconds
            info['fit_seed'] = getattr(self, '_fit_seed', None)
            info['num_parameters'] = sum(p.numel() for p in self._model.parameters())
        return info

    # --- persistence -------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop('_pending', None)
        if state.get('_model') is not None:
            state['_model'] = state['_model'].cpu()
        return state

    def __setstate__(self, state: dict) -> None:
        # Checked here, not only in load(), so sdv.utils.load_synthesizer refuses it too.
        saved = state.get('_grdm_version')
        if not isinstance(saved, str) or _compatible(saved) != _compatible(__version__):
            raise SynthesizerInputError(
                f'This synthesizer was saved by grdm-sdv {saved}, which this version '
                f'({__version__}) cannot read. Refit it with this version, or install '
                f'grdm-sdv {saved} to use it.'
            )
        # 0.2.0 files predate guidance: they were fitted without context dropout.
        state.setdefault('context_dropout', 0.0)
        state.setdefault('guidance_scale', 1.0)
        self.__dict__.update(state)

    def save(self, filepath: str) -> None:
        """Save with cloudpickle, all or nothing (a failed save leaves no partial file)."""
        path = Path(filepath)
        tmp = path.with_name(f'.{path.name}.{os.getpid()}.partial')
        try:
            super().save(str(tmp))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, filepath: str, device: str | None = None) -> 'GRDMSynthesizer':
        """Load a synthesizer written by :meth:`save`.

        Args:
            filepath: the file.
            device: optionally override the device used for sampling (e.g. ``'cpu'``).
        """
        try:
            with open(filepath, 'rb') as fh:
                synth = _Unpickler(fh).load()
        except FileNotFoundError:
            raise
        except SynthesizerInputError as err:  # from __setstate__: a wrong version
            raise SynthesizerInputError(f"'{filepath}': {err}") from err
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError,
                TypeError, IndexError) as err:
            raise SynthesizerInputError(
                f"Could not load a synthesizer from '{filepath}': the file is corrupt or was "
                f'not written by GRDMSynthesizer.save ({type(err).__name__}: {err}).'
            ) from err
        if not isinstance(synth, cls):
            raise SynthesizerInputError(
                f"'{filepath}' holds a {type(synth).__name__}, not a {cls.__name__}."
            )
        check_synthesizer_version(synth)  # SDV's: a file from a newer SDV is refused
        check_sdv_versions_and_warn(synth)
        if device is not None:
            synth.device = device
        if resolve_device(synth.device).type == 'cuda' and not torch.cuda.is_available():
            warnings.warn('The synthesizer was set to use CUDA, which is not available here: '
                          'sampling on CPU.', stacklevel=2)
            synth.device = 'cpu'
        return synth


# Modules of 0.2.0/0.2.1 whose classes moved in the 0.2.2 layout: old module -> new homes.
_MOVED_MODULES = {
    'grdm_sdv.denoiser': ('grdm_sdv.nn.denoiser',),
    'grdm_sdv.layers': ('grdm_sdv.nn.hetero', 'grdm_sdv.nn.layers'),
    'grdm_sdv.encoding': ('grdm_sdv.data.encoding',),
    'grdm_sdv.schema': ('grdm_sdv.data.schema',),
    'grdm_sdv.graph': ('grdm_sdv.data.graph',),
    'grdm_sdv.summaries': ('grdm_sdv.data.summaries',),
}


class _Unpickler(pickle.Unpickler):
    """cloudpickle's reader that also finds classes saved under their 0.2.0/0.2.1 modules."""

    def find_class(self, module: str, name: str):
        for new in _MOVED_MODULES.get(module, ()):
            found = getattr(importlib.import_module(new), name, None)
            if found is not None:
                return found
        return super().find_class(module, name)


def _links(schema: RelationalSchema, data: dict[str, pd.DataFrame],
           tables: set[str] | None = None) -> dict[str, np.ndarray]:
    """Parent row index of every child row per FK (``-1`` for nulls).

    Works on processed data (the parent key is the index) and on raw tables (the key is a
    column). ``tables`` limits it to the FKs held by those tables.
    """
    links = {}
    for fk in schema.foreign_keys:
        if tables is not None and fk.child not in tables:
            continue
        if fk.parent not in data:
            raise SynthesizerInputError(
                f"Table '{fk.child}' is given but its parent '{fk.parent}' is not: give the "
                f'parent too (its rows are what {fk.child}.{fk.column} points at).'
            )
        parent = data[fk.parent]
        index = parent.index if parent.index.name == fk.parent_key or fk.parent_key not in parent \
            else pd.Index(parent[fk.parent_key])
        child = data[fk.child]
        # A primary key that is also the foreign key (1-to-1) is the index of processed data.
        values = child[fk.column] if fk.column in child or child.index.name != fk.column \
            else child.index.to_series(index=range(len(child)))
        idx = pd.Index(index).get_indexer(values)
        unknown = (idx < 0) & values.notna().to_numpy()
        if unknown.any():
            bad = values[unknown].unique()[:5].tolist()
            raise SynthesizerInputError(
                f"Table '{fk.child}' column '{fk.column}' has {int(unknown.sum())} value(s) with "
                f"no matching '{fk.parent_key}' in table '{fk.parent}' (e.g. {bad}). "
                'Drop or fix those rows, e.g. with sdv.utils.drop_unknown_references.'
            )
        links[fk.name] = idx.astype(np.int64)
    return links


def _table_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """Tables the metadata does not know (SDV: a bare KeyError) and empty tables."""
    errors = []
    unknown = sorted(set(data) - set(meta.tables), key=str)
    if unknown:
        errors.append(f'The data has table(s) {unknown} that the metadata does not describe. '
                      'Remove them from the data, or add them to the metadata '
                      '(metadata.add_table).')
    empty = sorted(t for t, df in data.items() if t in meta.tables and df.empty)
    if empty:
        errors.append(f'Table(s) {empty} have no rows: every table needs at least one row '
                      'to be modelled. Add rows, or remove the table from the metadata '
                      '(metadata.remove_table).')
    return errors


def _relationships(meta, data: dict[str, pd.DataFrame]):
    """``(child, fk, parent, pk)`` of every relationship whose tables and columns are present."""
    for rel in meta.relationships:
        child, parent = rel['child_table_name'], rel['parent_table_name']
        fk, pk = rel['child_foreign_key'], rel['parent_primary_key']
        if child in data and parent in data and fk in data[child] and pk in data[parent]:
            yield child, fk, parent, pk  # SDV names missing tables and columns


def _key_type_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """FKs that cannot match their parent key (SDV: a pandas merge ValueError)."""
    errors = []
    for child, fk, parent, pk in _relationships(meta, data):
        fk_dtype, pk_dtype = data[child][fk].dtype, data[parent][pk].dtype
        pk_num = pd.api.types.is_numeric_dtype(pk_dtype)
        if pd.api.types.is_numeric_dtype(fk_dtype) != pk_num:
            # Int64 (not int64) so that null foreign keys stay possible.
            target = ('Int64' if pd.api.types.is_integer_dtype(pk_dtype) else 'float64') \
                if pk_num else 'str'
            errors.append(
                f"Table '{child}' column '{fk}' (dtype {fk_dtype}) cannot match its parent key "
                f"'{parent}'.'{pk}' (dtype {pk_dtype}): give both the same type, e.g. "
                f"data['{child}']['{fk}'] = data['{child}']['{fk}'].astype('{target}')."
            )
    return errors


def _column_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """Unhashable category values (a pandas TypeError in fit)."""
    errors = []
    for table, df in data.items():
        columns = meta.tables[table].columns if table in meta.tables else {}
        for col in df.columns:
            spec = columns.get(col, {})
            if spec.get('sdtype') in ('categorical', 'boolean', 'id') and df[col].dtype == object:
                try:
                    pd.unique(df[col])
                except TypeError:
                    kind = next((type(v).__name__ for v in df[col]
                                 if not isinstance(v, Hashable)), 'unhashable')
                    errors.append(
                        f"Table '{table}' column '{col}' holds unhashable values ({kind}), which "
                        'cannot be categories. Convert them, e.g. to strings with '
                        f"data['{table}']['{col}'].astype(str)."
                    )
    return errors


def _unknown_reference_errors(meta, data: dict[str, pd.DataFrame]) -> list[str]:
    """FK values with no parent row, naming the child table, the parent and the count."""
    errors = []
    for child, fk, parent, pk in _relationships(meta, data):
        values = data[child][fk]
        unknown = values.notna() & ~values.isin(data[parent][pk])
        if unknown.any():
            examples = values[unknown].drop_duplicates().head(5).tolist()
            errors.append(
                f"Table '{child}' column '{fk}' has {int(unknown.sum())} value(s) with no "
                f"matching '{pk}' in table '{parent}' (e.g. {examples}). Add the missing "
                f"'{parent}' rows, or drop these with "
                'sdv.utils.drop_unknown_references(data, metadata).'
            )
    return errors


class _CsvWriter:
    """Writes tables to ``<folder>/<table>.csv`` one at a time, all or nothing.

    Each table goes to a hidden temporary file first; only when the ``with`` block ends
    without error are they renamed into place, so a failure (full disk, permissions, an
    error while sampling) leaves no partial files.
    """

    def __init__(self, folder, keep: bool) -> None:
        self.folder, self.keep = Path(folder), keep
        self.temporary: dict[str, Path] = {}
        self.paths: dict[str, Path] = {}
        self.kept: dict[str, pd.DataFrame] = {}

    def __call__(self, table: str, df: pd.DataFrame) -> None:
        tmp = self.folder / f'.{table}.csv.{os.getpid()}.partial'
        self.temporary[table] = tmp
        df.to_csv(tmp, index=False)
        self.paths[table] = self.folder / f'{table}.csv'
        if self.keep:
            self.kept[table] = df

    def __enter__(self) -> '_CsvWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        done: list[Path] = []
        try:
            if exc_type is None:
                for table, tmp in self.temporary.items():
                    os.replace(tmp, self.paths[table])
                    done.append(self.paths[table])
                return
        except BaseException:
            self._remove(done)
            raise
        self._remove(done)  # the block failed; its exception propagates

    def _remove(self, renamed: list[Path]) -> None:
        for path in [*self.temporary.values(), *renamed]:
            path.unlink(missing_ok=True)


def _check_scale(scale) -> None:
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.number)) \
            or not np.isfinite(scale) or scale <= 0:
        raise SynthesizerInputError(
            f"Invalid value for 'scale' ({scale!r}): pass a number greater than 0, "
            'e.g. scale=2.0 for a database twice the size of the training data.'
        )


def _point_estimate(frames: list[pd.DataFrame], columns: dict) -> pd.DataFrame:
    """Cell by cell over several imputed copies of one table: the mean of numerical and
    datetime columns, the most frequent value of every other column (ties: the first draw)."""
    out = frames[0].copy()
    for c in out.columns:
        sdtype = columns.get(c, {}).get('sdtype')
        values = [f[c] for f in frames]
        if sdtype in ('numerical', 'datetime'):
            if pd.api.types.is_datetime64_any_dtype(values[0]):
                stamps = np.stack([v.to_numpy(dtype='datetime64[ns]').astype('int64') for v in values], 1)
                mean = pd.to_datetime(stamps.mean(1).round().astype('int64'))
                out[c] = pd.Series(mean, index=out.index).where(values[0].notna())
                continue
            if not pd.api.types.is_numeric_dtype(values[0]):
                continue  # strings (e.g. a formatted number) are left as drawn
            numbers = np.stack([pd.to_numeric(v).to_numpy(dtype=float, na_value=np.nan) for v in values], 1)
            seen = (~np.isnan(numbers)).sum(1)
            mean = np.where(seen > 0, np.nansum(numbers, 1) / np.maximum(seen, 1), np.nan)
            if pd.api.types.is_integer_dtype(values[0]):
                mean = np.round(mean)
            mean = pd.Series(mean, index=out.index)
            out[c] = mean if mean.isna().any() else mean.astype(values[0].dtype)
        else:
            codes, _ = pd.factorize(pd.concat(values, ignore_index=True), use_na_sentinel=False)
            codes = codes.reshape(len(values), -1).T  # (rows, draws)
            votes = (codes[:, :, None] == codes[:, None, :]).sum(1)
            pick = votes.argmax(1)
            stacked = np.stack([v.to_numpy(dtype=object) for v in values], 1)
            out[c] = pd.Series(stacked[np.arange(len(stacked)), pick], index=out.index).astype(values[0].dtype)
    return out


def _compatible(version: str) -> list[str]:
    """The part of a version that must match to read a saved model (``0.x``: major.minor)."""
    parts = version.split('.')
    return parts[:2] if parts[0] == '0' else parts[:1]


def _check_params(**params) -> None:
    bad = []
    for name, value in params.items():
        if name == 'mixed_precision':
            if not isinstance(value, (bool, np.bool_, type(None))):
                bad.append(f"'{name}'={value!r} (True, False or None)")
        elif name == 'message_direction':
            if value not in ('both', 'down'):
                bad.append(f"'{name}'={value!r} ('both' or 'down')")
        elif name == 'sampling_variance':
            if value not in ('posterior', 'beta'):
                bad.append(f"'{name}'={value!r} ('posterior' or 'beta')")
        elif name == 'guidance_scale':
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                bad.append(f"'{name}'={value!r} (a number >= 0; 1: no guidance)")
        elif name in ('independent_times', 'parent_lead', 'context_dropout'):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                bad.append(f"'{name}'={value!r} (a number from 0 to 1)")
        elif name in ('torch_compile', 'child_summaries'):
            if not isinstance(value, (bool, np.bool_)):
                bad.append(f"'{name}'={value!r} (True or False)")
        elif name == 'learning_rate':
            if not isinstance(value, (int, float)) or not value > 0:
                bad.append(f"'{name}'={value!r} (a number > 0)")
        elif isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or value < (0 if name in ('n_hops', 'loss_hops') else 1):
            low = 0 if name in ('n_hops', 'loss_hops') else 1
            bad.append(f"'{name}'={value!r} (an integer >= {low})")
    if params.get('num_timesteps', 2) < 2:
        bad.append(f"'num_timesteps'={params['num_timesteps']!r} (at least 2)")
    if bad:
        raise SynthesizerInputError('Invalid GRDMSynthesizer parameter(s): ' + ', '.join(bad) + '.')
