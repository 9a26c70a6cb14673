"""From SDV tables to the model's graph: the schema walker, column encoding, graph tensors.

``schema`` (the one walker over tables and foreign keys, also used by the evaluation and the
benchmarks), ``encoding`` (columns -> numbers and tokens), ``graph`` (rows and links -> the
heterogeneous graph), ``summaries`` (per-parent child summaries), ``tensors`` (what the
model sees of a table). Nothing here imports SDV.
"""
