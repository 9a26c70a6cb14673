"""The evaluation's metrics, one concept per module.

``cardinality`` (children per parent), ``pairs`` (column-pair dependence within a table and
k foreign-key hops apart), ``spread`` (standard deviations, sibling structure), ``detection``
(C2ST-Agg), ``privacy`` (distance to closest record), ``quality`` (SDMetrics' quality report).
The public functions are re-exported by ``grdm_sdv.evaluation``.
"""
