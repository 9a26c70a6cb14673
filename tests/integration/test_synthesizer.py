"""GRDMSynthesizer end to end on the demo database and SDMetrics' bundled demo."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SamplingError, SynthesizerInputError
from sdv.metadata import Metadata

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.datasets import make_demo_database
from grdm_sdv.evaluation import cross_table_dependence
from tests.conftest import TINY, assert_integrity, children_per_parent


@pytest.mark.parametrize('scale', [0.5, 1.0, 2.0])
def test_sample_scales_keep_schema_dtypes_and_integrity(fitted, demo, scale):
    # Setup
    tables, metadata = demo

    # Run
    synthetic = fitted.sample(scale=scale)

    # Assert
    assert set(synthetic) == set(tables)
    for name, real in tables.items():
        syn = synthetic[name]
        assert list(syn.columns) == list(real.columns), name
        for col in real.columns:
            assert syn[col].dtype == real[col].dtype, (name, col, syn[col].dtype, real[col].dtype)
    assert_integrity(synthetic, metadata)
    for root in ('region', 'product'):
        assert len(synthetic[root]) == max(1, round(scale * len(tables[root])))
    total_real = sum(len(t) for t in tables.values())
    total_syn = sum(len(t) for t in synthetic.values())
    assert 0.6 * scale * total_real < total_syn < 1.5 * scale * total_real


def test_values_stay_in_range_and_known_categories(fitted, demo):
    tables, _ = demo
    synthetic = fitted.sample(scale=1.0)
    for name, col in [('customer', 'income'), ('order_item', 'discount'), ('product', 'price')]:
        real, syn = tables[name][col], synthetic[name][col]
        assert syn.min() >= real.min() - 1e-9 and syn.max() <= real.max() + 1e-9
    for name, col in [('customer', 'segment'), ('order', 'channel'), ('region', 'climate')]:
        assert set(synthetic[name][col].dropna()) <= set(tables[name][col].dropna())
    # Integer columns keep integer values; dates keep their format; nulls are produced.
    assert (synthetic['order_item']['quantity'] == synthetic['order_item']['quantity'].round()).all()
    pd.to_datetime(synthetic['order']['order_date'], format='%Y-%m-%d')
    assert synthetic['customer']['customer_id'].str.fullmatch(r'C\d{6}').all()
    assert synthetic['order_item']['discount'].isna().any()


def test_children_per_parent_distribution_is_kept(fitted, demo):
    tables, metadata = demo
    synthetic = fitted.sample(scale=2.0)
    for rel in metadata.to_dict()['relationships']:
        real_c, syn_c = children_per_parent(tables, rel), children_per_parent(synthetic, rel)
        assert abs(real_c.mean() - syn_c.mean()) < 0.2 * real_c.mean() + 0.2, rel
        assert abs((real_c == 0).mean() - (syn_c == 0).mean()) < 0.1, rel


def test_sample_forms(fitted, demo):
    tables, _ = demo
    # SDV 2.0 form: about num_rows rows in the main table.
    out = fitted.sample(num_rows=60, main_table_name='region')
    assert len(out['region']) == 60
    out = fitted.sample(num_rows=len(tables['customer']) // 2, main_table_name='customer')
    assert 0.3 * len(tables['customer']) < len(out['customer']) < 0.7 * len(tables['customer'])
    # SDV 1.x habits and numpy scalars.
    assert len(fitted.sample(2.0)['region']) == 2 * len(tables['region'])
    assert len(fitted.sample()['region']) == len(tables['region'])
    assert len(fitted.sample_scale(np.float64(0.5))['region']) == round(0.5 * len(tables['region']))


def test_same_seed_same_output_and_reset_sampling(demo):
    tables, metadata = demo
    a = GRDMSynthesizer(metadata, seed=3, **TINY)
    b = GRDMSynthesizer(metadata, seed=3, **TINY)
    a.fit(tables)
    b.fit(tables)
    first, other = a.sample(scale=1.0), b.sample(scale=1.0)
    for name in tables:
        pd.testing.assert_frame_equal(first[name], other[name])
    second = a.sample(scale=1.0)
    assert not first['customer']['income'].equals(second['customer']['income'])
    a.reset_sampling()
    again = a.sample(scale=1.0)
    for name in tables:
        pd.testing.assert_frame_equal(first[name], again[name])


def test_save_load_gives_same_samples(fitted, demo, tmp_path):
    from sdv.utils import load_synthesizer

    path = tmp_path / 'synth.pkl'
    fitted.reset_sampling()
    fitted.save(str(path))
    expected = fitted.sample(scale=1.0)
    for loaded in (GRDMSynthesizer.load(str(path)), load_synthesizer(str(path))):
        got = loaded.sample(scale=1.0)
        for name in expected:
            pd.testing.assert_frame_equal(expected[name], got[name])


def test_load_rejects_corrupt_file(tmp_path):
    path = tmp_path / 'bad.pkl'
    path.write_bytes(b'not a pickle at all')
    with pytest.raises(SynthesizerInputError, match='corrupt'):
        GRDMSynthesizer.load(str(path))


def test_loss_info_parameters(fitted):
    loss = fitted.get_loss_values()
    assert list(loss.columns) == ['Step', 'Loss', 'Numerical Loss', 'Categorical Loss']
    assert len(loss) == TINY['steps'] and np.isfinite(loss['Loss']).all()
    assert list(fitted.get_loss_values('order')['Loss'].notna()) == [True] * TINY['steps']
    loss.loc[0, 'Loss'] = -1.0  # a copy: the history is not changed
    assert fitted.get_loss_values()['Loss'].iloc[0] != -1.0
    info = fitted.get_info()
    assert info['is_fit'] and info['class_name'] == 'GRDMSynthesizer' and info['fit_seconds'] > 0
    params = fitted.get_parameters()
    assert params['steps'] == TINY['steps'] and params['n_hops'] == 1 and params['device'] == 'auto'


def test_input_data_is_not_modified(demo):
    tables, metadata = demo
    copies = {k: v.copy() for k, v in tables.items()}
    GRDMSynthesizer(metadata, seed=0, **{**TINY, 'steps': 2}).fit(tables)
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], copies[name])


def test_sample_before_fit_and_bad_scale(demo, fitted):
    _, metadata = demo
    with pytest.raises(SamplingError, match='fit'):
        GRDMSynthesizer(metadata).sample(scale=1.0)
    for bad in (0, -1.0, float('nan'), 'big'):
        with pytest.raises(SynthesizerInputError, match='scale'):
            fitted.sample(scale=bad)


def test_bad_parameters_are_named(demo):
    _, metadata = demo
    with pytest.raises(SynthesizerInputError, match="'steps'.*'hidden_dim'"):
        GRDMSynthesizer(metadata, steps=0, hidden_dim=-3)
    with pytest.raises(SynthesizerInputError, match="'mixed_precision'='yes'"):
        GRDMSynthesizer(metadata, mixed_precision='yes')
    with pytest.raises(SynthesizerInputError, match="'message_direction'='up'"):
        GRDMSynthesizer(metadata, message_direction='up')
    with pytest.raises(SynthesizerInputError, match="'match_marginals'='categorical'"):
        GRDMSynthesizer(metadata, match_marginals='categorical')
    assert GRDMSynthesizer(metadata, match_marginals='numerical').match_marginals == 'numerical'
    with pytest.raises(SynthesizerInputError, match="'sibling_templates'=1"):
        GRDMSynthesizer(metadata, sibling_templates=1)
    with pytest.raises(SynthesizerInputError, match="'link_matching'='sorted'"):
        GRDMSynthesizer(metadata, link_matching='sorted')


def test_downward_messages_fit_and_sample(demo):
    tables, metadata = demo
    synth = GRDMSynthesizer(metadata, seed=0, message_direction='down', **TINY)
    synth.fit(tables)
    assert all(not et[1].startswith('fk') for et in synth._model.edge_types)
    assert_integrity(synth.sample(scale=1.0), metadata)


def test_three_hops_fit_and_sample(demo):
    """``n_hops=3`` (0.2.24 and before failed in training: a seed met again at hop 2 took
    messages from hop-3 rows the trimmed layers had dropped)."""
    tables, metadata = demo
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, 'n_hops': 3, 'steps': 10})
    synth.fit(tables)
    assert synth._model.num_layers == 3
    assert_integrity(synth.sample(scale=1.0), metadata)


def test_dangling_foreign_key_is_reported(demo):
    tables, metadata = demo
    bad = {k: v.copy() for k, v in tables.items()}
    bad['order'].loc[0, 'customer_id'] = 'C999999'
    with pytest.raises(Exception, match='customer_id'):
        GRDMSynthesizer(metadata, **TINY).fit(bad)


def test_sdmetrics_bundled_demo_round_trip():
    from sdmetrics.demos import load_multi_table_demo

    real, _, meta = load_multi_table_demo()
    # SDV 2.0 refuses integer keys whose regex allows a leading zero ('\\d{1,30}'), as
    # its error says: drop those regexes, as a user following the message would.
    for table in meta['tables'].values():
        for spec in table['columns'].values():
            spec.pop('regex_format', None)
    metadata = Metadata.load_from_dict(meta)
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(real)
    synthetic = synth.sample(scale=2.0)
    assert_integrity(synthetic, metadata)
    assert len(synthetic['users']) == 2 * len(real['users'])
    for name in real:
        assert list(synthetic[name].columns) == list(real[name].columns)
        assert synthetic[name]['approved' if name == 'transactions' else real[name].columns[-1]].notna().any()


def test_planted_one_hop_dependency_is_learned():
    """GRDM with message passing recovers a 1-hop dependency a graph-blind model cannot."""
    tables, metadata = make_demo_database(n_customers=300, seed=2)
    pair = (('region', 'wealth'), ('customer', 'income'))
    real = cross_table_dependence(tables, metadata, *pair)
    scores = {}
    for hops in (0, 1):
        synth = GRDMSynthesizer(metadata, steps=250, batch_size=256, hidden_dim=64, n_hops=hops,
                                sampling_steps=30, seed=0, verbose=False)
        synth.fit(tables)
        scores[hops] = cross_table_dependence(synth.sample(scale=1.0), metadata, *pair)
    assert real > 0.8
    assert scores[0] < 0.3, scores  # graph-blind: about no dependence
    assert scores[1] > scores[0] + 0.3, scores


def test_data_parallel_training_with_torchrun_gloo(tmp_path):
    """Two CPU processes under torchrun (gloo) train one model: both end with the same
    weights although each drew its own batches (gradients are averaged), and both sample."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    script = Path(__file__).with_name('ddp_fit.py')
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(Path(__file__).parents[2])}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_addr', '127.0.0.1', '--master_port', str(port), str(script), '6']
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = dict(re.findall(r'RANK (\d) CHECKSUM (\S+)', proc.stdout))
    assert set(found) == {'0', '1'} and found['0'] == found['1'], proc.stdout
    assert len(re.findall(r'ROWS [1-9]', proc.stdout)) == 2


@pytest.mark.skipif(shutil.which('cc') is None and shutil.which('gcc') is None,
                    reason='torch.compile (inductor) needs a C compiler on CPU')
def test_torch_compile_option_fits_samples_and_saves(demo, tmp_path):
    tables, metadata = demo
    synth = GRDMSynthesizer(metadata, seed=0, torch_compile=True, **{**TINY, 'steps': 3})
    synth.fit(tables)
    out = synth.sample(scale=0.5)
    assert_integrity(out, metadata)
    synth.save(str(tmp_path / 'compiled.pkl'))
    assert GRDMSynthesizer.load(str(tmp_path / 'compiled.pkl')).get_parameters()['torch_compile'] is True
