"""Encoding, schema, diffusion scheduler and denoiser in isolation."""

import numpy as np
import pandas as pd
import pytest
import torch

from grdm_sdv.nn.denoiser import HeteroDenoiser
from grdm_sdv.diffusion import MixedDiffusion
from grdm_sdv.data.encoding import TableEncoder
from grdm_sdv.data.schema import RelationalSchema


def test_encoder_round_trip_with_nulls_and_categories():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        'x': rng.lognormal(0, 1, 500),
        'k': rng.choice(['a', 'b', None], 500),
        'flag': rng.choice([True, False], 500),
        'y': np.where(rng.random(500) < 0.2, np.nan, rng.normal(size=500)),
    })
    enc = TableEncoder(['k', 'flag']).fit(df)
    x_num, x_cat = enc.transform(df)
    assert x_num.shape == (500, 2) and x_cat.shape == (500, 3)
    assert enc.num_classes == [3, 2, 2]
    assert abs(x_num[:, 0].mean()) < 0.1 and abs(x_num[:, 0].std() - 1) < 0.15
    back = enc.inverse(x_num, x_cat)
    assert list(back.columns) == list(df.columns)
    assert np.allclose(back['x'], df['x'], rtol=1e-3)
    assert back['y'].isna().equals(df['y'].isna())
    assert (back['k'].fillna('NA') == df['k'].fillna('NA')).all()
    assert (back['flag'] == df['flag']).all()
    # One vector per row for linear models: the numbers, an indicator per class of each
    # categorical column, one column per null flag.
    feats = enc.features(x_num, x_cat)
    assert feats.shape == (500, 2 + 3 + 2 + 1) and feats.dtype == np.float32
    assert np.array_equal(feats[:, 2:5].sum(1), np.ones(500))
    assert np.array_equal(feats[:, -1], np.isnan(df['y'].to_numpy()).astype(np.float32))


def test_schema_topological_order_and_depth():
    meta = {'tables': {'c': {}, 'b': {}, 'a': {}, 'lonely': {}},
            'relationships': [
                {'parent_table_name': 'a', 'parent_primary_key': 'id', 'child_table_name': 'b', 'child_foreign_key': 'a_id'},
                {'parent_table_name': 'b', 'parent_primary_key': 'id', 'child_table_name': 'c', 'child_foreign_key': 'b_id'}]}
    s = RelationalSchema.from_metadata_dict(meta)
    assert s.tables.index('a') < s.tables.index('b') < s.tables.index('c')
    assert s.depth() == 3 and set(s.roots()) == {'a', 'lonely'}


def test_schema_levels_from_the_top_and_as_late_as_the_children_allow():
    """F1's shape: a driver is a parent of results only (two levels down, under the races)."""
    rel = [('circuit', 'race'), ('race', 'result'), ('driver', 'result'), ('race', 'lap'),
           ('circuit', 'note'), ('circuit', 'result')]
    meta = {'tables': {t: {} for t in ('circuit', 'race', 'driver', 'result', 'lap', 'note', 'lonely')},
            'relationships': [{'parent_table_name': p, 'parent_primary_key': 'id', 'child_table_name': c,
                               'child_foreign_key': f'{p}_id'} for p, c in rel]}
    s = RelationalSchema.from_metadata_dict(meta)
    top = {'circuit': 0, 'driver': 0, 'lonely': 0, 'race': 1, 'note': 1, 'result': 2, 'lap': 2}
    assert s.levels() == top
    # The driver moves down next to the races, its children's other parent; the circuit stays
    # one level above its nearest children (its races and notes, not its results two levels
    # down: min, not max); tables without children keep their level.
    assert s.levels(latest=True) == {**top, 'driver': 1}


def test_scheduler_noise_levels_and_final_step():
    d = MixedDiffusion(100)
    t = torch.tensor([0.01, 0.5, 1.0])
    ab = d.alpha_bar(t)
    assert ab[0] > 0.99 and ab[2] < 1e-3 and ab[1] > ab[2]
    grid = d.set_timesteps(10)
    assert grid[0] == 1.0 and grid[-1] == 0.0 and len(grid) == 11 and (grid[:-1] > grid[1:]).all()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(2000, 2, generator=g)
    cat = torch.randint(0, 3, (2000, 1), generator=g)
    xt, ct, eps, masked = d.add_noise(x0, cat, [3], torch.full((2000,), 0.5), g)
    assert abs(masked.float().mean().item() - 0.5) < 0.05
    assert (ct[masked] == 3).all() and (ct[~masked] == cat[~masked]).all()
    # With the true noise, the last step (s=0) recovers x0 and reveals every token.
    logits = [torch.nn.functional.one_hot(cat[:, 0], 3).float() * 50]
    x_s, c_s = d.step(eps, logits, 0.5, 0.0, xt, ct, [3], generator=g)
    assert torch.allclose(x_s, x0.clamp(-5, 5), atol=1e-4)
    assert torch.equal(c_s, cat)


def test_denoiser_shapes_with_isolated_and_key_only_tables():
    node_types = ['t0', 't1', 't2', 't3']  # t2 isolated, t3 keys only
    edge_types = [('t1', 'fk0', 't0'), ('t0', 'rev_fk0', 't1')]
    d_num = {'t0': 2, 't1': 1, 't2': 3, 't3': 0}
    ncls = {'t0': [4], 't1': [], 't2': [2, 5], 't3': []}
    model = HeteroDenoiser(node_types, edge_types, d_num, ncls, {'t0': 1, 't1': 0, 't2': 0, 't3': 0},
                           hidden=16, num_layers=2)
    n = {'t0': 3, 't1': 6, 't2': 4, 't3': 2}
    out = model(
        {k: torch.randn(v, d_num[k]) for k, v in n.items()},
        {k: torch.zeros(v, len(ncls[k]), dtype=torch.long) for k, v in n.items()},
        {'t0': torch.ones(3, 1), 't1': torch.zeros(6, 0), 't2': torch.zeros(4, 0), 't3': torch.zeros(2, 0)},
        {k: torch.rand(v) for k, v in n.items()},
        {('t1', 'fk0', 't0'): torch.tensor([[0, 1, 2, 3, 4, 5], [0, 0, 1, 1, 2, 2]]),
         ('t0', 'rev_fk0', 't1'): torch.tensor([[0, 0, 1, 1, 2, 2], [0, 1, 2, 3, 4, 5]])},
    )
    assert out['t0'][0].shape == (3, 2) and [x.shape for x in out['t0'][1]] == [(3, 4)]
    assert [x.shape for x in out['t2'][1]] == [(4, 2), (4, 5)]
    assert out['t3'][0].shape == (2, 0) and out['t3'][1] == []
    assert 'HeteroDenoiser' in repr(model)


def test_message_passing_carries_parent_information():
    """A 1-layer model's child output changes when only the parent's input changes."""
    torch.manual_seed(0)
    model = HeteroDenoiser(['p', 'c'], [('c', 'fk', 'p'), ('p', 'rev_fk', 'c')],
                           {'p': 1, 'c': 1}, {'p': [], 'c': []}, {'p': 0, 'c': 0}, hidden=8, num_layers=1)
    ei = {('c', 'fk', 'p'): torch.tensor([[0], [0]]), ('p', 'rev_fk', 'c'): torch.tensor([[0], [0]])}
    args = lambda xp: ({'p': xp, 'c': torch.zeros(1, 1)}, {'p': torch.zeros(1, 0, dtype=torch.long), 'c': torch.zeros(1, 0, dtype=torch.long)},
                       {'p': torch.zeros(1, 0), 'c': torch.zeros(1, 0)}, {'p': torch.ones(1), 'c': torch.ones(1)}, ei)
    a = model(*args(torch.zeros(1, 1)))['c'][0]
    b = model(*args(torch.ones(1, 1)))['c'][0]
    assert not torch.allclose(a, b)
    blind = HeteroDenoiser(['p', 'c'], [('c', 'fk', 'p'), ('p', 'rev_fk', 'c')],
                           {'p': 1, 'c': 1}, {'p': [], 'c': []}, {'p': 0, 'c': 0}, hidden=8, num_layers=0)
    assert torch.allclose(blind(*args(torch.zeros(1, 1)))['c'][0], blind(*args(torch.ones(1, 1)))['c'][0])


def test_hetero_layer_aggregation_matches_pyg_sageconv():
    """The layer's message/aggregate equals PyG's SAGEConv (no root weight), both ways of projecting."""
    from torch_geometric.nn import SAGEConv

    from grdm_sdv.nn.hetero import HeteroSAGELayer
    from grdm_sdv.sampling.csr import csr_by_destination

    torch.manual_seed(0)
    et = ('s', 'r', 'd')
    layer = HeteroSAGELayer(['s', 'd'], [et], 8)
    conv = SAGEConv((8, 8), 8, aggr='mean', root_weight=False)
    conv.lin_l.weight.data.copy_(layer.lin['s__r__d'].weight)
    conv.lin_l.bias.data.copy_(layer.lin['s__r__d'].bias)
    for n_src, n_dst in [(5, 40), (40, 5)]:
        x_src, x_dst = torch.randn(n_src, 8), torch.randn(n_dst, 8)
        # Repeated edges count twice, as in PyG.
        e = torch.stack([torch.randint(0, n_src, (60,)), torch.randint(0, n_dst - 1, (60,))])
        rowptr, src = csr_by_destination(e, n_dst)
        for projected in (False, True):
            x = torch.nn.functional.linear(x_src, layer.lin['s__r__d'].weight) if projected else x_src
            out = layer.aggregate(et, layer.message(et, x, src), rowptr.diff(), projected)
            assert torch.allclose(conv((x_src, x_dst), e), out, atol=1e-5)


@pytest.mark.parametrize('chunk', [3, 7, 1000])
def test_chunked_full_graph_pass_matches_forward(chunk):
    """``propagate`` + ``head`` (sampling's row-chunked pass) is ``forward`` on the full graph."""
    from grdm_sdv.sampling.csr import csr_by_destination as _csr_by_destination
    from grdm_sdv.sampling.csr import CappedNeighbours

    torch.manual_seed(0)
    node_types = ['t0', 't1', 't2', 't3']  # t1 has two parents; t3 is isolated
    edge_types = [('t1', 'fk0', 't0'), ('t0', 'rev_fk0', 't1'), ('t1', 'fk1', 't2'), ('t2', 'rev_fk1', 't1')]
    n = {'t0': 5, 't1': 40, 't2': 9, 't3': 4}
    d_num = {'t0': 2, 't1': 1, 't2': 0, 't3': 3}
    ncls = {'t0': [4], 't1': [3, 6], 't2': [5], 't3': []}
    model = HeteroDenoiser(node_types, edge_types, d_num, ncls, {'t0': 1, 't1': 0, 't2': 0, 't3': 0},
                           hidden=16, num_layers=2).eval()
    p0, p1 = torch.randint(0, 5, (40,)), torch.randint(0, 8, (40,))  # t2 row 8: no children
    c = torch.arange(40)
    ei = {edge_types[0]: torch.stack([c, p0]), edge_types[1]: torch.stack([p0, c]),
          edge_types[2]: torch.stack([c, p1]), edge_types[3]: torch.stack([p1, c])}
    x_num = {k: torch.randn(v, d_num[k]) for k, v in n.items()}
    x_cat = {k: torch.stack([torch.randint(0, m + 1, (v,)) for m in ncls[k]], 1) if ncls[k]
             else torch.zeros(v, 0, dtype=torch.long) for k, v in n.items()}
    struct = {'t0': torch.randn(5, 1), 't1': torch.zeros(40, 0), 't2': torch.zeros(9, 0), 't3': torch.zeros(4, 0)}
    with torch.no_grad():
        full = model(x_num, x_cat, struct, {k: torch.full((v,), 0.3) for k, v in n.items()}, ei)
        csr = {et: _csr_by_destination(e, n[et[2]]) for et, e in ei.items()}
        h, t_emb = model.propagate(x_num, x_cat, struct, 0.3, csr, chunk_size=chunk)
        for k in node_types:
            eps, logits_of = model.head(k, h[k], t_emb)
            assert torch.allclose(eps, full[k][0], atol=1e-5)
            for j, lg in enumerate(full[k][1]):
                rows = torch.tensor([0, 2, 3])
                assert torch.allclose(logits_of(j, rows), lg[rows], atol=1e-5)
        # Asking for some tables only (the ones a sampling step moves) skips the rest and
        # leaves theirs as they were; without messages each table is computed alone.
        times = {'t0': 0.3, 't1': 0.0, 't2': 0.8, 't3': 0.5}
        h_all, _ = model.propagate(x_num, x_cat, struct, times, csr, chunk_size=chunk)
        alone_all, _ = model.propagate(x_num, x_cat, struct, times, {}, chunk_size=chunk)
        for tables in (['t0'], ['t2', 't3'], ['t1']):
            h_some, _ = model.propagate(x_num, x_cat, struct, times, csr, chunk_size=chunk, tables=tables)
            alone, _ = model.propagate(x_num, x_cat, struct, times, {}, chunk_size=chunk, tables=tables)
            assert set(h_some) == set(alone) == set(tables)
            for k in tables:
                assert torch.equal(h_some[k], h_all[k]) and torch.equal(alone[k], alone_all[k])
        assert model.propagate(x_num, x_cat, struct, times, csr, chunk_size=chunk, tables=[])[0] == {}
    # The sampling-time cap keeps every edge of small rows and `fanout` draws of big ones.
    rowptr, src = csr[edge_types[0]]
    g = torch.Generator().manual_seed(0)
    new_ptr, new_src = CappedNeighbours(rowptr, src, 3).draw(g)
    deg, new_deg = rowptr.diff(), new_ptr.diff()
    assert torch.equal(new_deg, deg.clamp(max=3))
    for i in range(5):
        kept = set(new_src[new_ptr[i]:new_ptr[i + 1]].tolist())
        assert kept <= set(src[rowptr[i]:rowptr[i + 1]].tolist())


@pytest.mark.skipif(__import__('shutil').which('cc') is None and __import__('shutil').which('gcc') is None,
                    reason='torch.compile (inductor) needs a C compiler on CPU')
def test_compiled_blocks_match_eager_and_leave_the_model_picklable():
    import pickle

    from grdm_sdv.nn.layers import FeedForward, compiled_blocks

    torch.manual_seed(0)
    block = FeedForward(16)
    x = torch.randn(37, 16, requires_grad=True)
    eager = block(x)
    with compiled_blocks(True) as compiled:
        out = block(x, compiled)
        out.sum().backward()  # training goes through the compiled kernel too
        other = torch.randn(5, 16)  # another row count: dynamic shapes, no recompile error
        assert torch.allclose(block(other, compiled), block.net(other), atol=1e-5)
    assert torch.allclose(out, eager, atol=1e-5) and x.grad is not None
    assert torch.allclose(block(x), block.net(x), atol=1e-6)  # eager again outside the context
    pickle.loads(pickle.dumps(block))


def test_generate_holds_wholly_known_tables_clean_at_time_zero():
    from grdm_sdv.data.graph import RelationalGraph
    from grdm_sdv.data.tensors import KnownCells
    from grdm_sdv.pipeline import generate

    torch.manual_seed(0)
    nt = ['t0', 't1']
    ets = [('t1', 'fk0', 't0'), ('t0', 'rev_fk0', 't1')]
    model = HeteroDenoiser(nt, ets, {'t0': 2, 't1': 1}, {'t0': [3], 't1': []}, {'t0': 1, 't1': 0},
                           hidden=8, num_layers=1)
    c = torch.arange(6)
    p = c % 3
    graph = RelationalGraph({'t0': 3, 't1': 6}, {ets[0]: torch.stack([c, p]), ets[1]: torch.stack([p, c])},
                            {'t0': torch.ones(3, 1), 't1': torch.zeros(6, 0)})
    known = {'t0': KnownCells(torch.randn(3, 2), torch.ones(3, 2, dtype=torch.bool),
                              torch.tensor([[0], [2], [1]]), torch.ones(3, 1, dtype=torch.bool))}
    seen = []
    real_propagate = model.propagate

    def spy(x_num, x_cat, struct, t, csr, chunk_size, compiled=None, tables=None):
        seen.append((dict(t), x_num['t0'].clone()))
        return real_propagate(x_num, x_cat, struct, t, csr, chunk_size, compiled, tables=tables)

    model.propagate = spy
    out = generate(model, MixedDiffusion(num_timesteps=100), graph, {'t0': 2, 't1': 1},
                   {'t0': [3], 't1': []}, 5, torch.Generator().manual_seed(0), torch.device('cpu'),
                   verbose=False, known=known, clean_known=True)
    assert len(seen) == 5 and all(t['t0'] == 0.0 and t['t1'] > 0 for t, _ in seen)
    assert all(torch.equal(x, known['t0'].x_num) for _, x in seen)  # clean at every step
    assert torch.equal(out['t0'].x_num, known['t0'].x_num) and torch.equal(out['t0'].x_cat, known['t0'].x_cat)


def test_downward_messages_only_keep_parent_to_child_edges_and_features():
    from grdm_sdv.data.graph import RelationalGraph

    meta = {'tables': {'p': {'primary_key': 'id', 'columns': {'id': {'sdtype': 'id'}}},
                       'c': {'primary_key': 'cid', 'columns': {'cid': {'sdtype': 'id'}, 'id': {'sdtype': 'id'}}}},
            'relationships': [{'parent_table_name': 'p', 'parent_primary_key': 'id',
                               'child_table_name': 'c', 'child_foreign_key': 'id'}]}
    schema = RelationalSchema.from_metadata_dict(meta)
    fk = schema.foreign_keys[0].name
    links = {fk: np.array([0, 0, 1, -1])}
    both = RelationalGraph.build(schema, {'p': 2, 'c': 4}, links, {fk: True})
    down = RelationalGraph.build(schema, {'p': 2, 'c': 4}, links, {fk: True}, direction='down')
    assert [et[1] for et in RelationalGraph.edge_types(schema, 'down')] == [f'rev_{fk}']
    assert list(down.edge_index) == [et for et in both.edge_index if et[1].startswith('rev_')]
    for k in both.struct:
        assert torch.equal(both.struct[k], down.struct[k])
    with pytest.raises(ValueError, match='direction'):
        RelationalGraph.edge_types(schema, 'up')


def test_table_timesteps_let_parents_lead_their_children():
    d = MixedDiffusion(100)
    levels = {'root': 0, 'child': 1, 'grandchild': 2}
    grids = d.set_table_timesteps(20, levels, lead=0.5)
    for g in grids.values():
        assert len(g) == 21 and g[0] == 1.0 and g[-1] == 0.0
        assert all(a >= b for a, b in zip(g, g[1:]))
    for i in range(21):  # a parent is never noisier than its child
        assert grids['root'][i] <= grids['child'][i] <= grids['grandchild'][i]
    assert grids['root'][10] == 0.0 and grids['grandchild'][10] == 1.0  # lead 0.5 over 2 levels
    joint = d.set_table_timesteps(20, levels, lead=0.0)
    assert all(g == d.set_timesteps(20).tolist() for g in joint.values())


def test_guidance_mixes_the_message_free_pass_and_scale_one_is_the_model():
    """``generate(guidance_scale=w)``: each step's noise is ``u + w (c - u)``; ``w=1`` is one pass."""
    from grdm_sdv.data.graph import RelationalGraph
    from grdm_sdv.pipeline import _guided, generate

    eps_c, eps_u = torch.tensor([[2.0]]), torch.tensor([[1.0]])
    cond = (eps_c, lambda j, rows: torch.tensor([[3.0, 0.0]])[rows])
    uncond = (eps_u, lambda j, rows: torch.tensor([[1.0, 0.0]])[rows])
    eps, logits_of = _guided(1.5, cond, uncond)
    assert torch.allclose(eps, torch.tensor([[2.5]]))
    assert torch.allclose(logits_of(0, torch.tensor([0])), torch.tensor([[4.0, 0.0]]))
    assert torch.equal(_guided(0.0, cond, uncond)[0], eps_u)

    torch.manual_seed(0)
    nt = ['t0', 't1']
    ets = [('t1', 'fk0', 't0'), ('t0', 'rev_fk0', 't1')]
    model = HeteroDenoiser(nt, ets, {'t0': 1, 't1': 1}, {'t0': [], 't1': [2]}, {'t0': 1, 't1': 0},
                           hidden=8, num_layers=1)
    c = torch.arange(6)
    p = c % 3
    graph = RelationalGraph({'t0': 3, 't1': 6}, {ets[0]: torch.stack([c, p]), ets[1]: torch.stack([p, c])},
                            {'t0': torch.ones(3, 1), 't1': torch.zeros(6, 0)})
    passes = []
    real_propagate = model.propagate

    def spy(x_num, x_cat, struct, t, csr, chunk_size, compiled=None, tables=None):
        passes.append(len(csr))
        return real_propagate(x_num, x_cat, struct, t, csr, chunk_size, compiled, tables=tables)

    model.propagate = spy
    args = (model, MixedDiffusion(num_timesteps=100), graph, {'t0': 1, 't1': 1}, {'t0': [], 't1': [2]}, 4)
    generate(*args, torch.Generator().manual_seed(0), torch.device('cpu'), verbose=False)
    assert passes == [2] * 4  # one pass with messages per step
    passes.clear()
    generate(*args, torch.Generator().manual_seed(0), torch.device('cpu'), verbose=False, guidance_scale=2.0)
    assert passes == [2, 0] * 4  # and one without


def test_finish_applies_when_a_table_chain_ends_and_children_see_it():
    """``generate(finish=...)``: a table's numbers are replaced once, at the step its own chain
    ends; under ``parent_lead`` its children, still denoised, are given the replaced values."""
    from grdm_sdv.data.graph import RelationalGraph
    from grdm_sdv.pipeline import generate

    torch.manual_seed(0)
    ets = [('t1', 'fk0', 't0'), ('t0', 'rev_fk0', 't1')]
    model = HeteroDenoiser(['t0', 't1'], ets, {'t0': 1, 't1': 1}, {'t0': [], 't1': []},
                           {'t0': 0, 't1': 0}, hidden=8, num_layers=1)
    c = torch.arange(6)
    graph = RelationalGraph({'t0': 3, 't1': 6}, {ets[0]: torch.stack([c, c % 3]), ets[1]: torch.stack([c % 3, c])},
                            {'t0': torch.zeros(3, 0), 't1': torch.zeros(6, 0)})
    seen, calls = [], []
    real_propagate = model.propagate

    def spy(x_num, x_cat, struct, t, csr, chunk_size, compiled=None, tables=None):
        seen.append((dict(t), x_num['t0'].clone()))
        return real_propagate(x_num, x_cat, struct, t, csr, chunk_size, compiled, tables=tables)

    def finish(table):
        def f(x_num, x_cat):
            calls.append((table, len(seen)))
            return torch.full_like(x_num, 7.0)
        return f

    model.propagate = spy
    out = generate(model, MixedDiffusion(num_timesteps=100), graph, {'t0': 1, 't1': 1}, {'t0': [], 't1': []}, 10,
                   torch.Generator().manual_seed(0), torch.device('cpu'), verbose=False,
                   levels={'t0': 0, 't1': 1}, parent_lead=0.5, finish={'t0': finish('t0'), 't1': finish('t1')})
    # Each table once; the parent before the child's chain ends, the child at the last step.
    assert [t for t, _ in calls] == ['t0', 't1'] and calls[0][1] < calls[1][1] == 10
    after = [x for t, x in seen if t['t0'] == 0.0 and t['t1'] > 0]
    assert after and all(torch.equal(x, torch.full_like(x, 7.0)) for x in after)
    assert torch.equal(out['t0'].x_num, torch.full((3, 1), 7.0))
