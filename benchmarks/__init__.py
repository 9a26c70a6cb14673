"""Benchmarks of grdm-sdv; each module runs from the repository root as ``python -m benchmarks.<name>``.

* ``quality``: GRDM against HMA, a graph-blind GRDM, shuffled links and a real-data ceiling
  (``docs/benchmarks.md``);
* ``planted``: diagnosis on a database whose cross-table dependencies are known
  (``docs/fidelity.md``);
* ``speed``: fit and sample time and memory on F1-shaped databases of growing size
  (``docs/performance.md``);
* ``real_datasets``, ``schema_12_tables``, ``demo_dependencies``, ``sampling_steps``,
  ``imputation``, ``database_roundtrip``: single measurements quoted in the docs.

Shared pieces: ``_baselines`` (root splits and shuffled links), ``_fits`` (one fit shared by
variants that only sample differently), ``_versions`` (workers running an older
``grdm_sdv`` for ``--baseline``). Timing is :mod:`grdm_sdv.timing`. Raw results go to
``benchmarks/results/``.
"""
