"""Vectorized K-hop sampler against a brute-force neighbourhood."""

import pytest
import torch

from grdm_sdv.sampling.neighbors import NeighborSampler


def _graph():
    # parent p has children c: child i -> parent i % 3; 9 children.
    child = torch.arange(9)
    parent = child % 3
    fwd = torch.stack([child, parent])
    return {'c': 9, 'p': 3}, {('c', 'fk0', 'p'): fwd, ('p', 'rev_fk0', 'c'): fwd.flip(0)}


def test_one_hop_from_parent_takes_all_children_when_fanout_allows():
    num_nodes, ei = _graph()
    s = NeighborSampler(num_nodes, ei, num_hops=1, fanout=10)
    b = s.sample({'p': torch.tensor([0, 2])})
    assert b.num_seeds['p'] == 2 and b.node_ids['p'].tolist() == [0, 2]
    # children of 0: 0,3,6; of 2: 2,5,8 -- disjoint copies tagged by seed.
    got = sorted(zip(b.batch['c'].tolist(), b.node_ids['c'].tolist()))
    assert got == [(0, 0), (0, 3), (0, 6), (1, 2), (1, 5), (1, 8)]
    e = b.edge_index[('c', 'fk0', 'p')]
    assert e.shape[1] == 6
    # every edge joins a child to its true parent within the same subgraph
    src_glob = b.node_ids['c'][e[0]]
    dst_glob = b.node_ids['p'][e[1]]
    assert torch.equal(src_glob % 3, dst_glob)
    assert torch.equal(b.batch['c'][e[0]], b.batch['p'][e[1]])


def test_two_hops_reach_siblings_and_respect_fanout():
    num_nodes, ei = _graph()
    s = NeighborSampler(num_nodes, ei, num_hops=2, fanout=2)
    g = torch.Generator().manual_seed(0)
    b = s.sample({'c': torch.tensor([4])}, generator=g)
    assert b.node_ids['c'][0].item() == 4
    assert b.node_ids['p'].tolist() == [1]
    sib = set(b.node_ids['c'].tolist())
    assert sib <= {1, 4, 7} and len(sib) >= 2
    # fanout 2: at most 2 children reached from the parent
    assert b.edge_index[('c', 'fk0', 'p')].shape[1] <= 2


def test_seeds_of_the_same_node_get_separate_copies():
    num_nodes, ei = _graph()
    s = NeighborSampler(num_nodes, ei, num_hops=1, fanout=5)
    b = s.sample({'c': torch.tensor([1, 1])})
    assert b.node_ids['c'].tolist() == [1, 1]
    assert b.batch['p'].tolist() == [0, 1] and b.node_ids['p'].tolist() == [1, 1]


@pytest.mark.parametrize('hops,out_hops', [(2, 0), (3, 0), (3, 1)])
def test_trimmed_forward_matches_full_forward_on_seeds(hops, out_hops):
    """Layer trimming (only rows within K-1-l hops updated at layer l) changes nothing for
    seeds (and the rows within ``out_hops`` of them). With three hops a seed is met again at
    hop 2; it is not expanded again, so no row takes messages from rows trimmed away."""
    from grdm_sdv.nn.denoiser import HeteroDenoiser

    torch.manual_seed(0)
    n = {'p': 20, 'c': 200}
    child = torch.arange(200)
    parent = torch.randint(0, 20, (200,))
    fwd = torch.stack([child, parent])
    ei = {('c', 'fk0', 'p'): fwd, ('p', 'rev_fk0', 'c'): fwd.flip(0)}
    s = NeighborSampler(n, ei, num_hops=hops, fanout=4)
    b = s.sample({'c': torch.tensor([3, 7, 7]), 'p': torch.tensor([1])}, generator=torch.Generator().manual_seed(1))
    for t in n:  # rows are ordered by hop
        assert b.hop_ptr[t][1] == b.num_seeds[t] and b.hop_ptr[t][-1] == len(b.node_ids[t])
    model = HeteroDenoiser(['p', 'c'], list(ei), {'p': 1, 'c': 2}, {'p': [3], 'c': []}, {'p': 0, 'c': 0},
                           hidden=16, num_layers=hops).eval()
    args = (
        {'p': torch.randn(len(b.node_ids['p']), 1), 'c': torch.randn(len(b.node_ids['c']), 2)},
        {'p': torch.randint(0, 3, (len(b.node_ids['p']), 1)), 'c': torch.zeros(len(b.node_ids['c']), 0, dtype=torch.long)},
        {'p': torch.zeros(len(b.node_ids['p']), 0), 'c': torch.zeros(len(b.node_ids['c']), 0)},
        {'p': torch.rand(len(b.node_ids['p'])), 'c': torch.rand(len(b.node_ids['c']))},
        b.edge_index,
    )
    full = model(*args)
    trim = model(*args, hop_ptr=b.hop_ptr, out_hops=out_hops)
    for t in n:
        k = b.hop_ptr[t][out_hops + 1]
        assert trim[t][0].shape[0] == k
        assert torch.allclose(full[t][0][:k], trim[t][0], atol=1e-5)


@pytest.mark.parametrize('hops', [2, 3])
def test_every_expanded_row_hears_as_many_neighbours_as_at_sampling(hops):
    """Full-graph sampling gives every row ``min(degree, fanout)`` sources per edge type.
    In a training subgraph each row short of the last hop must get exactly as many, even a
    row drawn twice in one hop (children are drawn with replacement), which used to be
    expanded once per draw and heard ``2 x fanout`` of its own children."""
    torch.manual_seed(0)
    n = {'g': 4, 'p': 40, 'c': 400}
    p_of_c = torch.randint(0, 40, (400,))
    g_of_p = torch.arange(40) % 4
    fc = torch.stack([torch.arange(400), p_of_c])
    fp = torch.stack([torch.arange(40), g_of_p])
    ei = {('c', 'fk', 'p'): fc, ('p', 'rev_fk', 'c'): fc.flip(0),
          ('p', 'fk', 'g'): fp, ('g', 'rev_fk', 'p'): fp.flip(0)}
    fanout = 4
    s = NeighborSampler(n, ei, num_hops=hops, fanout=fanout)
    b = s.sample({'g': torch.tensor([0, 1, 2, 3]), 'c': torch.tensor([5, 9])},
                 generator=torch.Generator().manual_seed(2))
    drawn_twice = False
    for et, e in b.edge_index.items():
        src_t, _, dst_t = et
        glob_deg = torch.bincount(ei[et][1], minlength=n[dst_t])
        expanded = b.hop_ptr[dst_t][hops]  # rows first reached before the last hop
        got = torch.bincount(e[1], minlength=len(b.node_ids[dst_t]))
        want = glob_deg[b.node_ids[dst_t]].clamp(max=fanout)
        assert torch.equal(got[:expanded], want[:expanded]), et
        assert int(got[expanded:].sum()) == 0, et
        # the case this guards: one row's draws repeat a source within a subgraph
        pairs = torch.stack([e[1], b.node_ids[src_t][e[0]]])
        drawn_twice |= torch.unique(pairs, dim=1).shape[1] < pairs.shape[1]
    assert drawn_twice
