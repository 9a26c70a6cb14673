"""The demo database: five tables generated in code (no download), with planted dependencies.

It is small, has every column kind SDV knows how to model, a chain of four tables
(region -> customer -> order -> order_item), a table with two parents (``order_item`` ->
``order`` and ``product``), nulls, and *planted* dependencies that cross one and two
foreign-key hops, so that a model that ignores the graph scores visibly lower than one that
uses it:

* 1 hop:  ``customer.income`` follows ``region.wealth``;
  ``order.channel`` follows ``customer.segment``;
  ``order_item.quantity`` follows ``product.category``.
* 2 hops: ``order_item.discount`` follows ``customer.segment`` (through ``order``);
  ``order.total`` follows ``region.wealth`` (through ``customer``).
* structure: premium customers place more orders.

Each table is drawn by its own function from one generator, in a fixed order (region,
product, customer, order, order_item): the same seed gives the same database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Planted dependencies of the demo database: (hops, (table, column), (table, column)).
DEMO_DEPENDENCIES = [
    (1, ('region', 'wealth'), ('customer', 'income')),
    (1, ('customer', 'segment'), ('order', 'channel')),
    (1, ('product', 'category'), ('order_item', 'quantity')),
    (2, ('customer', 'segment'), ('order_item', 'discount')),
    (2, ('region', 'wealth'), ('order', 'total')),
]


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
    region = _regions(rng, max(4, n_customers // 60))
    product, product_cat = _products(rng, max(10, n_customers // 12))
    customer, segment, wealth, signup = _customers(rng, n_customers, region['wealth'].to_numpy())
    order, order_cust = _orders(rng, customer, segment, wealth, signup)
    order_item = _order_items(rng, order, segment[order_cust], product, product_cat)
    tables = {
        'region': region, 'customer': customer, 'product': product,
        'order': order, 'order_item': order_item,
    }
    metadata = Metadata.load_from_dict(_demo_metadata_dict())
    return tables, metadata


def _regions(rng: np.random.Generator, n_regions: int) -> pd.DataFrame:
    return pd.DataFrame({
        'region_id': np.arange(n_regions),
        'climate': rng.choice(['arid', 'temperate', 'tropical'], n_regions),
        'wealth': np.round(rng.normal(0, 1, n_regions), 3),
    })


def _products(rng: np.random.Generator, n_products: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The product table and each product's category."""
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
    return product, product_cat


def _customers(
    rng: np.random.Generator, n_customers: int, region_wealth: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """The customer table, and per customer its segment, region wealth and signup date."""
    n_regions = len(region_wealth)
    cust_region = rng.integers(0, n_regions, n_customers)
    wealth = region_wealth[cust_region]
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
    return customer, segment, wealth, signup


def _orders(
    rng: np.random.Generator, customer: pd.DataFrame, segment: np.ndarray, wealth: np.ndarray,
    signup: pd.DatetimeIndex,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The order table and the customer (row position) of each order."""
    n_customers = len(customer)
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
    return order, order_cust


def _order_items(
    rng: np.random.Generator, order: pd.DataFrame, seg_o: np.ndarray, product: pd.DataFrame,
    product_cat: np.ndarray,
) -> pd.DataFrame:
    """The order_item table; ``seg_o`` is the customer segment of each order."""
    n_ord, n_products = len(order), len(product)
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
    return pd.DataFrame({
        'item_id': np.arange(n_it) + 1,
        'order_id': order['order_id'].to_numpy()[item_order],
        'product_id': product['product_id'].to_numpy()[item_prod],
        'quantity': quantity,
        'discount': discount,
        'gift_wrap': gift,
    })
