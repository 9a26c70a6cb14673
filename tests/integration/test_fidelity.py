"""Regression guard for cross-table fidelity on a tiny planted database (seconds).

Loose bounds, far above chance: a graph-blind model scores ~0.05 on every planted
dependency, and a model whose parents collapse shows a std ratio near 0.5.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.datasets import make_planted_database
from grdm_sdv.evaluation import column_spread, cross_table_dependence


@pytest.fixture(scope='module')
def planted():
    tables, metadata = make_planted_database(n_regions=40, seed=1)
    synth = GRDMSynthesizer(metadata, steps=400, hidden_dim=64, batch_size=256,
                            sampling_steps=30, seed=0, verbose=False)
    synth.fit(tables)
    np.random.seed(0)
    return tables, metadata, synth.sample(scale=1.0), synth


def test_parents_keep_their_spread(planted):
    tables, metadata, synthetic, _ = planted
    spread = column_spread(tables, synthetic, metadata).set_index(['table', 'column'])['ratio']
    assert spread[('region', 'wealth')] > 0.7, spread.to_dict()
    assert spread[('customer', 'income')] > 0.75, spread.to_dict()


def test_planted_one_and_two_hop_dependencies_are_learned(planted):
    tables, metadata, synthetic, _ = planted
    one = cross_table_dependence(synthetic, metadata, ('region', 'wealth'), ('customer', 'income'))
    two = cross_table_dependence(synthetic, metadata, ('region', 'wealth'), ('purchase', 'amount'))
    real_one = cross_table_dependence(tables, metadata, ('region', 'wealth'), ('customer', 'income'))
    real_two = cross_table_dependence(tables, metadata, ('region', 'wealth'), ('purchase', 'amount'))
    assert one > 0.4 and one < real_one + 0.1, (one, real_one)
    assert two > 0.2 and two < real_two + 0.1, (two, real_two)


def test_guidance_strengthens_what_rows_take_from_their_neighbours(planted):
    """The default guidance (1.15) against none (1) on the same fit, 3 draws each (one draw
    of 40 regions varies by about 0.05): the planted 1-hop and 2-hop dependencies come out
    stronger, and the parents keep their spread."""
    tables, metadata, guided, synth = planted
    draws = {}
    try:
        for w in (1.15, 1.0):
            synth.guidance_scale = w
            draws[w] = [synth.sample(scale=1.0) for _ in range(3)]
    finally:
        synth.guidance_scale = 1.15
    for a, d in ((('region', 'wealth'), ('customer', 'income')),
                 (('region', 'wealth'), ('purchase', 'amount'))):
        g, u = (np.mean([cross_table_dependence(x, metadata, a, d) for x in draws[w]])
                for w in (1.15, 1.0))
        assert g > u + 0.03, (a, d, g, u)
    spread = column_spread(tables, guided, metadata).set_index(['table', 'column'])['ratio']
    assert 0.7 < spread[('region', 'wealth')] < 1.4, spread.to_dict()


def test_column_guidance_guides_the_columns_named_and_only_them(planted):
    """``column_guidance`` at the default scale on every column gives the sample of
    ``guidance_scale`` alone exactly; ``customer.income`` at 1 weakens what income takes
    from the region (3 draws, as above) while the region keeps its spread."""
    tables, metadata, _, synth = planted

    def sample_hash(d: dict) -> str:
        return hashlib.md5(b''.join(pd.util.hash_pandas_object(d[t]).values.tobytes()
                                    for t in sorted(d))).hexdigest()

    every = {f'{t}.{c}': 1.15 for t in synth._schema.tables
             for c in synth._encoders[t].x_num_names + [c.name for c in synth._encoders[t].cat_columns]}
    pair = (('region', 'wealth'), ('customer', 'income'))
    draws = {}
    synth.calibrate_guidance = False  # guidance_scale alone
    try:
        for name, columns in (('default', None), ('every', every), ('income', {'customer.income': 1.0})):
            synth.column_guidance = columns
            synth.reset_sampling()
            draws[name] = [synth.sample(scale=1.0) for _ in range(3)]
    finally:
        synth.column_guidance = None
        synth.calibrate_guidance = True
    assert [sample_hash(d) for d in draws['every']] == [sample_hash(d) for d in draws['default']]
    g, u = (np.mean([cross_table_dependence(x, metadata, *pair) for x in draws[k]])
            for k in ('default', 'income'))
    assert g > u + 0.03, (g, u)
    spread = column_spread(tables, draws['income'][0], metadata).set_index(['table', 'column'])['ratio']
    assert 0.7 < spread[('region', 'wealth')] < 1.4, spread.to_dict()


def test_calibrated_guidance_is_listed_and_used(planted):
    """The fit calibrates the columns with strong cross-table pairs (income on the region,
    the purchases' amount on the customer and the region) and those whose children's means
    spread over their parents (the visits, a per-region effect in no region column), within
    the bounds, and sampling uses them; ``calibrate_guidance=False`` samples with
    ``guidance_scale`` alone, and ``guidance_scale=1`` switches guidance off everywhere."""
    tables, metadata, _, synth = planted
    calibrated = synth.get_info()['calibrated_guidance']
    assert {'customer.income', 'purchase.amount', 'customer.visits'} <= set(calibrated), calibrated
    assert all(1.0 <= w <= 1.5 for w in calibrated.values()), calibrated
    samples = {}
    try:
        for name, on, scale in (('on', True, 1.15), ('off', True, 1.0), ('none', False, 1.0),
                                ('alone', False, 1.15), ('on again', True, 1.15)):
            synth.calibrate_guidance, synth.guidance_scale = on, scale
            synth.reset_sampling()
            samples[name] = synth.sample(scale=1.0)['purchase']
    finally:
        synth.calibrate_guidance, synth.guidance_scale = True, 1.15
    pd.testing.assert_frame_equal(samples['on'], samples['on again'])
    pd.testing.assert_frame_equal(samples['off'], samples['none'])
    assert not samples['on'].equals(samples['alone'])


def test_column_guidance_refuses_what_it_cannot_guide():
    from sdv.errors import SynthesizerInputError

    tables, metadata = make_planted_database(n_regions=6, seed=3)
    for bad, match in (({'customer.nope': 1.0}, 'no column of the metadata'),
                       ({'nope.income': 1.0}, 'no column of the metadata'),
                       ({'customer.income': -1}, 'a number >= 0'),
                       (['customer.income'], 'pass None or a dict')):
        with pytest.raises(SynthesizerInputError, match=match):
            GRDMSynthesizer(metadata, column_guidance=bad)
    with pytest.raises(SynthesizerInputError, match='context_dropout'):
        GRDMSynthesizer(metadata, context_dropout=0.0, guidance_scale=1.0,
                        column_guidance={'customer.income': 1.3})
    synth = GRDMSynthesizer(metadata, steps=5, hidden_dim=16, sampling_steps=3, seed=0, verbose=False,
                            column_guidance={'customer.customer_id': 1.3})
    synth.fit(tables)
    with pytest.raises(SynthesizerInputError, match="does not generate: \\['customer.customer_id'\\]"):
        synth.sample(scale=1.0)


def test_guidance_needs_a_model_trained_without_messages_too():
    from sdv.errors import SynthesizerInputError

    tables, metadata = make_planted_database(n_regions=6, seed=3)
    with pytest.raises(SynthesizerInputError, match='context_dropout'):
        GRDMSynthesizer(metadata, context_dropout=0.0, guidance_scale=1.5)
    synth = GRDMSynthesizer(metadata, steps=5, hidden_dim=16, sampling_steps=3, seed=0,
                            verbose=False, context_dropout=0.0, guidance_scale=1.0)
    synth.fit(tables)
    synth.guidance_scale = 2.0
    with pytest.raises(SynthesizerInputError, match='context_dropout > 0'):
        synth.sample(scale=1.0)
    synth.guidance_scale = -1
    with pytest.raises(SynthesizerInputError, match='guidance_scale'):
        synth.sample(scale=1.0)


def test_set_guidance_pushes_children_toward_sets_their_critic_takes_for_real(planted, monkeypatch, tmp_path):
    """With every parent table's critic kept, guided samples' sets of children look more real
    to the critics than the same draws unguided; ``set_guidance=0`` samples exactly as a fit
    without critics; the critics are listed, saved and loaded; bad scales are refused."""
    from sdv.errors import SynthesizerInputError

    from tests.conftest import assert_integrity

    tables, metadata, _, synth = planted
    synth.reset_sampling()
    plain = synth.sample(scale=1.0)
    monkeypatch.setattr(GRDMSynthesizer, '_SET_MIN_ACCURACY', 0.0)
    try:
        synth.set_guidance = 3.0
        seconds = synth.get_info()['fit_seconds']
        accuracy = synth.fit_set_critics(tables)
        assert synth.get_info()['fit_seconds'] > seconds
        critics = synth.get_info()['set_critics']
        assert accuracy == pytest.approx(synth.get_info()['set_critic_accuracy'], abs=5e-4)
        assert set(critics) == {t for t in metadata.tables if any(
            r['parent_table_name'] == t for r in metadata.to_dict()['relationships'])}, critics
        assert all(0.0 <= a <= 1.0 for a in critics.values())
        assert synth.get_info()['set_critic_accuracy'] == critics  # all kept here
        synth.reset_sampling()
        guided = synth.sample(scale=1.0)
        assert_integrity(guided, metadata)
        synth.set_guidance = 0.0
        synth.reset_sampling()
        off = synth.sample(scale=1.0)
        for t in plain:
            pd.testing.assert_frame_equal(off[t], plain[t])

        def realness(data):
            x, links = synth._set_inputs(data)
            return np.mean([float(c.discriminator(c.features(x, links)).mean()) for c in synth._set_critics])

        assert realness(guided) > realness(off) + 0.5, (realness(guided), realness(off))
        synth.set_guidance = 3.0
        synth.save(tmp_path / 'set.pkl')
        loaded = GRDMSynthesizer.load(tmp_path / 'set.pkl')
        assert loaded.get_info()['set_critics'] == critics and loaded.set_guidance == 3.0
    finally:
        synth.set_guidance, synth._set_critics = 0.0, []
    for bad in (-1.0, float('inf'), 'strong', True):
        with pytest.raises(SynthesizerInputError, match='set_guidance'):
            GRDMSynthesizer(metadata, set_guidance=bad)


def test_set_critics_added_to_a_fit_are_those_a_fit_with_them_makes():
    """``fit_set_critics`` on a fit made without set guidance gives the critics, and then the
    samples, of the same fit made with it; an unfitted synthesizer is told to fit first."""
    from sdv.errors import SynthesizerInputError

    tables, metadata = make_planted_database(n_regions=8, seed=4)
    kwargs = dict(steps=5, hidden_dim=16, sampling_steps=3, seed=0, verbose=False)
    with pytest.raises(SynthesizerInputError, match='fit first'):
        GRDMSynthesizer(metadata, **kwargs).fit_set_critics(tables)
    with_critics = GRDMSynthesizer(metadata, set_guidance=2.0, **kwargs)
    with_critics.fit(tables)
    added = GRDMSynthesizer(metadata, **kwargs)
    added.fit(tables)
    added.set_guidance = 2.0
    accuracy = added.fit_set_critics(tables)
    assert with_critics.get_info()['set_critic_accuracy'] == added.get_info()['set_critic_accuracy']
    assert accuracy == pytest.approx(added.get_info()['set_critic_accuracy'], abs=5e-4)
    assert set(accuracy) == {'region', 'customer', 'product'}  # every parent table
    one, other = with_critics.sample(scale=1.0), added.sample(scale=1.0)
    for t in one:
        pd.testing.assert_frame_equal(one[t], other[t])


def test_child_summaries_are_generated_and_dropped():
    """Parents carry their children's means while denoised; the output has the real columns."""
    from tests.conftest import assert_integrity

    tables, metadata = make_planted_database(n_regions=8, seed=2)
    synth = GRDMSynthesizer(metadata, steps=20, hidden_dim=16, sampling_steps=5, seed=0,
                            verbose=False, child_summaries=True)
    synth.fit(tables)
    assert synth._summary_width('region') == 2 and synth._summary_width('purchase') == 0
    info = synth.get_info()['child_summaries']
    assert 'region: mean customer.income, customer.visits per region_id' in info and len(info) == 3
    from grdm_sdv.data.graph import RelationalGraph

    node = RelationalGraph.node_types(synth._schema)
    assert synth._model.io[node['region']].d_num == 1 + 2  # wealth + 2 summaries (income, visits)
    out = synth.sample(scale=1.0)
    assert {t: list(df.columns) for t, df in out.items()} == {t: list(df.columns) for t, df in tables.items()}
    assert_integrity(out, metadata)
    kept = synth.sample(scale=1.0, fixed_tables={'region': tables['region']})
    assert kept['region'].equals(tables['region'])


def test_a_0_2_0_model_loads_and_samples_without_guidance():
    """Files saved by 0.2.0 have no guidance settings (the earliest no child summaries
    either): they sample as before, and say so."""
    tables, metadata = make_planted_database(n_regions=5, seed=0)
    synth = GRDMSynthesizer(metadata, steps=5, hidden_dim=16, sampling_steps=3, seed=0,
                            verbose=False, context_dropout=0.0, guidance_scale=1.0)
    synth.fit(tables)
    state = synth.__getstate__()
    for name in ('context_dropout', 'guidance_scale', '_guidable', 'child_summaries', '_summaries'):
        state.pop(name, None)
    state['_grdm_version'] = '0.2.0'
    old = GRDMSynthesizer.__new__(GRDMSynthesizer)
    old.__setstate__(state)
    assert old.get_parameters()['guidance_scale'] == 1.0
    assert old.get_parameters()['context_dropout'] == 0.0
    assert old.get_parameters()['child_summaries'] is False
    assert len(old.sample(scale=1.0)['region']) == len(tables['region'])


def test_a_0_2_1_model_file_loads_after_the_layout_change():
    """A file written by 0.2.1 (classes in the old flat modules) loads and samples whole tables."""
    path = Path(__file__).parent.parent / 'data' / 'model_0_2_1.pkl'
    synth = GRDMSynthesizer.load(str(path))
    assert synth.get_info()['grdm_sdv_version'] == '0.2.1'
    # It samples as it did: settings added since keep their old behaviour.
    assert synth.get_parameters()['match_marginals'] is False
    assert synth._class_shares == {}
    assert synth._sibling_templates == [] and synth.sibling_templates is True
    assert synth.get_info()['co_parent_axes'] == [] and synth.link_matching == 'axis'
    out = synth.sample(scale=1.0)
    assert set(out) == {'region', 'product', 'customer', 'order', 'order_item'}
    assert out['order']['customer_id'].isin(out['customer']['customer_id']).all()
    assert out['customer']['age'].notna().all()


def test_sharded_sample_keeps_the_planted_dependencies(planted, tmp_path):
    """Sampled in 9 shards of at most 400 rows (products first, then regions with their
    customers and purchases, products held clean), the planted dependencies and the parents'
    spread hold as in one piece, the one through the held-clean products included."""
    from grdm_sdv.sharding import read_sharded

    tables, metadata, _, synth = planted
    manifest = synth.sample_sharded(tmp_path / 'shards', scale=1.0, max_rows_in_memory=400, seed=1)
    assert manifest['shards'] >= 6
    sharded = read_sharded(tmp_path / 'shards')
    one = cross_table_dependence(sharded, metadata, ('region', 'wealth'), ('customer', 'income'))
    two = cross_table_dependence(sharded, metadata, ('region', 'wealth'), ('purchase', 'amount'))
    held = cross_table_dependence(sharded, metadata, ('product', 'quality'), ('purchase', 'amount'))
    assert one > 0.4 and two > 0.2 and held > 0.3, (one, two, held)
    spread = column_spread(tables, sharded, metadata).set_index(['table', 'column'])['ratio']
    assert 0.7 < spread[('region', 'wealth')] < 1.4, spread.to_dict()
