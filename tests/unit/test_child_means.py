"""Children's means as parent inputs: training batches agree with the full-graph pass."""

import torch

from grdm_sdv.data.child_means import ChildMeans
from grdm_sdv.data.graph import RelationalGraph
from grdm_sdv.sampling.neighbors import NeighborSampler


def _graph(n_parent=5, n_child=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    # Uneven child counts (some parents with none), more than the fanout for others.
    link = torch.randint(0, n_parent - 1, (n_child,), generator=g)
    e = torch.stack([torch.arange(n_child), link])
    edges = {('c', 'fk0', 'p'): e, ('p', 'rev_fk0', 'c'): e.flip(0)}
    graph = RelationalGraph({'c': n_child, 'p': n_parent}, edges, {})
    x = {'c': torch.randn(n_child, 2, generator=g), 'p': torch.randn(n_parent, 1, generator=g)}
    return graph, x, link


def test_clean_batch_means_are_the_full_graph_means():
    """At time 0 (no noise) a batch parent's input is the mean over all its children,
    present in its subgraph or not, the same as the full-graph pass gives."""
    graph, x, link = _graph()
    exact = lambda t: (torch.ones_like(t), torch.zeros_like(t))  # noqa: E731
    means = ChildMeans(graph, {'c': 2, 'p': 1}, exact)
    assert means.widths() == {'p': 4}
    full = means.full(x, {'c': 0.0, 'p': 0.0})['p']
    for p in range(5):
        kids = link == p
        want = x['c'][kids].mean(0) if kids.any() else torch.zeros(2)
        assert torch.allclose(full[p, :2], want, atol=1e-6)
    sampler = NeighborSampler(graph.num_nodes, graph.edge_index, num_hops=2, fanout=3)
    gen = torch.Generator().manual_seed(1)
    batch = sampler.sample({'c': torch.arange(8), 'p': torch.arange(5)}, generator=gen)
    noisy = {k: x[k][batch.node_ids[k]] for k in x}
    got = means.batch(batch, noisy, x, lambda b, k: torch.zeros(len(b)), gen)['p']
    assert torch.allclose(got, full[batch.node_ids['p']], atol=1e-6)


def test_noisy_batch_means_hold_the_batch_rows_own_noise():
    """Noised, a batch parent's mean holds its batch children's own noisy rows (the seed's
    noise, as at sampling) and, for the children outside the batch, noise of the right size."""
    graph, x, link = _graph(n_parent=3, n_child=400, seed=2)
    share = lambda t: (torch.full_like(t, 0.6), torch.full_like(t, 0.8))  # noqa: E731
    means = ChildMeans(graph, {'c': 2, 'p': 1}, share)
    sampler = NeighborSampler(graph.num_nodes, graph.edge_index, num_hops=1, fanout=4)
    gen = torch.Generator().manual_seed(3)
    batch = sampler.sample({'c': torch.arange(2000) % 400}, generator=gen)
    noisy = {'c': 0.6 * x['c'][batch.node_ids['c']] + 0.8 * torch.randn(len(batch.node_ids['c']), 2,
                                                                          generator=gen),
             'p': torch.zeros(len(batch.node_ids['p']), 1)}
    got = means.batch(batch, noisy, x, lambda b, k: torch.full((len(b),), 0.5), gen)['p']
    ids = batch.node_ids['p']
    count = torch.bincount(link, minlength=3).float()[ids]
    clean = torch.stack([x['c'][link == p].mean(0) for p in range(3)])[ids]
    # One child of ~130 per parent row is in the batch (the seed): its own noise shows.
    seed_rows = torch.arange(2000)
    seed_parent = batch.edge_index[('p', 'rev_fk0', 'c')]
    own = torch.zeros(len(ids), 2).index_add_(0, seed_parent[0], noisy['c'][seed_parent[1]]
                                               - 0.6 * x['c'][batch.node_ids['c'][seed_parent[1]]])
    resid = got[:, :2] - 0.6 * clean - own / count[:, None]
    # The rest: 0.8 * sqrt(n - 1) / n standard deviations.
    z = resid / (0.8 * (count - 1).sqrt() / count)[:, None]
    assert abs(float(z.std()) - 1) < 0.08 and abs(float(z.mean())) < 0.08
    assert torch.allclose(got[:, 2], torch.full((len(ids),), 0.6))
    assert torch.allclose(got[:, 3], 0.8 / count.sqrt())
    assert len(seed_rows) == batch.num_seeds['c']


def test_children_are_given_their_parents_means_in_batches_as_in_the_full_pass():
    graph, x, link = _graph()
    exact = lambda t: (torch.ones_like(t), torch.zeros_like(t))  # noqa: E731
    means = ChildMeans(graph, {'c': 2, 'p': 1}, exact, to='children')
    assert means.widths() == {'c': 4}
    full = means.full(x, {'c': 0.0, 'p': 0.0})['c']
    for i in range(len(link)):
        assert torch.allclose(full[i, :2], x['c'][link == link[i]].mean(0), atol=1e-6)
    sampler = NeighborSampler(graph.num_nodes, graph.edge_index, num_hops=2, fanout=3)
    gen = torch.Generator().manual_seed(1)
    # Children whose parent is not in their subgraph (p seeds reach children at the last hop).
    batch = sampler.sample({'c': torch.arange(8), 'p': torch.arange(5)}, generator=gen)
    noisy = {k: x[k][batch.node_ids[k]] for k in x}
    got = means.batch(batch, noisy, x, lambda b, k: torch.zeros(len(b)), gen)['c']
    assert torch.allclose(got, full[batch.node_ids['c']], atol=1e-6)
