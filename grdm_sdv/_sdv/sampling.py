"""GRDMSynthesizer's sampling forms: SDV 1.x ``scale``, SDV 2.0 ``num_rows``, fixed tables,
conditions, CSV folders (streamed, all or nothing) and ``sample_stream``.

A mixin of :class:`~grdm_sdv.synthesizer.GRDMSynthesizer`: every form ends in its
``_sample_database`` (a structure, then its attributes), run inside SDV's temporary numpy
seed so that sampling is repeatable and ``reset_sampling()`` rewinds it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sdv.errors import SynthesizerInputError
from sdv.logging import disable_single_table_logger

from .io import CsvWriter, check_output_folder
from .params import check_scale


class SamplingForms:
    """The public sampling methods of :class:`~grdm_sdv.synthesizer.GRDMSynthesizer`."""

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
                A kept row's generated children number as those of a real row its values
                resemble (``docs/conditional.md``).
            conditions: table -> {column: value} that every row of that table takes; the
                rest of the database follows from it (e.g. ``{'customer': {'country': 'FR'}}``),
                a category's child counts included.
            return_data: with ``output_folder_path``, ``False`` streams the tables to the
                folder without keeping them and returns table -> CSV path (see
                :meth:`sample_scale`).

        Returns:
            dict of DataFrames with the tables, columns and dtypes of the training data.
        """
        fixed, conditions = self._sampling_request(fixed_tables, conditions)
        if scale is None and main_table_name is not None:  # SDV 2.0's form
            if not fixed and not conditions:
                self._check_output_folder(output_folder_path)
                return super().sample(num_rows, main_table_name, batch_size, max_tries_per_batch,
                                      output_folder_path)
            self._validate_sample_input(num_rows, main_table_name, batch_size, max_tries_per_batch,
                                        output_folder_path)
            scale = self._resolve_scale(main_table_name, num_rows)
        elif scale is None:
            scale = 1.0 if num_rows is None else num_rows
        elif num_rows is not None:
            raise SynthesizerInputError(
                "Pass either 'scale' or 'num_rows' (with 'main_table_name'), not both."
            )
        return self._sample_at(scale, batch_size, max_tries_per_batch, output_folder_path,
                               return_data, fixed, conditions)

    def _sampling_request(self, fixed_tables, conditions) -> tuple[dict, dict]:
        """Checked copies of ``sample``'s ``fixed_tables`` and ``conditions``."""
        if not fixed_tables and not conditions:
            return {}, {}
        self._check_given(fixed_tables or {}, 'sample(fixed_tables=...)')
        for t, vals in (conditions or {}).items():
            if not isinstance(vals, dict):
                raise SynthesizerInputError(
                    f"conditions['{t}'] must be a dict of column -> value, got {type(vals).__name__}.")
            if t in (fixed_tables or {}):
                raise SynthesizerInputError(
                    f"Table '{t}' is both kept (fixed_tables) and conditioned (conditions): a kept "
                    'table comes back as given; condition it by passing the rows you want.')
            self._known_condition(t, vals, 1)  # refuses bad columns and values before any work
        return {t: df.copy() for t, df in (fixed_tables or {}).items()}, dict(conditions or {})

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
        return self._sample_at(scale, batch_size, max_tries_per_batch, output_folder_path,
                               return_data, {}, {})

    def _sample_at(self, scale, batch_size, max_tries_per_batch, output_folder_path,
                   return_data: bool, fixed: dict, conditions: dict) -> dict:
        """Every ``sample``/``sample_scale`` form once its scale is known: in memory through
        the base (which also saves the CSVs), or streamed table by table to the folder."""
        check_scale(scale)
        self._check_output_folder(output_folder_path)
        validate = dict(num_rows=1, main_table_name=list(self.metadata.tables)[0],
                        batch_size=batch_size, max_tries_per_batch=max_tries_per_batch,
                        output_folder_path=output_folder_path)
        if output_folder_path is None or not self._streamable():
            if fixed or conditions:
                self._validate_sample_input(**validate)
                with self._set_temp_numpy_seed(), disable_single_table_logger():
                    sampled = self._constrained(self._sample_database(float(scale), fixed, conditions))
                data = {t: self._output_columns(t, df) for t, df in sampled.items()}
                if output_folder_path is not None:
                    self._save_sampled_data(data, output_folder_path)
            else:
                data = super().sample_scale(float(scale), batch_size, max_tries_per_batch,
                                            output_folder_path)
            if output_folder_path is not None and not return_data:
                return {t: Path(output_folder_path) / f'{t}.csv' for t in data}
            return data
        self._validate_sample_input(**validate)
        with CsvWriter(output_folder_path, keep=return_data) as writer:
            self._stream(writer, float(scale), fixed, conditions)
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
        check_scale(scale)
        self._validate_sample_input(
            num_rows=1, main_table_name=list(self.metadata.tables)[0], batch_size=batch_size,
            max_tries_per_batch=max_tries_per_batch, output_folder_path=None,
        )
        self._stream(sink, float(scale), {}, {})

    def _stream(self, sink, scale: float, fixed: dict, conditions: dict) -> None:
        """Hand each sampled table to ``sink`` as it is decoded (inputs already checked)."""
        if not self._streamable():
            data = self._sample_at(scale, None, 100, None, True, fixed, conditions)
            for table in self._schema.tables:
                sink(table, data[table])
            return
        with self._set_temp_numpy_seed(), disable_single_table_logger():
            self._sample_database(scale, fixed, conditions,
                                  sink=lambda table, df: sink(table, self._output_columns(table, df)))

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
        if self._fitted:  # else the base raises its not-fitted error
            check_output_folder(output_folder_path, self.get_metadata().tables)

    def _save_sampled_data(self, sampled_data: dict[str, pd.DataFrame], output_folder_path) -> None:
        """Write ``<table>.csv`` per table, all or nothing (see :class:`~grdm_sdv._sdv.io.CsvWriter`)."""
        with CsvWriter(output_folder_path, keep=False) as writer:
            for table, df in sampled_data.items():
                writer(table, df)

