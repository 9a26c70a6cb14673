"""GRDMSynthesizer's conditional forms: new attributes on given keys, and imputation.

A mixin of :class:`~grdm_sdv.synthesizer.GRDMSynthesizer` (these methods need its fitted
state and its ``_generate``); the cell-level work is in :mod:`.conditioning`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sdv.errors import SamplingError, SynthesizerInputError

from ..structure import chunks
from . import conditioning, keys
from .imputation import point_estimate


class Conditioning:
    """``sample_from_structure`` and ``impute``, and the known cells ``sample`` conditions on."""

    def _processed(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        return conditioning.processed(self._table_synthesizers[table]._data_processor,
                                      self.metadata.get_column_names(table),
                                      self._encoders[table].columns, df)

    def _known_all(self, table: str, df: pd.DataFrame):
        return conditioning.all_known(self._processed(table, df))

    def _known_condition(self, table: str, values: dict, n: int):
        self._validate_table_name(table)
        return conditioning.condition(table, self._encoders[table], values, n,
                                      lambda frame: self._processed(table, frame))

    def _fixed_structure(self, fixed: dict[str, pd.DataFrame]):
        if not fixed:
            return None, None
        return {t: len(df) for t, df in fixed.items()}, keys.links(self._schema, fixed, tables=set(fixed))

    def _kept_sources(self, fixed: dict[str, pd.DataFrame], fixed_links, seed: int) -> dict | None:
        """The real rows whose child counts (and places) the rows of kept tables take: the
        nearest in the counts their values predict, and in their actual counts along keys
        whose children are kept too (``StructureModel.sources_by_values``); from a random
        stream of their own (the sampling's ``default_rng(seed)`` stays apart)."""
        if not fixed:
            return None
        rng = np.random.default_rng([seed, 2])
        out = {}
        for t, df in fixed.items():
            children = self._schema.children_of(t)
            if not children:
                continue
            x_num, x_cat = self._encoders[t].transform(self._known_all(t, df)[0])
            counts = np.full((len(df), len(children)), -1, np.int64)
            for j, fk in enumerate(children):
                if fk.child in fixed:
                    link = np.asarray(fixed_links[fk.name])
                    counts[:, j] = np.bincount(link[link >= 0], minlength=len(df))[:len(df)]
            parts = [self._structure.expected_counts(t, self._encoders[t].features(x_num[part], x_cat[part]))
                     for part in chunks(len(df))]  # feature vectors a chunk at a time (wide one-hots)
            if parts and parts[0] is not None:
                out[t] = self._structure.sources_by_values(t, np.concatenate(parts), counts, rng)
        return out

    def _condition_weights(self, conditions: dict[str, dict], fixed: dict) -> dict | None:
        """Per generated table conditioned on categories: weights over its real rows by
        how likely each is to have them given its child counts
        (``StructureModel.condition_weights``), so its rows copy counts the categories have."""
        out = {}
        for t, values in (conditions or {}).items():
            if t in fixed or not self._schema.children_of(t):
                continue
            codes = {}
            for c in self._encoders[t].cat_columns:
                if c.name in values:
                    hit = np.flatnonzero([values[c.name] == v for v in c.categories])
                    if len(hit):
                        codes[c.name] = int(hit[0])
            weights = self._structure.condition_weights(t, codes) if codes else None
            if weights is not None:
                out[t] = weights
        return out or None

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
            key_columns = [self._schema.primary_keys.get(t)] + [fk.column for fk in self._schema.parents_of(t)]
            missing = [k for k in key_columns if k and k not in df.columns]
            if missing:
                raise SynthesizerInputError(f"{what}: table '{t}' lacks its key column(s) {missing}.")

    def _given_structure(self, data, what: str) -> tuple[dict, dict, int]:
        """Row counts and links of a complete database given by the caller, and a seed drawn
        from the base's temporary numpy state (so ``reset_sampling`` rewinds it)."""
        self._check_given(data, what)
        missing = sorted(set(self._schema.tables) - set(data))
        if missing:
            raise SynthesizerInputError(f'{what} needs every table (keys at least); missing {missing}.')
        links = keys.links(self._schema, data)
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
            t: point_estimate([d[t] for d in draws], self.metadata.tables[t].columns)
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

