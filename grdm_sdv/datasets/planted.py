"""The planted database: four tables whose cross-table dependencies are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._metadata import rel

#: Planted dependencies of :func:`make_planted_database`: (hops, ancestor, descendant).
PLANTED_DEPENDENCIES = [
    (1, ('region', 'wealth'), ('customer', 'income')),
    (1, ('region', 'zone'), ('customer', 'tier')),
    (1, ('customer', 'income'), ('purchase', 'amount')),
    (1, ('product', 'quality'), ('purchase', 'amount')),
    (1, ('customer', 'tier'), ('purchase', 'channel')),
    (2, ('region', 'wealth'), ('purchase', 'amount')),
]


def _planted_metadata_dict() -> dict:
    num, ident, cat = {'sdtype': 'numerical'}, {'sdtype': 'id'}, {'sdtype': 'categorical'}

    return {
        'METADATA_SPEC_VERSION': 'V1',
        'tables': {
            'region': {'primary_key': 'region_id', 'columns': {
                'region_id': ident, 'wealth': num, 'zone': cat}},
            'customer': {'primary_key': 'customer_id', 'columns': {
                'customer_id': ident, 'region_id': ident, 'income': num, 'visits': num,
                'tier': cat}},
            'product': {'primary_key': 'product_id', 'columns': {
                'product_id': ident, 'quality': num, 'kind': cat}},
            'purchase': {'primary_key': 'purchase_id', 'columns': {
                'purchase_id': ident, 'customer_id': ident, 'product_id': ident,
                'amount': num, 'channel': cat}},
        },
        'relationships': [
            rel('region', 'region_id', 'customer', 'region_id'),
            rel('customer', 'customer_id', 'purchase', 'customer_id'),
            rel('product', 'product_id', 'purchase', 'product_id'),
        ],
    }


def make_planted_database(
    n_regions: int = 60, customers_per_region: float = 20.0, seed: int = 0
) -> tuple[dict[str, pd.DataFrame], object]:
    """A small database whose cross-table dependencies are known by construction.

    Made to diagnose a relational model (``benchmarks/planted.py``):

    * ``region`` (the hub parent): ``wealth`` ~ N(0, 1), ``zone`` uniform over 4 zones;
    * ``customer`` (Poisson(``customers_per_region``) children per region):
      ``income = 0.8 wealth + 0.6 noise`` (correlation 0.8), ``tier`` equal to the zone's own
      tier with probability 0.7, else uniform, and ``visits = u + noise`` where ``u`` is a
      per-region effect that no region column shows: siblings share it, so the children of
      one region move together (half the variance of ``visits`` lies between regions);
    * ``product`` (a root): ``quality`` ~ N(0, 1), ``kind`` over 3 kinds;
    * ``purchase``, a link table with two parents (customer, product; Poisson(3) per
      customer): ``amount = 0.6 income + 0.5 quality + 0.5 noise`` (so region wealth reaches
      it over two hops), ``channel`` depends on the customer's tier.

    See :data:`PLANTED_DEPENDENCIES`.
    """
    from sdv.metadata import Metadata

    if n_regions < 4:
        raise ValueError(f'n_regions must be at least 4, got {n_regions}.')
    rng = np.random.default_rng(seed)
    zones, tiers = np.array(['north', 'south', 'east', 'west']), np.array(['gold', 'silver', 'bronze'])
    wealth = rng.normal(0, 1, n_regions)
    zone = rng.integers(0, 4, n_regions)
    region = pd.DataFrame({'region_id': np.arange(n_regions), 'wealth': np.round(wealth, 4),
                           'zone': zones[zone]})
    effect = rng.normal(0, 1, n_regions)  # latent: shared by siblings, in no region column

    n_cust = rng.poisson(customers_per_region, n_regions)
    cr = np.repeat(np.arange(n_regions), n_cust)
    m = len(cr)
    income = 0.8 * wealth[cr] + 0.6 * rng.normal(0, 1, m)
    zone_tier = np.array([0, 1, 2, 0])[zone[cr]]
    tier = np.where(rng.random(m) < 0.7, zone_tier, rng.integers(0, 3, m))
    customer = pd.DataFrame({
        'customer_id': np.arange(m) + 1000, 'region_id': cr,
        'income': np.round(income, 4), 'visits': np.round(effect[cr] + rng.normal(0, 1, m), 4),
        'tier': tiers[tier],
    })

    n_prod = max(10, n_regions * 2)
    quality = rng.normal(0, 1, n_prod)
    product = pd.DataFrame({'product_id': np.arange(n_prod) + 50_000, 'quality': np.round(quality, 4),
                            'kind': rng.choice(['basic', 'plus', 'pro'], n_prod)})

    n_pur = rng.poisson(3.0, m)
    pc = np.repeat(np.arange(m), n_pur)
    pp = rng.integers(0, n_prod, len(pc))
    amount = 0.6 * income[pc] + 0.5 * quality[pp] + 0.5 * rng.normal(0, 1, len(pc))
    p_online = np.array([0.85, 0.5, 0.15])[tier[pc]]
    channel = np.where(rng.random(len(pc)) < p_online, 'online', 'store')
    purchase = pd.DataFrame({
        'purchase_id': np.arange(len(pc)), 'customer_id': customer['customer_id'].to_numpy()[pc],
        'product_id': product['product_id'].to_numpy()[pp], 'amount': np.round(amount, 4),
        'channel': channel,
    })
    tables = {'region': region, 'customer': customer, 'product': product, 'purchase': purchase}
    return tables, Metadata.load_from_dict(_planted_metadata_dict())
