"""Per-table encoding between processed DataFrames and the diffusion's ``[x_num | x_cat]`` layout.

SDV/RDT has already turned datetimes into floats and validated the data; categorical and
boolean columns reach us raw (their RDT transformer is ``None``) and numerical columns may
still hold NaN. Here each table becomes:

* ``x_num`` (float32, ``n x d_num``): numerical columns mapped to a standard normal through
  their empirical quantiles (robust to skew, heavy tails and odd units);
* ``x_cat`` (int64, ``n x d_cat``): category codes, one column per categorical column plus
  one 2-class "is null" column per numerical column that has missing values. A missing
  categorical value is a category of its own. A column with more than ``max_categories``
  distinct values (e.g. a non-key id column, unique per row) keeps its most frequent values
  as classes and folds the rest into one "rare" class, decoded by drawing a rare value with
  its frequency: the model's size and the sampling memory stay bounded by ``max_categories``
  rather than by the number of rows.

``inverse`` undoes all of it exactly up to the quantile interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import QuantileTransformer

from .graph import RelationalGraph
from .tensors import TableTensors

_NULL = '__grdm_null__'
_RARE = '__grdm_rare__'


@dataclass
class _NumColumn:
    name: str
    transformer: QuantileTransformer | None  # None when the column is entirely null
    has_nulls: bool
    fill: float


@dataclass
class _CatColumn:
    name: str
    categories: np.ndarray  # object array; may hold the _NULL and _RARE sentinels
    null_code: int  # -1 if the column has no nulls
    rare_code: int = -1  # -1 if every value has its own class
    rare_values: np.ndarray | None = None  # values folded into the rare class
    rare_p: np.ndarray | None = None  # their frequencies, summing to 1


@dataclass
class TableEncoder:
    """Encode one table's attribute columns (no keys) for the diffusion model.

    Args:
        categorical: names of the columns to treat as categorical; all others are numerical.
        max_quantiles: number of quantiles the numerical transform keeps. (default: ``1000``)
        max_categories: most classes of one categorical column, the null and rare classes
            included; rarer values share one class. (default: ``1000``)
    """

    categorical: list[str]
    max_quantiles: int = 1000
    max_categories: int = 1000
    columns: list[str] = field(default_factory=list)
    num_columns: list[_NumColumn] = field(default_factory=list)
    cat_columns: list[_CatColumn] = field(default_factory=list)

    @property
    def num_classes(self) -> list[int]:
        """Classes of each ``x_cat`` column: categoricals first, then the null flags."""
        sizes = [len(c.categories) for c in self.cat_columns]
        return sizes + [2 for c in self.num_columns if c.has_nulls]

    @property
    def d_num(self) -> int:
        """Width of ``x_num``."""
        return sum(c.transformer is not None for c in self.num_columns)

    @property
    def x_num_names(self) -> list[str]:
        """The numerical columns ``x_num`` holds, in its column order."""
        return [c.name for c in self.num_columns if c.transformer is not None]

    def num_index(self, name: str) -> int:
        """Column of ``x_num`` that holds numerical column ``name`` (-1: none, e.g. no value)."""
        names = self.x_num_names
        return names.index(name) if name in names else -1

    def quantile_sizes(self) -> list[int]:
        """Per column of ``x_num``: the number of training values its quantile transform
        interpolates between, where it keeps every one (fewer than ``max_quantiles``
        non-null values), else 0: a column of more values, whose quantiles are a grid (one
        of exactly ``max_quantiles`` values is taken as a grid too; the two differ by 0.05%)."""
        return [int(c.transformer.n_quantiles_) if c.transformer.n_quantiles_ < self.max_quantiles else 0
                for c in self.num_columns if c.transformer is not None]

    def observed(self, x_cat: torch.Tensor) -> torch.Tensor:
        """``(n, d_num)`` bool: the cells of ``x_num`` that hold a value, i.e. whose column's
        "is null" flag in ``x_cat`` (when it has one) does not say null."""
        n, flag = len(x_cat), len(self.cat_columns)
        cols = []
        for c in self.num_columns:
            if c.transformer is not None:
                cols.append(x_cat[:, flag] != 1 if c.has_nulls
                            else torch.ones(n, dtype=torch.bool, device=x_cat.device))
            flag += int(c.has_nulls)
        return torch.stack(cols, 1) if cols else torch.zeros((n, 0), dtype=torch.bool)

    def fit(self, df: pd.DataFrame) -> 'TableEncoder':
        """Learn quantiles and category sets from ``df``."""
        self.columns = list(df.columns)
        cat = set(self.categorical)
        self.num_columns, self.cat_columns = [], []
        for name in self.columns:
            col = df[name]
            if name in cat:
                self.cat_columns.append(self._fit_categorical(name, col))
            else:
                x = pd.to_numeric(col, errors='coerce').to_numpy(dtype=np.float64)
                ok = ~np.isnan(x)
                qt = None
                fill = 0.0
                if ok.any():
                    qt = QuantileTransformer(
                        n_quantiles=int(min(self.max_quantiles, ok.sum())),
                        output_distribution='normal',
                        subsample=10**9,
                    ).fit(x[ok].reshape(-1, 1))
                    fill = float(np.median(x[ok]))
                self.num_columns.append(_NumColumn(name, qt, bool((~ok).any()), fill))
        return self

    def _fit_categorical(self, name: str, col: pd.Series) -> _CatColumn:
        has_null = bool(col.isna().any())
        counts = col.dropna().astype(object).value_counts(sort=False)
        rare_values = rare_p = None
        if len(counts) + has_null > self.max_categories:
            # Keep the most frequent values (ties by text, so row order does not matter) and
            # the null class; the rest share the rare class.
            order = np.lexsort((counts.index.astype(str), -counts.to_numpy()))
            n_keep = max(0, self.max_categories - 1 - has_null)
            rare = counts.iloc[order[n_keep:]]
            rare_values = rare.index.to_numpy(dtype=object)
            rare_p = rare.to_numpy(np.float64) / rare.sum()
            counts = counts.iloc[order[:n_keep]]
        # Stable order: by first appearance is data-order dependent, so sort by text.
        cats = sorted(counts.index, key=str)
        cats += [_RARE] * (rare_values is not None) + [_NULL] * has_null
        cats = np.array(cats, dtype=object)
        null_code = len(cats) - 1 if has_null else -1
        rare_code = len(cats) - 1 - has_null if rare_values is not None else -1
        return _CatColumn(name, cats, null_code, rare_code, rare_values, rare_p)

    def transform(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(x_num, x_cat)`` for ``df`` (same columns as in ``fit``)."""
        n = len(df)
        nums, flags = [], []
        for c in self.num_columns:
            x = pd.to_numeric(df[c.name], errors='coerce').to_numpy(dtype=np.float64)
            null = np.isnan(x)
            if c.transformer is not None:
                z = c.transformer.transform(np.where(null, c.fill, x).reshape(-1, 1))[:, 0]
                nums.append(np.clip(z, -5.0, 5.0))
            if c.has_nulls:
                flags.append(null.astype(np.int64))
        cats = []
        for c in self.cat_columns:
            col = df[c.name]
            values = col.astype(object).where(col.notna(), _NULL)
            codes = pd.Categorical(values, categories=c.categories).codes.astype(np.int64)
            # Values without a class of their own: rare ones, or (only possible with
            # fit_processed_data misuse) values never seen in fit.
            codes[codes < 0] = c.rare_code if c.rare_code >= 0 else 0
            cats.append(codes)
        x_num = np.stack(nums, 1).astype(np.float32) if nums else np.zeros((n, 0), np.float32)
        all_cat = cats + flags
        x_cat = np.stack(all_cat, 1) if all_cat else np.zeros((n, 0), np.int64)
        return x_num, x_cat

    def features(self, x_num: np.ndarray, x_cat: np.ndarray) -> np.ndarray:
        """``n x f`` float32: a row's values as one vector (its normal-scored numbers, then
        one indicator per class of each categorical column and per null flag), for linear
        models of the rows (``StructureModel.fit_expected``)."""
        x_num, x_cat = np.asarray(x_num)[:, :self.d_num], np.asarray(x_cat)
        parts = [x_num.astype(np.float32)]
        for j, k in enumerate(self.num_classes):
            codes = x_cat[:, j]
            if k == 2 and j >= len(self.cat_columns):  # a null flag: one column
                parts.append((codes == 1).astype(np.float32)[:, None])
            else:
                parts.append((codes[:, None] == np.arange(k)[None, :]).astype(np.float32))
        return np.concatenate(parts, 1) if parts else np.zeros((len(x_cat), 0), np.float32)

    def inverse(
        self, x_num: np.ndarray, x_cat: np.ndarray, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Decode ``(x_num, x_cat)`` back to a DataFrame with the fitted columns.

        Args:
            rng: draws the values of rows decoded to a rare class. (default: a generator
                seeded with ``0``)
        """
        rng = np.random.default_rng(0) if rng is None else rng
        n = len(x_num) if x_num.ndim == 2 and x_num.shape[1] else len(x_cat)
        out: dict[str, np.ndarray] = {}
        n_cat = len(self.cat_columns)
        j_num, j_flag = 0, n_cat
        for c in self.num_columns:
            if c.transformer is not None:
                z = np.asarray(x_num[:, j_num], dtype=np.float64).reshape(-1, 1)
                values = c.transformer.inverse_transform(z)[:, 0]
                j_num += 1
            else:
                values = np.full(n, np.nan)
            if c.has_nulls:
                values = np.where(x_cat[:, j_flag] == 1, np.nan, values)
                j_flag += 1
            out[c.name] = values
        for j, c in enumerate(self.cat_columns):
            codes = np.asarray(x_cat[:, j], dtype=np.int64)
            values = c.categories[codes]
            if c.rare_code >= 0:
                rare = codes == c.rare_code
                values[rare] = rng.choice(c.rare_values, int(rare.sum()), p=c.rare_p)
            if c.null_code >= 0:
                values[codes == c.null_code] = None
            out[c.name] = values
        # Explicit index: a table with no attribute columns (keys only) still has n rows.
        return pd.DataFrame({name: out[name] for name in self.columns}, index=pd.RangeIndex(n))


def known_masks(
    encoder: TableEncoder, known: pd.DataFrame, x_cat: np.ndarray, fill_nulls: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell masks of ``known`` (a boolean frame over the encoder's columns) in encoded layout.

    Returns ``(num_mask, cat_mask, x_cat)``. With ``fill_nulls`` the "is null" flag of every
    unknown numerical cell is fixed to "not null", so imputation fills it with a value.
    """
    n = len(known)
    num = [known[c.name].to_numpy(bool) for c in encoder.num_columns if c.transformer is not None]
    cat = [known[c.name].to_numpy(bool) for c in encoder.cat_columns]
    x_cat = x_cat.copy()
    j = len(encoder.cat_columns)
    for c in encoder.num_columns:
        if not c.has_nulls:
            continue
        k = known[c.name].to_numpy(bool)
        if fill_nulls:
            x_cat[~k, j] = 0
            k = np.ones(n, bool)
        cat.append(k)
        j += 1
    num_mask = np.stack(num, 1) if num else np.zeros((n, 0), bool)
    cat_mask = np.stack(cat, 1) if cat else np.zeros((n, 0), bool)
    return num_mask, cat_mask, x_cat


def encode_tables(schema, tables: dict[str, pd.DataFrame], categorical) -> tuple[dict, dict]:
    """Fit one :class:`TableEncoder` per table and encode its attribute columns.

    Args:
        schema: the :class:`~grdm_sdv.data.schema.RelationalSchema` (its FK columns are
            links, not attributes).
        tables: table -> processed DataFrame.
        categorical: ``categorical(table, attrs)`` -> the columns to treat as categories.

    Returns:
        ``(encoders, tensors)``: table -> encoder, and node type -> ``TableTensors``.
    """
    node = RelationalGraph.node_types(schema)
    encoders, tensors = {}, {}
    for t in schema.tables:
        df = tables[t]
        fk_cols = {fk.column for fk in schema.parents_of(t)}
        attrs = df[[c for c in df.columns if c not in fk_cols]]
        enc = TableEncoder(categorical(t, attrs)).fit(attrs)
        x_num, x_cat = enc.transform(attrs)
        encoders[t] = enc
        tensors[node[t]] = TableTensors(torch.from_numpy(x_num), torch.from_numpy(x_cat), enc.num_classes)
    return encoders, tensors
