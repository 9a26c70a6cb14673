"""Datasets: a folder of CSVs + SDV ``metadata.json``, and databases generated in code.

* :func:`load_csv_folder` / :func:`save_csv_folder` (:mod:`.csv`): one ``<table>.csv`` per
  table and an SDV ``metadata.json``.
* :func:`make_demo_database` (:mod:`.demo`): five tables with every column kind SDV models
  and planted 1- and 2-hop dependencies (:data:`DEMO_DEPENDENCIES`); the ``grdm-sdv demo``
  database.
* :func:`make_relational_zoo` (:mod:`.zoo`): twelve tables with most schema shapes SDV
  metadata can describe.
* :func:`make_planted_database` (:mod:`.planted`): four tables whose cross-table
  dependencies are known by construction (:data:`PLANTED_DEPENDENCIES`).
* :func:`make_f1_shaped_database` (:mod:`.f1_shaped`): an F1-shaped database of any size,
  for speed measurements.

No generator downloads anything; each draws from one seeded generator, so the same
arguments give the same database.
"""

from ._deprecated import association, cross_table_association
from .csv import load_csv_folder, save_csv_folder
from .demo import DEMO_DEPENDENCIES, make_demo_database
from .f1_shaped import make_f1_shaped_database
from .planted import PLANTED_DEPENDENCIES, make_planted_database
from .zoo import ZOO_BIG_ID, ZOO_UUID_REGEX, make_relational_zoo

__all__ = [
    'load_csv_folder', 'save_csv_folder', 'make_demo_database', 'DEMO_DEPENDENCIES',
    'association', 'cross_table_association', 'make_relational_zoo',
    'make_planted_database', 'PLANTED_DEPENDENCIES', 'make_f1_shaped_database',
    'ZOO_BIG_ID', 'ZOO_UUID_REGEX',
]
