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

The sampling forms (``sample``, ``sample_scale``, ``sample_stream``) and the conditional
forms (``sample_from_structure``, ``impute``) are mixins in :mod:`grdm_sdv._sdv`, with the
checks, keys <-> links, decoding, CSV output and saved-file reading they use.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sdv.errors import InvalidDataError, SynthesizerInputError
from sdv.multi_table.base import BaseMultiTableSynthesizer
from sdv.single_table.base import BaseSingleTableSynthesizer
from tqdm.auto import tqdm

from . import __version__
from ._sdv import decoding, keys
from ._sdv.conditional import Conditioning
from ._sdv.params import check_column_guidance, check_guidance, check_params
from ._sdv.persistence import check_saved_version, load_file
from ._sdv.sampling import SamplingForms
from ._sdv.sharded import ShardedSampling
from ._sdv.validation import check_tables, unknown_reference_errors
from .data.child_places import ChildPlaces, fit_child_places
from .data.encoding import encode_tables, known_masks
from .data.graph import RelationalGraph
from .data.marginals import class_shares, match_marginals
from .data.ranks import RankColumn, apply_ranks, find_rank_columns
from .data.follows import FollowerColumn, apply_followers, find_followers
from .data.templates import SiblingTemplate, apply_templates, find_sibling_templates
from .data.schema import RelationalSchema
from .data.summaries import fit_summaries, with_summaries
from .data.tensors import KnownCells, TableTensors
from .diffusion import MixedDiffusion
from .guidance import calibrated_scales, sibling_pairs
from .nn.denoiser import HeteroDenoiser
from .pipeline import generate
from .set_guidance import SetCritic, SetDiscriminator, SetGuide, fit_discriminator
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


class GRDMSynthesizer(SamplingForms, ShardedSampling, Conditioning, BaseMultiTableSynthesizer):
    """Graph-conditional diffusion synthesizer for relational databases (GRDM).

    Structure first (a degree-preserving random graph of rows and foreign keys), then all
    attributes of all tables denoised jointly by a heterogeneous GNN. No limit on the number
    of tables or the depth of the schema.

    Args:
        metadata: ``sdv.metadata.Metadata`` of the database.
        locales: Faker locales for PII columns. (default: ``['en_US']``)
        steps: training steps. (default: ``2000``, about 8 min on F1 on 2 CPU cores; 1000,
            the default until 0.2.13, fits in half the time and scores a little lower on
            every database: ``docs/fidelity.md``. With ``loss_hops=1`` a step costs about
            twice a seeds-only step and teaches more than two)
        batch_size: seed rows per training step (each brings its K-hop subgraph).
            (default: ``512``)
        n_hops: K, message-passing layers of the denoiser = hops each row sees per
            denoising step. Each added hop multiplies the training step's cost (F1:
            ``n_hops=3`` fits in 3.6x the time, ``docs/fidelity.md``). (default: ``2``)
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
            start). A table's level is as late as its children allow (one above its
            nearest child's, ``RelationalSchema.levels(latest=True)``), so a parent of deep
            tables only is denoised next to its children's other parents. Needs a model
            fitted with ``independent_times > 0``. Measured in ``docs/fidelity.md``.
            (default: ``0.5``)
        sampling_variance: noise of each reverse step of the numbers: ``'beta'`` (DDPM's
            beta_t, as the GRDM reference samples: wider, it spreads columns the model
            draws too narrow, but the extra noise of the last steps, which the model has
            no steps left to undo, moves each cell apart from the rest of its row),
            ``'posterior'`` (beta~_t, smaller) or ``'auto'``: ``'posterior'`` where the
            numbers are then drawn from their training distributions (a free sample with
            ``match_marginals``, which sets their spread), ``'beta'`` elsewhere
            (conditions, imputation, ``sample_sharded``). Measured in
            ``docs/fidelity.md``. (default: ``'auto'``)
        loss_hops: the training loss covers the rows within this many hops of each seed
            row, not only the seeds: more signal per step from the subgraphs already
            sampled (rows farther out see a neighbourhood cut at the subgraph's edge).
            (default: ``1``)
        child_summaries: give every parent table extra generated columns, the mean of each
            numerical column over its children (``grdm_sdv.data.summaries``; listed by
            ``get_info()['child_summaries']``), so siblings can share an effect no parent
            column shows; dropped from the output. Measured (0.2.13, ``docs/fidelity.md``)
            to help exactly that (F1's per-race laps spread 0.50x -> 0.73x real, MovieLens's
            per-parent sibling statistics) at no cost to strong pairs or detection on F1 and
            MovieLens, a little on the demo, and F1's per-race points spread 0.93x -> 0.83x.
            A table kept with ``fixed_tables`` is then conditioned on RePaint-style, not
            held clean. (default: ``False``)
        context_dropout: share of training subgraphs in which every message is dropped, so
            the model also learns each table without its neighbours, which
            ``guidance_scale`` needs. (default: ``0.1``)
        guidance_scale: classifier-free guidance on the neighbourhood at sampling: every
            step moves ``guidance_scale`` times as far from the message-free prediction
            as the model's own (``1``: no guidance; above 1 strengthens what the rows take
            from their neighbours, at the cost of a second pass per step). Needs a model
            fitted with ``context_dropout > 0``. Measured in ``docs/fidelity.md``: 1.15
            brings the planted dependencies to within 0.05 of real. (default: ``1.15``)
        column_guidance: a guidance scale per column, ``{'table.column': scale}``, in place
            of ``guidance_scale`` for those columns (each column's noise or logits is
            guided on its own, so this costs nothing more). For a column that follows its
            neighbours too strongly (or too weakly) while others in its table do not: on
            the database ``grdm-sdv demo`` builds, ``{'order_item.quantity': 1.0,
            'order_item.discount': 1.3}`` brought both planted dependencies of
            ``order_item`` from 0.058 / -0.034 off real to 0.022 / -0.004
            (``docs/fidelity.md``). Read when sampling; over the calibrated scales.
            (default: ``None``)
        calibrate_guidance: after training, give each column with strong cross-table pairs
            (or whose children's means spread over their parents unlike the real ones) its
            own guidance scale, calibrated on the training data (``grdm_sdv.guidance``:
            three extra samples of the training size; listed by
            ``get_info()['calibrated_guidance']``); ``guidance_scale`` stays the scale of
            the other columns. Done by ``fit`` (``fit_processed_data`` has no tables to
            score against and leaves every column at ``guidance_scale``). Measured in
            ``docs/fidelity.md``: the planted bench's worst planted gap 0.060 -> 0.032.
            Read when sampling. (default: ``True``)
        rank_columns: keep the *rank columns* numbered when sampling: numerical child
            columns that number each parent's children ``1..n`` (positions, line numbers; in
            at least 90% of the parents with 2 or more children), found by the fit and
            listed by ``get_info()['rank_columns']``. Each parent's generated values are
            replaced by their ranks (the model's order kept). Read when sampling, so it can
            be switched on a fitted synthesizer. Measured in ``docs/fidelity.md``.
            (default: ``True``)
        match_marginals: draw every generated numerical column from its own training
            distribution, in the order the model generated: the ``i``-th smallest value
            becomes the training distribution's quantile at ``(i + u) / n`` (``u`` uniform;
            for a column of fewer than 1,000 training values, at those values' own
            positions, so a small table keeps its spread), so each column's shape and spread
            are the real ones and what the model learned across rows and tables (every
            ordering) is kept. Each table is matched at the step its own chain ends, so its
            children, still being denoised, follow its final values. Applied where a whole table is
            generated with nothing known in advance (``sample``, ``sample_from_structure``);
            never with conditions, fixed tables or imputation, where a column's
            distribution is meant to move, nor in ``sample_sharded``, whose shards hold a
            few rows of a small table each (a region's one row drawn from the whole
            distribution would leave its customers behind). Categorical columns (and the
            "is null" share of numerical ones) are matched as they are generated: each
            step's revealed tokens are drawn from the model's probabilities tilted by one
            weight per category, so that the column ends with its training shares while the
            model still chooses which rows take which category. ``'numerical'``: numbers
            only (the behaviour of 0.2.4; also what files saved before 0.2.5 do, having no
            category shares stored). Read when sampling. Measured in ``docs/fidelity.md``.
            (default: ``True``)
        sibling_templates: keep the *template columns* composed as in real data when
            sampling: numerical child columns with at most 24 distinct values whose values
            over one parent's children (their multiset) are, for at least half of the
            parents, the most common multiset among parents with as many children, and at
            least twice as often as with the values shuffled (MovieLens: five actors per
            movie with ``cast_num = 1``; F1: each race's points), found by the fit and
            listed by ``get_info()['sibling_templates']``. Each generated parent takes the
            real multiset of its size nearest to its generated one (only multisets that
            3 or more real parents share), in the generated order. Read when sampling.
            Measured in ``docs/fidelity.md``. (default: ``True``)
        follower_columns: keep the *follower columns* in the order of their rank column
            when sampling: numerical columns of a table with a rank column whose values,
            over each parent's children, never rise (or never fall) along the ranks for at
            least 90% of the real parents (F1: a race's points along its finishing
            positions, its standings points along the standings positions), found by the
            fit and listed by ``get_info()['follower_columns']``. Each generated parent's
            values of such a column, as generated (or composed, a template column), are
            put in the order of its ranks. Read when sampling. Measured in
            ``docs/fidelity.md``. (default: ``True``)
        link_matching: how the structure step gives the rows of a table with several
            foreign keys their other parents. ``'axis'``: along each foreign key's
            *co-parent axis*, found by the fit (a correspondence analysis of which parents
            real rows pair; listed by ``get_info()['co_parent_axes']``), so an F1 driver's
            results fall in the races and teams of one era, with the real correlation
            between the parents' places on the axis, and no (driver, race) pair repeats
            more often than in the real data; every parent keeps its number of children
            either way. ``'places'``: the same, and where both parents also have child
            places along the two keys (``child_places``), paired again by them within
            blocks of the axis, with the real correlation between the two parents' places
            (an F1 driver's results go to teams of his era *and* of his strength; files
            saved before 0.2.13 have no such places and pair as ``'axis'``). ``'random'``:
            at random (the behaviour of 0.2.6; also what files saved before 0.2.7 do); the
            rows still get their places on the axes as model inputs (``axis_positions``).
            With ``'places'`` or ``'axis'``, where a table's rows are a parent's seats at
            events held in runs by a third parent (F1's results: a team's cars in races,
            driven by drivers in runs), its two other foreign keys are matched together, in
            runs and entries (:mod:`grdm_sdv.seats`; ``get_info()['seated_tables']``; files
            saved before 0.2.22 have none). Read when sampling. Measured in
            ``docs/fidelity.md``. (default: ``'places'``)
        axis_positions: give the model each parent row's place on its co-parent axes as a
            structural input, as it is given its child counts (a generated row takes the
            place of the real row whose child counts it copied), so that e.g. an F1 race's
            year can follow the era of the drivers it is linked to; rows of tables kept with
            ``fixed_tables`` likewise take the place of the real row whose child counts
            (and so links) they were given. Decided at fit; tables on no axis are
            unaffected. In ``impute`` and ``sample_from_structure`` (keys and links given,
            not sampled) the axes are refitted on the given links: the training data given
            back gets its own places exactly; other data gets the refitted axis turned to
            follow child counts as the fitted one does, or the middle of the axis (0) where
            that cannot tell its sign. Measured in ``docs/fidelity.md``. (default: ``True``)
        child_places: give the model each top-level parent row's place among its children
            as a structural input (``grdm_sdv.data.child_places``): per foreign key into a
            leaf table, the first principal component of the per-parent means of the
            children's numbers, shrunk toward the middle for a parent with few children (an
            F1 driver's skill, shared by all his results, standings and qualifying rows).
            A generated row takes the place of the real row whose child counts it copied, so
            its children agree with one another as real siblings do;
            with keys and links given rather than sampled (``impute``,
            ``sample_from_structure``) a row takes the place its children's known values
            make (``impute``), else that of a real row with the nearest child counts
            (until 0.2.19: the middle, 0). Decided at fit;
            listed by ``get_info()['child_places']``. Measured in ``docs/fidelity.md``.
            (default: ``True``)
        nested_places: where a table has one foreign key, into a top-level table, and its
            rows have places on co-parent axes (F1's ``race`` under ``circuit``: a race's
            place is its era), deal its generated rows among their parents so that each
            parent's children sit around the place, and with the spread, of the children of
            the real row the parent copied its child count from (a generated circuit hosts
            races of one era, as real circuits do, instead of races of every era). Every
            parent keeps its number of children and every row its source's child counts and
            places. Tables found at fit are listed by ``get_info()['nested_tables']``. Read
            when sampling; a no-op where no table qualifies (files saved before 0.2.19 have
            none). Measured in ``docs/fidelity.md``. (default: ``True``)
        set_guidance: scale of the set critics' guidance (:mod:`grdm_sdv.set_guidance`); 0
            switches it off. With a scale above 0, ``fit`` also draws 3 free samples and fits,
            per parent table, a small discriminator that tells the training rows from
            generated ones by their sets of children (each child table's count and its
            numbers' per-parent means and spreads); parents it tells apart at 0.75 or more
            on held-out rows are kept (``get_info()['set_critics']``; every parent's
            accuracy in ``get_info()['set_critic_accuracy']``), and in the last part
            of each free sample's chain their children's predictions are pushed along the
            gradient of its log-probability of "real", so that siblings add up as real
            ones do. Read when sampling (0 there skips it; above 0 it needs critics from a
            fit with it on). Applied to ``sample`` and ``sample_from_structure``; not to
            conditional samples, imputation or sharded samples. A fit made without it takes
            critics later with :meth:`fit_set_critics`. The documented larger configuration
            is 3: on the whole protocol (``docs/benchmarks.md``) F1's ``race`` is told apart at
            0.862 instead of 0.890, the other scores unchanged, for 5-6% more fit time; where
            no critic is kept (MovieLens) it costs the critics' fit only. (default: ``0``)
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
    # Set guidance: free samples its critics learn from, and the held-out accuracy from
    # which a parent table's critic is kept (one that cannot tell the sets apart gives no
    # direction to push them in).
    _SET_DRAWS = 3
    _SET_MIN_ACCURACY = 0.75

    def __init__(
        self,
        metadata,
        locales: list[str] | str | None = ['en_US'],  # noqa: B006 - SDV's own default
        steps: int = 2000,
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
        sampling_variance: str = 'auto',
        loss_hops: int = 1,
        child_summaries: bool = False,
        context_dropout: float = 0.1,
        guidance_scale: float = 1.15,
        column_guidance: dict[str, float] | None = None,
        calibrate_guidance: bool = True,
        rank_columns: bool = True,
        match_marginals: bool | str = True,
        sibling_templates: bool = True,
        follower_columns: bool = True,
        link_matching: str = 'places',
        axis_positions: bool = True,
        child_places: bool = True,
        nested_places: bool = True,
        set_guidance: float = 0.0,
    ) -> None:
        check_params(steps=steps, batch_size=batch_size, n_hops=n_hops, hidden_dim=hidden_dim,
                      num_timesteps=num_timesteps, sampling_steps=sampling_steps,
                      fanout=fanout, learning_rate=learning_rate, mixed_precision=mixed_precision,
                      torch_compile=torch_compile, message_direction=message_direction,
                      independent_times=independent_times, parent_lead=parent_lead,
                      sampling_variance=sampling_variance, loss_hops=loss_hops,
                      child_summaries=child_summaries, context_dropout=context_dropout,
                      guidance_scale=guidance_scale, calibrate_guidance=calibrate_guidance,
                      rank_columns=rank_columns,
                      match_marginals=match_marginals, sibling_templates=sibling_templates,
                      follower_columns=follower_columns, link_matching=link_matching,
                      axis_positions=axis_positions, child_places=child_places,
                      nested_places=nested_places, set_guidance=set_guidance)
        check_guidance(guidance_scale, context_dropout)
        super().__init__(metadata, locales=locales)
        check_column_guidance(column_guidance, self.metadata, context_dropout)
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
        self.column_guidance = column_guidance
        self.calibrate_guidance = calibrate_guidance
        self._calibrated_guidance: dict[tuple[str, str], float] = {}
        self.rank_columns = rank_columns
        self.match_marginals = match_marginals
        self.sibling_templates = sibling_templates
        self.follower_columns = follower_columns
        self.link_matching = link_matching
        self.axis_positions = axis_positions
        self.child_places = child_places
        self.nested_places = nested_places
        self.set_guidance = set_guidance
        self._set_critics: list[SetCritic] = []
        self._set_accuracy: dict[str, float] = {}  # every parent's critic, kept or not
        self._position_widths: dict[str, int] = {}
        self._child_places: ChildPlaces | None = None
        self._rank_columns: list[RankColumn] = []
        self._sibling_templates: list[SiblingTemplate] = []
        self._follower_columns: list[FollowerColumn] = []
        self._class_shares: dict[str, list[torch.Tensor]] = {}
        self._table_sizes: dict[str, int] = {}
        self._model: HeteroDenoiser | None = None
        self._loss_history: list[dict] = []
        self._fit_seconds: float | None = None
        self._guidable = False
        self._summaries = None
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
        check_tables(self._original_metadata, data)
        super().fit(data)
        if self.calibrate_guidance and self._guidable:
            start = time.perf_counter()
            self._calibrated_guidance = self._calibrate_guidance(data)
            self.reset_sampling()  # its samples drew keys: sampling starts as after any fit
            self._fit_seconds += time.perf_counter() - start
        if self.set_guidance:
            self._add_set_critics(data)  # data checked above

    def fit_set_critics(self, data: dict[str, pd.DataFrame]) -> dict[str, float]:
        """Fit the set critics (``set_guidance``) of a fitted synthesizer on its training data.

        ``fit`` calls this when ``set_guidance`` is above 0; call it to add set guidance to a
        fit made without it (a loaded file, say) instead of fitting again: critics fitted
        here are the ones ``fit`` would have fitted. Replaces any critics already fitted,
        draws from its own seeds and resets the sampling state afterwards; its seconds are
        added to ``get_info()['fit_seconds']``.

        Args:
            data: the tables the synthesizer was fitted on.

        Returns:
            Each parent table's held-out accuracy (``get_info()['set_critic_accuracy']``);
            critics at 0.75 or more are kept and guide samples while ``set_guidance`` is
            above 0.
        """
        if not self._fitted:
            raise SynthesizerInputError('fit_set_critics needs a fitted synthesizer: call fit first.')
        check_tables(self._original_metadata, data)
        self._add_set_critics(data)
        return dict(self._set_accuracy)

    def _add_set_critics(self, data: dict[str, pd.DataFrame]) -> None:
        """:meth:`fit_set_critics` on checked ``data``: the critics, the sampling state reset,
        their seconds added to the fit's."""
        start = time.perf_counter()
        self._set_critics = self._fit_set_critics(data)
        self.reset_sampling()
        self._fit_seconds += time.perf_counter() - start

    def validate(self, data: dict[str, pd.DataFrame]) -> None:
        """Check ``data`` against the metadata; raise one ``InvalidDataError`` listing all problems."""
        check_tables(self._original_metadata, data)
        try:
            super().validate(data)
        except InvalidDataError as err:
            # SDV's unknown-reference message names the FK column but not its table: say
            # which table, which parent, how many rows.
            sdv_refs = [e for e in err.errors if str(e).startswith('Relationships:')]
            ours = unknown_reference_errors(self._original_metadata, data)
            if not sdv_refs or not ours:
                raise
            others = [e for e in err.errors if e not in sdv_refs]
            raise InvalidDataError(others + ours) from None

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
        links = keys.links(schema, augmented_data)
        n_rows = {t: len(augmented_data[t]) for t in schema.tables}

        structure = StructureModel(schema).fit(n_rows, links)
        nullable = {fk.name: bool((links[fk.name] < 0).any()) for fk in schema.foreign_keys}
        encoders, tensors = encode_tables(schema, augmented_data, self._categorical_columns)
        # How child counts follow a row's values: for parent rows kept at sampling.
        structure.fit_expected({t: _feature_maker(encoders[t], tensors[node[t]])
                                for t in schema.tables if schema.children_of(t)})
        # And how a category goes with child counts: for rows sampled under conditions.
        structure.fit_categories({t: {c.name: tensors[node[t]].x_cat.numpy()[:, j]
                                      for j, c in enumerate(encoders[t].cat_columns)}
                                  for t in schema.tables if schema.children_of(t)})
        summaries = None
        if self.child_summaries:
            summaries = fit_summaries(schema, {t: tensors[node[t]].x_num.numpy() for t in schema.tables}, links)
            tensors = with_summaries(summaries, tensors, node, schema, links)
        widths = structure.position_widths() if self.axis_positions else {}
        ranks = find_rank_columns(schema, augmented_data, links, self._numerical_columns)
        templates = find_sibling_templates(schema, augmented_data, links, self._numerical_columns,
                                           exclude={(r.table, r.column) for r in ranks})
        followers = find_followers(schema, augmented_data, links, self._numerical_columns, ranks,
                                   grouped={(r.table, r.column): r.fk for r in templates})
        places = None
        if self.child_places:
            # Columns the sampler sets over one parent's children: ranks and followers along
            # their key; template columns along every key of their table, since a place
            # along another key would pull apart the values one composition has to hold
            # (MovieLens: actors' places on `cast_num` left the movies' compositions too
            # alike, `movie` detected at 0.60 against 0.53).
            set_by_sampler = {(r.fk, encoders[r.table].num_index(r.column)) for r in (*ranks, *followers)}
            set_by_sampler |= {(fk.name, encoders[r.table].num_index(r.column))
                               for r in templates for fk in schema.parents_of(r.table)}
            places = fit_child_places(
                schema, {t: tensors[node[t]].x_num.numpy()[:, :encoders[t].d_num] for t in schema.tables},
                {t: encoders[t].observed(tensors[node[t]].x_cat).numpy() for t in schema.tables},
                links, grouped=set_by_sampler)
            structure.fit_places(places.by_key(), links)
        graph = RelationalGraph.build(
            schema, n_rows, links, nullable, self.message_direction,
            positions=_side_by_side(structure.positions() if widths else {},
                                    places.places if places else {}) or None)
        seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        device = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the initial weights follow the seed too
            model = HeteroDenoiser.for_graph(schema, tensors, nullable, self.message_direction,
                                             hidden=self.hidden_dim, num_layers=self.n_hops,
                                             positions=self._input_widths(widths, places))
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
        self._position_widths = widths
        self._child_places = places
        self._encoders = encoders
        self._summaries = summaries
        self._rank_columns = ranks
        self._sibling_templates = templates
        self._follower_columns = followers
        self._class_shares = {t: class_shares(tensors[node[t]].x_cat, encoders[t].num_classes)
                              for t in schema.tables}
        self._table_sizes = n_rows
        self._fit_seed = seed
        self._model = fitted_model
        self._loss_history = trainer.loss_history
        self._train_seconds = trainer.train_seconds
        self._clean_known = trainer.clean_prob > 0
        self._guidable = trainer.context_dropout > 0
        self._calibrated_guidance = {}  # set by fit() after this (not by fit_processed_data)
        self._set_critics, self._set_accuracy = [], {}  # likewise
        self._fit_device = str(device)
        self._fit_seconds = time.perf_counter() - start

    def _summary_width(self, table: str) -> int:
        """Children-summary columns the model generates for ``table`` (``child_summaries``)."""
        layout = self._summaries
        return layout.width(table) if layout is not None else 0

    @staticmethod
    def _input_widths(axis_widths: dict[str, int], places: ChildPlaces | None) -> dict[str, int]:
        """Table -> places the model is given per row: co-parent axes, then child places."""
        widths = dict(axis_widths)
        for t, k in (places.widths() if places else {}).items():
            widths[t] = widths.get(t, 0) + k
        return widths

    def _positions(self, n_rows: dict[str, int], links: dict[str, np.ndarray],
                   source: dict[str, np.ndarray] | None = None, seed: int = 0,
                   values: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                   ) -> dict[str, np.ndarray] | None:
        """The rows' places, where the model was fitted with them: on the co-parent axes
        (``axis_positions``), their source rows' in a sampled graph
        (``StructureModel.sample``), or, for keys and links given rather than sampled
        (``source=None``), the axes refitted on them (``StructureModel.positions_of``); then
        among their children (``child_places``), their source rows', for given keys and
        links those their children's known ``values`` make (table -> encoded numbers and
        known cells; ``impute``), else those of real rows with the nearest child counts
        (``StructureModel.sources_of``, ties broken by ``seed``)."""
        axis = {}
        if self._position_widths:
            axis = (self._structure.positions_of(n_rows, links) if source is None
                    else self._structure.positions(source))
        places = {}
        if self._child_places and self._child_places.places:
            if source is None:
                # A stream of its own: the decoding's ``default_rng(seed)`` stays apart.
                source = self._structure.sources_of(n_rows, links, np.random.default_rng([seed, 1]),
                                                    tables=list(self._child_places.places))
            places = self._child_places.of(n_rows, source, values, links)
        return _side_by_side(axis, places) or None

    def _numerical_columns(self, table: str) -> list[str]:
        """The table's columns of sdtype numerical (the candidate rank columns)."""
        return [c for c, m in self.metadata.tables[table].columns.items() if m.get('sdtype') == 'numerical']

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

    def _diffusion(self, matched: bool = False) -> MixedDiffusion:
        """The diffusion process; ``matched``: its numbers are drawn from their training
        distributions afterwards (what ``sampling_variance='auto'`` resolves on)."""
        variance = self.sampling_variance
        if variance == 'auto':
            variance = 'posterior' if matched else 'beta'
        return MixedDiffusion(num_timesteps=self.num_timesteps, variance=variance)

    # --- sampling ----------------------------------------------------------------------------
    def _sample(self, scale: float, batch_size=None, max_tries_per_batch=100) -> dict[str, pd.DataFrame]:
        """SDV's hook: the base's ``sample``/``sample_scale`` call it in their seed wrapper."""
        return self._constrained(self._sample_database(scale))

    def _sample_database(self, scale: float, fixed: dict[str, pd.DataFrame] | None = None,
                         conditions: dict[str, dict] | None = None, sink=None) -> dict[str, pd.DataFrame]:
        """A new structure at ``scale`` around the ``fixed`` tables, then its attributes.

        Runs inside the base's temporary numpy seed (``_set_temp_numpy_seed``): drawing our
        seeds from ``np.random`` makes sampling repeatable and ``reset_sampling()`` rewinds it.
        ``sink``: see :meth:`_generate`.
        """
        seed = int(np.random.randint(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        fixed, conditions = fixed or {}, conditions or {}
        fixed_rows, fixed_links = self._fixed_structure(fixed)
        check_params(link_matching=self.link_matching)  # read here: it may be set after fit
        start = time.perf_counter()
        n_rows, links, source = self._structure.sample(
            scale, rng, fixed_rows, fixed_links, self.link_matching, self.nested_places,
            fixed_sources=self._kept_sources(fixed, fixed_links, seed),
            source_weights=self._condition_weights(conditions, fixed))
        timings = {'structure': time.perf_counter() - start}
        known = {t: self._known_all(t, df) for t, df in fixed.items()}
        for table, values in conditions.items():
            known[table] = self._known_condition(table, values, n_rows[table])
        return self._generate(n_rows, links, known, seed, keep=fixed, timings=timings, sink=sink,
                              source=source)

    def _constrained(self, sampled: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Multi-table constraints' reverse transform of a whole sampled database."""
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='The metadata lists columns in a different order')
            return self._reverse_transform_constraints(sampled)

    def _generate(self, n_rows, links, known, seed, keep=None, fill_nulls=False,
                  keys_from=None, timings=None, sink=None, source=None,
                  guidance: float | None = None, verbose: bool | None = None) -> dict[str, pd.DataFrame]:
        """Denoise every table of the graph ``(n_rows, links)`` jointly and decode it.

        Args:
            known: table -> (processed attribute values, boolean mask of known cells).
            keep: table -> DataFrame returned as it is (its keys are the parents' keys).
            fill_nulls: unknown numerical cells get a value, never a null (imputation).
            keys_from: table -> DataFrame whose primary key replaces the generated one.
            timings: phase -> seconds so far; the denoise and decode times are added and
                the whole kept as ``_sample_seconds`` (read by the speed benchmark).
            guidance, verbose: see :meth:`_denoise` (``verbose``: default ``self.verbose``).
            source: the structure model's source rows of a sampled graph (see
                :meth:`_positions`); ``None`` for given keys and links.
            sink: ``sink(table, df)`` takes each table as soon as it is decoded; then only
                the primary keys children still need are kept, and the frames returned
                hold nothing else (streamed sampling, see ``sample_scale``).
        """
        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)
        schema = self._schema
        node = RelationalGraph.node_types(schema)
        cells, given = {}, {}
        for t, (values, mask) in known.items():
            enc = self._encoders[t]
            x_num, x_cat = enc.transform(values)
            num_mask, cat_mask, x_cat = known_masks(enc, mask, x_cat, fill_nulls)
            given[t] = (x_num, num_mask)  # the children's known values make their parents' places
            extra = self._summary_width(t)  # children summaries: unknown, generated
            if extra:
                x_num = np.concatenate([x_num, np.zeros((len(x_num), extra), x_num.dtype)], 1)
                num_mask = np.concatenate([num_mask, np.zeros((len(num_mask), extra), bool)], 1)
            cells[node[t]] = KnownCells(torch.from_numpy(x_num), torch.from_numpy(num_mask),
                                        torch.from_numpy(x_cat), torch.from_numpy(cat_mask))
        graph = RelationalGraph.build(schema, n_rows, links, self._nullable,
                                      self.message_direction,
                                      positions=self._positions(n_rows, links, source, seed,
                                                                given if source is None else None))
        del given  # read by the places only
        start = time.perf_counter()
        # A free sample's numbers are matched as each table's chain ends, so its children
        # (still being denoised under ``parent_lead``) see their parents' final values.
        finish = self._finishers(rng) if not known else None
        out = self._denoise(graph, cells, generator, self.verbose if verbose is None else verbose,
                            match=not known, finish=finish, guidance=guidance,
                            set_links=None if known else links)
        timings = {} if timings is None else timings
        timings['denoise'] = time.perf_counter() - start
        start = time.perf_counter()
        sampled: dict[str, pd.DataFrame] = {}
        for t in schema.tables:  # parents before children
            pk = schema.primary_keys.get(t)
            if keep and t in keep:
                sampled[t] = keep[t].reset_index(drop=True).copy()
            else:
                # Known cells come back unchanged: their columns are not re-ranked.
                fixed = set(known[t][1].columns[np.asarray(known[t][1]).any(0)]) if t in known else ()
                # A free sample's numbers were matched in the chain (``finish``); conditions
                # move distributions, so a conditioned sample is not matched.
                tensors = out.pop(node[t])
                sampled[t] = self._decode_table(t, tensors, links, sampled, rng, fixed)
                if keys_from and t in keys_from and pk:
                    sampled[t][pk] = keys_from[t][pk].to_numpy()
            if sink is not None:
                sink(t, sampled[t])
                sampled[t] = sampled[t][[pk]] if pk and schema.children_of(t) else sampled[t].iloc[:0]
        timings['decode'] = time.perf_counter() - start
        self._sample_seconds = timings
        return sampled

    def _denoise(self, graph: RelationalGraph, cells: dict, generator: torch.Generator,
                 verbose: bool, match: bool = False, finish: dict | None = None,
                 guidance: float | None = None, set_links: dict | None = None) -> dict:
        """The reverse chain on ``graph`` with the fitted model and the sampling settings;
        ``match``: a free sample, whose categories follow their training shares when
        ``match_marginals`` is ``True``; ``finish``: table -> what is done to its numbers
        when its chain ends (:meth:`_finishers`); ``guidance``: one scale for every column
        instead of :meth:`_guidance`'s; ``set_links``: the sampled links of a free sample,
        guided by the set critics when ``set_guidance`` is on (:meth:`_set_guide`)."""
        schema, node = self._schema, RelationalGraph.node_types(self._schema)
        return generate(
            self._model, self._diffusion(matched=match and bool(self.match_marginals)), graph,
            d_num={node[t]: self._encoders[t].d_num + self._summary_width(t) for t in schema.tables},
            num_classes={node[t]: self._encoders[t].num_classes for t in schema.tables},
            sampling_steps=self.sampling_steps, generator=generator,
            device=resolve_device(self.device), verbose=verbose, known=cells,
            fanout=self.fanout, mixed_precision=self.mixed_precision,
            torch_compile=self.torch_compile, clean_known=self._clean_known,
            levels={node[t]: lv for t, lv in schema.levels(latest=True).items()},
            parent_lead=self.parent_lead,
            guidance_scale=self._guidance() if guidance is None else guidance,
            class_shares={node[t]: v for t, v in self._class_shares.items()}
            if match and self.match_marginals not in (False, 'numerical') else None,
            finish={node[t]: f for t, f in finish.items()} if finish else None,
            set_guide=self._set_guide(set_links) if set_links is not None else None,
        )

    def _set_guide(self, links: dict) -> SetGuide | None:
        """The set critics' guide for a free sample's ``links`` (``None`` when
        ``set_guidance`` is 0 or no critic was kept)."""
        check_params(set_guidance=self.set_guidance)  # read here: it may be set after fit
        if not self.set_guidance or not self._set_critics:
            return None
        return SetGuide(self._set_critics, _long_links(links), self._set_matchers(),
                        scale=float(self.set_guidance))

    def _set_matchers(self, seed: int = 0) -> dict:
        """Node type -> the map of a table's numbers into the matched space its set critics
        read (:func:`match_marginals` on every cell; ties in an order drawn from ``seed``)."""
        node, out = RelationalGraph.node_types(self._schema), {}
        for t in self._schema.tables:
            enc, gen = self._encoders[t], torch.Generator().manual_seed(seed)

            def match(x: torch.Tensor, enc=enc, gen=gen) -> torch.Tensor:
                x = x[:, :enc.d_num]
                return match_marginals(x, torch.ones_like(x, dtype=torch.bool), gen, enc.quantile_sizes())

            out[node[t]] = match
        return out

    def _set_inputs(self, data: dict[str, pd.DataFrame]) -> tuple[dict, dict]:
        """``(x_num, links)`` of a database as the set critics read it: node type -> its
        numbers matched (:meth:`_set_matchers`), fk name -> each child row's parent row."""
        schema, node, match = self._schema, RelationalGraph.node_types(self._schema), self._set_matchers()
        x_num = {node[t]: match[node[t]](torch.from_numpy(self._encoders[t].transform(self._known_all(t, data[t])[0])[0]))
                 for t in schema.tables}
        return x_num, _long_links(keys.links(schema, data))

    def _fit_set_critics(self, data: dict[str, pd.DataFrame]) -> list[SetCritic]:
        """One :class:`SetDiscriminator` per parent table, fitted to tell the training
        ``data``'s rows from those of ``_SET_DRAWS`` free samples of the fitted model by their
        sets of children (:mod:`grdm_sdv.set_guidance`); kept where it tells them apart at
        ``_SET_MIN_ACCURACY`` or more on held-out rows. Rank columns are not read (the
        sampler numbers them afterwards). Draws from its own seeds."""
        schema, node = self._schema, RelationalGraph.node_types(self._schema)
        parents = [t for t in schema.tables if schema.children_of(t)]
        self._set_accuracy = {}
        if not parents:
            return []
        match = self._set_matchers()
        real, real_links = self._set_inputs(data)
        fakes = []
        for draw in tqdm(range(self._SET_DRAWS), desc='Fit set critics', disable=not self.verbose):
            seed = (self._fit_seed + 7919 * (draw + 11)) % (2**31 - 1)  # apart from the fit's and calibration's
            rng = np.random.default_rng(seed)
            n_rows, links, source = self._structure.sample(1.0, rng, link_matching=self.link_matching,
                                                           nest=self.nested_places)
            graph = RelationalGraph.build(schema, n_rows, links, self._nullable, self.message_direction,
                                          positions=self._positions(n_rows, links, source, seed))
            out = self._denoise(graph, {}, torch.Generator().manual_seed(seed), False, match=True,
                                finish=self._finishers(rng))
            fakes.append(({k: match[k](v.x_num) for k, v in out.items()}, _long_links(links)))
        ranks = {(r.table, r.column) for r in self._rank_columns}
        critics = []
        for p in parents:
            fks = [fk for fk in schema.foreign_keys if fk.parent == p]
            columns = {node[t]: torch.tensor([j for j, c in enumerate(self._encoders[t].x_num_names)
                                              if (t, c) not in ranks], dtype=torch.long)
                       for t in {p, *(fk.child for fk in fks)}}
            critic = SetCritic(node[p], [(node[fk.child], fk.name) for fk in fks], columns,
                               SetDiscriminator(1), 0.0)
            critic.discriminator, critic.accuracy = fit_discriminator(
                critic.features(real, real_links), torch.cat([critic.features(x, l) for x, l in fakes]),
                seed=self._fit_seed)
            self._set_accuracy[p] = critic.accuracy
            if critic.accuracy >= self._SET_MIN_ACCURACY:
                critics.append(critic)
        return critics

    def _finishers(self, rng: np.random.Generator) -> dict | None:
        """Table -> ``f(x_num, x_cat) -> x_num``: its numbers matched to their training
        distributions (:meth:`_matched`) when its own chain ends; ``None`` when
        ``match_marginals`` is off."""
        if not self.match_marginals:
            return None

        def finish(x_num: torch.Tensor, x_cat: torch.Tensor, table: str) -> torch.Tensor:
            enc = self._encoders[table]
            done = self._matched(table, TableTensors(x_num.cpu(), x_cat.cpu(), enc.num_classes), rng)
            return done.x_num.to(x_num.device)

        return {t: functools.partial(finish, table=t) for t in self._schema.tables}

    def _guidance(self) -> float | dict:
        """``guidance_scale``, or with ``column_guidance`` node type -> ``(per x_num column,
        per x_cat column)`` scales (``guidance_scale`` where none is given)."""
        default = check_guidance(self.guidance_scale, self._guidable)
        given = check_column_guidance(self.column_guidance, self.metadata, float(self._guidable))
        columns = {}
        if self.calibrate_guidance and default != 1:  # guidance_scale=1 switches guidance off
            for (table, column), w in self._calibrated_guidance.items():
                columns.setdefault(table, {})[column] = w
        for table, scales in given.items():  # the user's scales over the calibrated ones
            columns.setdefault(table, {}).update(scales)
        if not columns:
            return default
        node, out, unknown = RelationalGraph.node_types(self._schema), {}, []
        for t in self._schema.tables:
            enc = self._encoders[t]
            w_num = torch.full((enc.d_num + self._summary_width(t),), default)
            w_cat = torch.full((len(enc.num_classes),), default)
            cat_names = [c.name for c in enc.cat_columns]
            for column, w in columns.get(t, {}).items():
                if enc.num_index(column) >= 0:
                    w_num[enc.num_index(column)] = w
                elif column in cat_names:
                    w_cat[cat_names.index(column)] = w
                elif column in given.get(t, {}):
                    unknown.append(f'{t}.{column}')
            out[node[t]] = (w_num, w_cat)
        if unknown:
            raise SynthesizerInputError(
                f'column_guidance names column(s) the model does not generate: {unknown} '
                '(keys, and columns without values in the training data, have no guidance).')
        return out

    def _calibrate_guidance(self, data: dict[str, pd.DataFrame], scales: tuple[float, float] = (1.0, 1.3),
                            seeds: tuple[int, int] = (0, 1)) -> dict[tuple[str, str], float]:
        """``(table, column)`` -> guidance scale, calibrated on the training ``data``
        (:mod:`grdm_sdv.guidance`): three samples of its size, at ``scales[0]`` with each of
        ``seeds`` and at ``scales[1]`` with the first, scored by ``k_hop_trends`` and by
        ``sibling_structure``'s spread of children's means over parents. Draws from its own
        seeds (the fit's seed and these), not from the sampling state, which it resets."""
        from .evaluation import k_hop_trends, sibling_structure  # not needed to sample

        metadata = self._original_metadata
        fit_seed = self._fit_seed
        self.reset_sampling()  # decoding's own random state (RDT): the same on every call
        runs = [(scales[0], seeds[0]), (scales[0], seeds[1]), (scales[1], seeds[0])]
        trends = []
        for w, k in tqdm(runs, desc='Calibrate guidance', disable=not self.verbose):
            seed = (fit_seed + 7919 * (k + 1)) % (2**31 - 1)  # streams apart from the fit's own
            rng = np.random.default_rng(seed)
            n_rows, links, source = self._structure.sample(1.0, rng, link_matching=self.link_matching,
                                                           nest=self.nested_places)
            sample = self._constrained(self._generate(n_rows, links, {}, seed, source=source,
                                                      guidance=w, verbose=False))
            trends.append(pd.concat([k_hop_trends(data, sample, metadata, max_hops=2, seed=seed),
                                     sibling_pairs(sibling_structure(data, sample, metadata))],
                                    ignore_index=True))
        return calibrated_scales(*trends, scales=scales,
                                 default=check_guidance(self.guidance_scale, self._guidable))

    def _matched(self, table: str, tensors: TableTensors, rng: np.random.Generator) -> TableTensors:
        """``tensors`` with its numerical columns drawn from their training distributions in
        the generated order (``match_marginals``; unchanged when it is off)."""
        if not self.match_marginals or not tensors.x_num.shape[1]:
            return tensors
        enc, x_num = self._encoders[table], tensors.x_num
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        matched = match_marginals(x_num[:, :enc.d_num], enc.observed(tensors.x_cat), generator,
                                  enc.quantile_sizes())
        # Children summaries after the encoder's columns are not matched.
        return TableTensors(torch.cat([matched, x_num[:, enc.d_num:]], 1), tensors.x_cat,
                            tensors.num_classes)

    def _decode_table(self, table: str, tensors, links, done, rng, fixed=(),
                      complete=None) -> pd.DataFrame:
        """One generated table from the model's numbers and tokens to the user's form.

        Its rank columns are ranked within each parent and its template columns given real
        compositions, except the columns in ``fixed`` (they hold known cells) and those
        whose foreign key ``complete(fk)`` says the parents' children are not all here (a
        shard).
        """
        enc = self._encoders[table]
        attrs = enc.inverse(tensors.x_num.numpy()[:, :enc.d_num], tensors.x_cat.numpy(), rng)
        df = self._finalize_table(table, attrs, links, done)

        def applicable(found):
            return [r for r in found if r.table == table and r.column not in fixed
                    and (complete is None or complete(r.fk))]

        if self.rank_columns:
            df = apply_ranks(df, applicable(self._rank_columns), links, rng)
        if self.sibling_templates:
            df = apply_templates(df, applicable(self._sibling_templates), links, rng)
        if self.follower_columns:
            df = apply_followers(df, applicable(self._follower_columns), links, rng)
        return df

    def _finalize_table(self, table, attrs, links, done) -> pd.DataFrame:
        """Reverse-transform one table and fill its foreign keys from the sampled edges."""
        return decoding.finalize_table(self._table_synthesizers[table], self._schema, table, attrs,
                                       links, done, self.metadata.get_column_names(table))

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
            info['fit_device'] = self._fit_device
            info['fit_seconds'] = self._fit_seconds
            info['fit_seed'] = self._fit_seed
            info['num_parameters'] = sum(p.numel() for p in self._model.parameters())
            info['rank_columns'] = [
                f'{r.table}.{r.column}: {r.start}, {r.start + 1}, ... per {r.fk_column}'
                for r in self._rank_columns]
            info['sibling_templates'] = [
                f'{r.table}.{r.column} per {r.fk_column}: {sum(map(len, r.templates.values()))} '
                f'compositions (most common of its size for {r.share:.0%} of the parents, '
                f'{r.baseline:.0%} shuffled)' for r in self._sibling_templates]
            info['follower_columns'] = [
                f'{r.table}.{r.column} per {r.fk_column}: never {"falls" if r.sign > 0 else "rises"} '
                f'along {r.rank} ({r.share:.0%} of the parents, {r.baseline:.0%} shuffled)'
                for r in self._follower_columns]
            info['co_parent_axes'] = self._structure_axes()
            info['axis_positions'] = dict(self._position_widths)
            info['child_places'] = self._child_places_info()
            info['nested_tables'] = [
                f'{t} among its {self._schema.foreign_key(n.fk).parent} rows by place'
                for t, n in getattr(self._structure, 'nests', {}).items()]
            fk = self._schema.foreign_key
            info['seated_tables'] = [  # files saved before 0.2.22 have none
                f'{t}: {fk(x.runs).parent} in runs of {fk(x.primary).parent} seats, '
                f'{fk(x.events).parent} in entries' for t, x in getattr(self._structure, 'seats', {}).items()]
            info['child_summaries'] = self._child_summaries_info()
            info['calibrated_guidance'] = {f'{t}.{c}': round(w, 3) for (t, c), w in
                                           self._calibrated_guidance.items()}
            table = {v: k for k, v in RelationalGraph.node_types(self._schema).items()}
            info['set_critics'] = {table[c.parent]: round(c.accuracy, 3) for c in self._set_critics}
            info['set_critic_accuracy'] = {t: round(a, 3) for t, a in self._set_accuracy.items()}
        return info

    def _child_summaries_info(self) -> list[str]:
        """``'race: mean result.grid, result.laps per race_id'``, one line per foreign key."""
        layout, fk = self._summaries, self._schema.foreign_key
        if layout is None:
            return []
        return [f"{table}: mean {', '.join(f'{child}.{c}' for c in self._encoders[child].x_num_names)} "
                f'per {fk(name).column}'
                for table, parts in layout.parts.items() for name, child, _ in parts]

    def _child_places_info(self) -> list[str]:
        places, fk = self._child_places, self._schema.foreign_key
        if places is None:
            return []
        return [f'{t} among its {fk(name).child} rows (first component: {share:.0%} of the '
                f'per-{t} means\' variance)'
                for t in places.fks for name, share in zip(places.fks[t], places.shares[t])]

    def _structure_axes(self) -> list[str]:
        fk = self._schema.foreign_key
        return [f'{fk(name).child}.{fk(name).column} along {fk(name).child}.'
                f'{fk(axis.anchor).column} (correlation {axis.rho:.2f}'
                + (f'; within it by child places, correlation {axis.place_target:.2f})'
                   if axis.place_rho is not None else ')')
                for name, axis in getattr(self._structure, 'axes', {}).items()]

    # --- persistence -------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if state.get('_model') is not None:
            state['_model'] = state['_model'].cpu()
        return state

    def __setstate__(self, state: dict) -> None:
        # Checked here, not only in load(), so sdv.utils.load_synthesizer refuses it too.
        check_saved_version(state)
        # 0.2.0 files predate guidance (they were fitted without context dropout), and the
        # earliest ones child summaries too.
        state.setdefault('context_dropout', 0.0)
        state.setdefault('guidance_scale', 1.0)
        state.setdefault('column_guidance', None)  # 0.2.17
        state.setdefault('calibrate_guidance', False)
        state.setdefault('_calibrated_guidance', {})
        state.setdefault('_guidable', False)
        state.setdefault('child_summaries', False)
        state.setdefault('_summaries', None)
        # Files saved before 0.2.3 have no rank columns found (nothing to rank), and files
        # saved before 0.2.4 sample as they did, without matched marginals.
        state.setdefault('rank_columns', True)
        state.setdefault('_rank_columns', [])
        state.setdefault('match_marginals', False)
        # Files saved before 0.2.5 hold no class shares: their categories are not matched;
        # files saved before 0.2.6 have no template columns found (nothing to compose).
        state.setdefault('_class_shares', {})
        state.setdefault('sibling_templates', True)
        state.setdefault('_sibling_templates', [])
        # Files saved before 0.2.11 have no follower columns found (nothing to reorder).
        state.setdefault('follower_columns', True)
        state.setdefault('_follower_columns', [])
        # Files saved before 0.2.7 have no co-parent axes (their structure has none to use).
        state.setdefault('link_matching', 'axis')
        # Files saved before 0.2.8 were fitted without the rows' places on those axes.
        state.setdefault('axis_positions', False)
        state.setdefault('_position_widths', {})
        # Files saved before 0.2.12 were fitted without child places.
        state.setdefault('child_places', False)
        state.setdefault('_child_places', None)
        # Files saved before 0.2.19 deal no table's rows among their parents by place.
        state.setdefault('nested_places', False)
        # Files saved before 0.2.27 have no set critics.
        state.setdefault('set_guidance', 0.0)
        state.setdefault('_set_critics', [])
        state.setdefault('_set_accuracy', {})
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
        synth = load_file(cls, filepath)
        if device is not None:
            synth.device = device
        if resolve_device(synth.device).type == 'cuda' and not torch.cuda.is_available():
            warnings.warn('The synthesizer was set to use CUDA, which is not available here: '
                          'sampling on CPU.', stacklevel=2)
            synth.device = 'cpu'
        return synth


def _feature_maker(encoder, tensors):
    """``rows -> feature vectors`` of a table's encoded rows (``TableEncoder.features``)."""
    x_num, x_cat = tensors.x_num.numpy(), tensors.x_cat.numpy()
    return lambda rows: encoder.features(x_num[rows], x_cat[rows])


def _side_by_side(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Table -> ``first``'s columns, then ``second``'s (tables in either)."""
    out = dict(first)
    for t, cols in second.items():
        out[t] = np.concatenate([out[t], cols], 1) if t in out else cols
    return out


def _long_links(links: dict) -> dict[str, torch.Tensor]:
    """fk name -> each child row's parent row as a long tensor (``-1``: none)."""
    return {name: torch.as_tensor(np.asarray(v), dtype=torch.long) for name, v in links.items()}
