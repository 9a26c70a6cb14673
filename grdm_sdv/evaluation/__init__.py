"""Evaluation of synthetic relational databases.

Everything here compares a real database with a synthetic one, both given as
``dict[str, pandas.DataFrame]`` with an ``sdv.metadata.Metadata`` (or its ``to_dict()``
form). It needs no fitted model: from the rest of ``grdm_sdv`` it uses only
``data.schema`` to read the relationships.

Metrics
-------
* :func:`quality_report`: SDMetrics' unified ``QualityReport`` (Column Shapes, Column Pair
  Trends, Cardinality, Intertable Trends).
* :func:`cardinality_scores`: per foreign key, ``1 - KS`` between the real and synthetic
  children-per-parent distributions (parents with no children included).
* :func:`k_hop_trends`: column-pair trends between tables ``k`` foreign-key hops apart
  (the GRDM/ClavaDDPM long-range dependency metric), with an optional strong-pair filter.
* :func:`co_parent_trends`: the same pair scores between the two parents of one child row
  (a driver's nationality against his teams'), which no chain of keys joins.
* :func:`detection_c2st_agg`: C2ST-Agg (SyntheRela), a classifier two-sample test on rows
  augmented with aggregates of their children.
* :func:`privacy_dcr`: distance to closest record, synthetic and holdout against train.
* :func:`column_spread`: each numerical column's standard deviation, synthetic / real.
* :func:`sibling_structure`: per parent-child relationship and numerical child column, the
  spread of the children of one parent and how much their mean moves from parent to parent.
* :func:`evaluate`: all of the above, gathered in an :class:`EvaluationResult`.

Plots (:func:`plot_hops`, :func:`plot_column_distributions`,
:func:`plot_correlation_difference`) and :func:`write_html_report` draw with matplotlib
``Figure`` objects rendered by the Agg canvas; pyplot and the global backend are never
touched.

Every walk over tables, relationships and paths is in sorted order, and every random draw
comes from a ``numpy.random.Generator`` seeded by the caller, so results repeat exactly.

Modules: ``_tables`` (metadata walking and column preparation), ``metrics/`` (``cardinality``,
``pairs``, ``spread``, ``detection``, ``privacy``, ``quality``), ``result`` (:func:`evaluate`),
``plots`` and ``report``.
"""

# ``_ks_statistic`` is private; it stays importable here because benchmarks/planted.py uses it.
from .metrics.cardinality import _ks_statistic, cardinality_scores  # noqa: F401
from .metrics.detection import detection_c2st_agg
from .metrics.pairs import (
    co_parent_trends,
    cross_table_dependence,
    k_hop_trends,
    pair_strength,
    summarize_co_parent,
    summarize_k_hop,
)
from .metrics.privacy import privacy_dcr
from .metrics.quality import quality_report
from .metrics.spread import column_spread, sibling_structure
from .plots import plot_column_distributions, plot_correlation_difference, plot_hops
from .report import write_html_report
from .result import EvaluationResult, evaluate

__all__ = [
    'EvaluationResult',
    'cardinality_scores',
    'co_parent_trends',
    'column_spread',
    'cross_table_dependence',
    'detection_c2st_agg',
    'evaluate',
    'k_hop_trends',
    'pair_strength',
    'plot_column_distributions',
    'plot_correlation_difference',
    'plot_hops',
    'privacy_dcr',
    'quality_report',
    'sibling_structure',
    'summarize_co_parent',
    'summarize_k_hop',
    'write_html_report',
]
