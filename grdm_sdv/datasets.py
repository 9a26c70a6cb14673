"""Datasets: load a folder of CSVs + SDV ``metadata.json``, and the built-in demo database.

The demo database is generated in code (no download). It is small, has every column kind
SDV knows how to model, a chain of four tables (region -> customer -> order -> order_item),
a table with two parents (``order_item`` -> ``order`` and ``product``), nulls, and *planted*
dependencies that cross one and two foreign-key hops, so that a model that ignores the graph
scores visibly lower than one that uses it:

* 1 hop:  ``customer.income`` follows ``region.wealth``;
  ``order.channel`` follows ``customer.segment``;
  ``order_item.quantity`` follows ``product.category``.
* 2 hops: ``order_item.discount`` follows ``customer.segment`` (through ``order``);
  ``order.total`` follows ``region.wealth`` (through ``customer``).
* structure: premium customers place more orders.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    'load_csv_folder', 'save_csv_folder', 'make_demo_database', 'DEMO_DEPENDENCIES',
    'association', 'cross_table_association',
]

#: Planted dependencies of the demo database: (hops, (table, column), (table, column)).
DEMO_DEPENDENCIES = [
    (1, ('region', 'wealth'), ('customer', 'income')),
    (1, ('customer', 'segment'), ('order', 'channel')),
    (1, ('product', 'category'), ('order_item', 'quantity')),
    (2, ('customer', 'segment'), ('order_item', 'discount')),
    (2, ('region', 'wealth'), ('order', 'total')),
]


def load_csv_folder(path: str | Path) -> tuple[dict[str, pd.DataFrame], object]:
    """Load ``<table>.csv`` files and ``metadata.json`` from a folder.

    Datetime columns with a ``datetime_format`` in the metadata are left as strings, as SDV
    expects; id columns are read as they are written.

    Args:
        path: folder holding one CSV per table and an SDV ``metadata.json``.

    Returns:
        ``(tables, metadata)``: a dict of DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    folder = Path(path)
    meta_path = folder / 'metadata.json'
    if not meta_path.exists():
        raise FileNotFoundError(f"No 'metadata.json' in {folder}: save one with metadata.save_to_json.")
    metadata = Metadata.load_from_json(str(meta_path))
    tables = {}
    for name in sorted(metadata.tables):
        csv = folder / f'{name}.csv'
        if not csv.exists():
            raise FileNotFoundError(f"Table '{name}' is in the metadata but {csv} does not exist.")
        tables[name] = pd.read_csv(csv, low_memory=False)
    return tables, metadata


def save_csv_folder(tables: dict[str, pd.DataFrame], metadata, path: str | Path) -> Path:
    """Write ``<table>.csv`` per table and ``metadata.json`` into ``path`` (created if needed)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f'{name}.csv', index=False)
    with open(folder / 'metadata.json', 'w') as fh:
        json.dump(metadata.to_dict(), fh, indent=2)
    return folder


def _demo_metadata_dict() -> dict:
    num = {'sdtype': 'numerical'}
    return {
        'METADATA_SPEC_VERSION': 'V1',
        'tables': {
            'region': {
                'primary_key': 'region_id',
                'columns': {
                    'region_id': {'sdtype': 'id'},
                    'climate': {'sdtype': 'categorical'},
                    'wealth': {**num, 'computer_representation': 'Float'},
                },
            },
            'customer': {
                'primary_key': 'customer_id',
                'columns': {
                    'customer_id': {'sdtype': 'id', 'regex_format': 'C[0-9]{6}'},
                    'region_id': {'sdtype': 'id'},
                    'segment': {'sdtype': 'categorical'},
                    'age': {**num, 'computer_representation': 'Int64'},
                    'income': {**num, 'computer_representation': 'Float'},
                    'signup_date': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
                    'is_member': {'sdtype': 'boolean'},
                },
            },
            'product': {
                'primary_key': 'product_id',
                'columns': {
                    'product_id': {'sdtype': 'id'},
                    'category': {'sdtype': 'categorical'},
                    'price': {**num, 'computer_representation': 'Float'},
                },
            },
            'order': {
                'primary_key': 'order_id',
                'columns': {
                    'order_id': {'sdtype': 'id'},
                    'customer_id': {'sdtype': 'id', 'regex_format': 'C[0-9]{6}'},
                    'channel': {'sdtype': 'categorical'},
                    'total': {**num, 'computer_representation': 'Float'},
                    'order_date': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
                },
            },
            'order_item': {
                'primary_key': 'item_id',
                'columns': {
                    'item_id': {'sdtype': 'id'},
                    'order_id': {'sdtype': 'id'},
                    'product_id': {'sdtype': 'id'},
                    'quantity': {**num, 'computer_representation': 'Int64'},
                    'discount': {**num, 'computer_representation': 'Float'},
                    'gift_wrap': {'sdtype': 'boolean'},
                },
            },
        },
        'relationships': [
            {'parent_table_name': 'region', 'parent_primary_key': 'region_id',
             'child_table_name': 'customer', 'child_foreign_key': 'region_id'},
            {'parent_table_name': 'customer', 'parent_primary_key': 'customer_id',
             'child_table_name': 'order', 'child_foreign_key': 'customer_id'},
            {'parent_table_name': 'order', 'parent_primary_key': 'order_id',
             'child_table_name': 'order_item', 'child_foreign_key': 'order_id'},
            {'parent_table_name': 'product', 'parent_primary_key': 'product_id',
             'child_table_name': 'order_item', 'child_foreign_key': 'product_id'},
        ],
    }


def make_demo_database(
    n_customers: int = 600, seed: int = 0
) -> tuple[dict[str, pd.DataFrame], object]:
    """Generate the demo database (see the module docstring for its planted dependencies).

    Args:
        n_customers: number of customers; the other tables scale with it
            (about 3 orders per customer and 2.5 items per order). (default: ``600``)
        seed: seed of the generator; the same seed gives the same database. (default: ``0``)

    Returns:
        ``(tables, metadata)``: a dict of five DataFrames and an ``sdv.metadata.Metadata``.
    """
    from sdv.metadata import Metadata

    if n_customers < 10:
        raise ValueError(f'n_customers must be at least 10, got {n_customers}.')
    rng = np.random.default_rng(seed)

    n_regions = max(4, n_customers // 60)
    region = pd.DataFrame({
        'region_id': np.arange(n_regions),
        'climate': rng.choice(['arid', 'temperate', 'tropical'], n_regions),
        'wealth': np.round(rng.normal(0, 1, n_regions), 3),
    })

    n_products = max(10, n_customers // 12)
    categories = np.array(['books', 'electronics', 'garden', 'toys'])
    product_cat = rng.choice(categories, n_products, p=[0.35, 0.2, 0.25, 0.2])
    base_price = {'books': 15, 'electronics': 300, 'garden': 40, 'toys': 25}
    product = pd.DataFrame({
        'product_id': np.arange(1000, 1000 + n_products),
        'category': product_cat,
        'price': np.round(
            np.array([base_price[c] for c in product_cat]) * rng.lognormal(0, 0.3, n_products), 2
        ),
    })

    cust_region = rng.integers(0, n_regions, n_customers)
    wealth = region['wealth'].to_numpy()[cust_region]
    # 1 hop: segment leans premium in wealthy regions; income follows region wealth.
    p_premium = 1 / (1 + np.exp(-(1.5 * wealth - 0.5)))
    segment = np.where(rng.random(n_customers) < p_premium, 'premium', 'standard')
    segment = np.where(rng.random(n_customers) < 0.15, 'business', segment)
    income = np.round(np.exp(10.5 + 0.45 * wealth + rng.normal(0, 0.25, n_customers)), 0)
    age = np.clip(np.round(rng.normal(42, 12, n_customers)), 18, 90).astype(int)
    signup = pd.Timestamp('2018-01-01') + pd.to_timedelta(rng.integers(0, 5 * 365, n_customers), 'D')
    is_member = pd.Series(rng.random(n_customers) < np.where(segment == 'premium', 0.8, 0.3), dtype=object)
    is_member[rng.random(n_customers) < 0.1] = np.nan  # some nulls
    customer = pd.DataFrame({
        'customer_id': [f'C{i:06d}' for i in rng.permutation(n_customers)],
        'region_id': cust_region,
        'segment': segment,
        'age': age,
        'income': income,
        'signup_date': signup.strftime('%Y-%m-%d'),
        'is_member': is_member,
    })
    customer.loc[rng.random(n_customers) < 0.05, 'age'] = np.nan
    customer['age'] = customer['age'].astype('Int64')

    # Structure: premium customers order more; some customers never order.
    lam = np.where(segment == 'premium', 4.5, np.where(segment == 'business', 3.0, 1.8))
    n_orders = rng.poisson(lam)
    order_cust = np.repeat(np.arange(n_customers), n_orders)
    n_ord = len(order_cust)
    seg_o = segment[order_cust]
    # 1 hop: channel follows the customer's segment.
    p_online = np.where(seg_o == 'premium', 0.8, np.where(seg_o == 'business', 0.15, 0.45))
    u = rng.random(n_ord)
    channel = np.where(u < p_online, 'online', np.where(u < p_online + 0.5 * (1 - p_online), 'store', 'phone'))
    # 2 hops: order total follows the region's wealth.
    total = np.round(np.exp(4 + 0.6 * wealth[order_cust] + rng.normal(0, 0.35, n_ord)), 2)
    signup_o = signup.to_numpy()[order_cust]
    order_date = pd.to_datetime(signup_o) + pd.to_timedelta(rng.integers(0, 700, n_ord), 'D')
    order = pd.DataFrame({
        'order_id': np.arange(n_ord) + 1,
        'customer_id': customer['customer_id'].to_numpy()[order_cust],
        'channel': channel,
        'total': total,
        'order_date': order_date.strftime('%Y-%m-%d'),
    })

    n_items = 1 + rng.poisson(1.5, n_ord)
    item_order = np.repeat(np.arange(n_ord), n_items)
    n_it = len(item_order)
    # Popular products are picked more often (skewed parent degrees).
    pop = rng.pareto(1.5, n_products) + 0.1
    item_prod = rng.choice(n_products, n_it, p=pop / pop.sum())
    cat_i = product_cat[item_prod]
    # 1 hop: quantity depends on the product's category.
    q_lam = np.select([cat_i == 'books', cat_i == 'toys', cat_i == 'garden'], [2.5, 1.8, 3.5], 0.2)
    quantity = 1 + rng.poisson(q_lam)
    # 2 hops: discount depends on the customer's segment (item -> order -> customer).
    seg_i = seg_o[item_order]
    disc_mu = np.where(seg_i == 'business', 0.25, np.where(seg_i == 'premium', 0.12, 0.03))
    discount = np.clip(np.round(disc_mu + rng.normal(0, 0.03, n_it), 3), 0, 0.6)
    discount[rng.random(n_it) < 0.08] = np.nan
    gift = rng.random(n_it) < np.where(cat_i == 'toys', 0.6, 0.1)
    order_item = pd.DataFrame({
        'item_id': np.arange(n_it) + 1,
        'order_id': order['order_id'].to_numpy()[item_order],
        'product_id': product['product_id'].to_numpy()[item_prod],
        'quantity': quantity,
        'discount': discount,
        'gift_wrap': gift,
    })

    tables = {
        'region': region, 'customer': customer, 'product': product,
        'order': order, 'order_item': order_item,
    }
    metadata = Metadata.load_from_dict(_demo_metadata_dict())
    return tables, metadata


def _path_up(relationships: list[dict], child: str, ancestor: str) -> list[dict]:
    """FK relationships leading from ``child`` up to ``ancestor`` (breadth-first, sorted)."""
    frontier = [(child, [])]
    seen = {child}
    while frontier:
        nxt = []
        for table, path in frontier:
            if table == ancestor:
                return path
            rels = sorted((r for r in relationships if r['child_table_name'] == table),
                          key=lambda r: (r['parent_table_name'], r['child_foreign_key']))
            for r in rels:
                if r['parent_table_name'] not in seen:
                    seen.add(r['parent_table_name'])
                    nxt.append((r['parent_table_name'], path + [r]))
        frontier = nxt
    raise ValueError(f"Table '{ancestor}' is not an ancestor of '{child}'.")


def association(x: pd.Series, y: pd.Series) -> float:
    """Strength of dependence in ``[0, 1]`` between two columns of any kind.

    Numeric-numeric: ``|Spearman rho|``; categorical-categorical: Cramer's V;
    categorical-numeric: the correlation ratio (eta). Rows with a null in either are dropped.
    """
    ok = x.notna().to_numpy() & y.notna().to_numpy()
    x, y = x[ok].reset_index(drop=True), y[ok].reset_index(drop=True)
    if len(x) < 3:
        return float('nan')
    x_num = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    y_num = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if x_num and y_num:
        r = x.rank().corr(y.rank())
        return float(abs(r)) if np.isfinite(r) else 0.0
    if not x_num and not y_num:
        table = pd.crosstab(x.astype(str), y.astype(str)).to_numpy().astype(float)
        if min(table.shape) < 2:
            return 0.0
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        chi2 = ((table - expected) ** 2 / expected).sum()
        return float(np.sqrt(chi2 / table.sum() / (min(table.shape) - 1)))
    cat, num = (x, y) if y_num else (y, x)
    num = num.astype(float)
    groups = num.groupby(cat.astype(str))
    between = (groups.count() * (groups.mean() - num.mean()) ** 2).sum()
    total = ((num - num.mean()) ** 2).sum()
    return float(np.sqrt(between / total)) if total > 0 else 0.0


def cross_table_association(
    tables: dict[str, pd.DataFrame], metadata, ancestor: tuple[str, str], descendant: tuple[str, str]
) -> float:
    """:func:`association` between an ancestor's column and a descendant's column.

    Each descendant row is joined to its ancestor row along the foreign keys.
    """
    meta = metadata.to_dict() if hasattr(metadata, 'to_dict') else metadata
    (ta, ca), (td, cd) = ancestor, descendant
    path = _path_up(meta['relationships'], td, ta)
    keys = tables[td][path[0]['child_foreign_key']] if path else None
    for i, rel in enumerate(path):
        parent = tables[rel['parent_table_name']].set_index(rel['parent_primary_key'])
        nxt = path[i + 1]['child_foreign_key'] if i + 1 < len(path) else ca
        keys = pd.Series(parent[nxt].reindex(keys.to_numpy()).to_numpy())
    values = keys if path else tables[ta][ca]
    return association(values, tables[td][cd].reset_index(drop=True))
