"""sample_sharded: part files and manifest, the same database whatever the workers, reruns
that finish only what is missing, and clear errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError

from grdm_sdv import GRDMSynthesizer
from grdm_sdv._sdv.sharded import ShardedSampling
from grdm_sdv.sharding import read_sharded

from ..conftest import assert_integrity


def _parts(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.glob('*/part-*'))}


def test_sharded_sample_is_whole_consistent_and_sized_by_the_structure(fitted, demo, tmp_path):
    tables, metadata = demo
    manifest = fitted.sample_sharded(tmp_path / 'out', scale=2.0, max_rows_in_memory=300, seed=4)
    assert (tmp_path / 'out' / 'manifest.json').exists()
    assert manifest['shards'] >= 4
    # The structure is the one sample() draws at this seed: the same row counts.
    n_rows, _, _ = fitted._structure.sample(2.0, np.random.default_rng(4))
    assert {t: e['rows'] for t, e in manifest['tables'].items()} == n_rows
    data = read_sharded(tmp_path / 'out')
    assert_integrity(data, metadata)
    reference = fitted.sample(scale=0.5)
    for t, df in data.items():
        assert list(df.columns) == list(reference[t].columns)
        assert len(df) == n_rows[t]
    # No part is bigger than a shard, and every part is listed once.
    listed = [p['path'] for e in manifest['tables'].values() for p in e['parts']]
    assert sorted(listed) == sorted(_parts(tmp_path / 'out'))
    assert max(p['rows'] for e in manifest['tables'].values() for p in e['parts']) <= 300


def test_parquet_parts_keep_the_dtypes(fitted, tmp_path):
    pytest.importorskip('pyarrow')
    fitted.sample_sharded(tmp_path / 'pq', scale=1.0, max_rows_in_memory=400, seed=1,
                          file_format='parquet')
    data = read_sharded(tmp_path / 'pq')
    reference = fitted.sample(scale=0.5)
    for t, df in data.items():
        assert df.dtypes.to_dict() == reference[t].dtypes.to_dict(), t


def test_sample_is_unchanged_by_a_sharded_sample_in_between(fitted, tmp_path):
    fitted.reset_sampling()
    first = fitted.sample(scale=0.5)
    fitted.reset_sampling()
    fitted.sample_sharded(tmp_path / 'x', scale=0.5, max_rows_in_memory=200, seed=2)
    second = fitted.sample(scale=0.5)
    for t in first:
        pd.testing.assert_frame_equal(first[t], second[t])


def test_a_failed_run_leaves_no_manifest_and_a_rerun_generates_only_the_missing_shards(
        fitted, tmp_path, monkeypatch):
    whole = tmp_path / 'whole'
    fitted.sample_sharded(whole, scale=2.0, max_rows_in_memory=300, seed=9)
    n_shards = json.loads((whole / 'manifest.json').read_text())['shards']
    original = ShardedSampling._sample_shard
    calls = []

    def dies_at_shard_3(self, plan, shard, *args):
        calls.append(shard)
        if shard == 3:
            raise RuntimeError('worker killed')
        return original(self, plan, shard, *args)

    broken = tmp_path / 'broken'
    monkeypatch.setattr(ShardedSampling, '_sample_shard', dies_at_shard_3)
    with pytest.raises(RuntimeError, match='worker killed'):
        fitted.sample_sharded(broken, scale=2.0, max_rows_in_memory=300, seed=9)
    assert not (broken / 'manifest.json').exists()
    assert not list(broken.glob('*/.*tmp'))  # nothing half-written under a final name
    with pytest.raises(FileNotFoundError, match='no finished'):
        read_sharded(broken)
    monkeypatch.setattr(ShardedSampling, '_sample_shard', original)
    calls.clear()
    monkeypatch.setattr(ShardedSampling, '_sample_shard',
                        lambda self, plan, shard, *a: (calls.append(shard), original(self, plan, shard, *a)))
    fitted.sample_sharded(broken, scale=2.0, max_rows_in_memory=300)  # seed=None: continue
    assert calls == list(range(3, n_shards))
    assert _parts(broken) == _parts(whole)
    # Finished: a third call with the same settings regenerates nothing new but the manifest.
    calls.clear()
    fitted.sample_sharded(broken, scale=2.0, max_rows_in_memory=300, seed=9)
    assert calls == []


def test_sharded_sampling_refuses_bad_input_clearly(fitted, demo, tmp_path):
    tables, metadata = demo
    with pytest.raises(SynthesizerInputError, match='max_rows_in_memory'):
        fitted.sample_sharded(tmp_path / 'a', max_rows_in_memory=0)
    with pytest.raises(SynthesizerInputError, match='max_rows_in_memory'):
        fitted.sample_sharded(tmp_path / 'a', max_rows_in_memory='many')
    with pytest.raises(SynthesizerInputError, match='scale'):
        fitted.sample_sharded(tmp_path / 'a', scale=-1)
    with pytest.raises(SynthesizerInputError, match='file_format'):
        fitted.sample_sharded(tmp_path / 'a', file_format='xml')
    (tmp_path / 'busy').mkdir()
    (tmp_path / 'busy' / 'notes.txt').write_text('mine')
    with pytest.raises(SynthesizerInputError, match='not empty'):
        fitted.sample_sharded(tmp_path / 'busy', max_rows_in_memory=500)
    assert (tmp_path / 'busy' / 'notes.txt').exists()
    fitted.sample_sharded(tmp_path / 'b', scale=1.0, max_rows_in_memory=500, seed=1)
    with pytest.raises(SynthesizerInputError, match='scale'):
        fitted.sample_sharded(tmp_path / 'b', scale=2.0, max_rows_in_memory=500, seed=1)
    fitted.sample_sharded(tmp_path / 'b', scale=2.0, max_rows_in_memory=500, seed=1, overwrite=True)
    assert json.loads((tmp_path / 'b' / 'manifest.json').read_text())['run']['scale'] == 2.0
    unfitted = GRDMSynthesizer(metadata)
    with pytest.raises(SynthesizerInputError, match='fit'):
        unfitted.sample_sharded(tmp_path / 'c')


def test_same_seed_same_database_with_two_torchrun_workers(fitted, tmp_path):
    """Two gloo workers share the shards; the part files are byte-identical to one process's."""
    model = tmp_path / 'model.pkl'
    fitted.save(str(model))
    fitted.sample_sharded(tmp_path / 'one', scale=3.0, max_rows_in_memory=400, seed=7)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(Path(__file__).parents[2])}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_addr', '127.0.0.1', '--master_port', str(port), '-m', 'grdm_sdv.cli',
           'sample', str(model), '--output', str(tmp_path / 'two'), '--scale', '3',
           '--max-rows-in-memory', '400', '--seed', '7', '--quiet']
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'shards' in proc.stdout
    one, two = _parts(tmp_path / 'one'), _parts(tmp_path / 'two')
    assert len(one) >= 6 and one == two
    markers = [json.loads(p.read_text()) for p in (tmp_path / 'two' / '_grdm' / 'shards').glob('*.json')]
    assert len(markers) == json.loads((tmp_path / 'two' / 'manifest.json').read_text())['shards']


def test_a_sharded_sample_loads_into_a_database_part_by_part(fitted, demo, tmp_path):
    from grdm_sdv.database import check_integrity, read_database, sharded_to_database

    tables, metadata = demo
    fitted.sample_sharded(tmp_path / 'parts', scale=2.0, max_rows_in_memory=300, seed=3)
    target = f'sqlite:///{tmp_path / "synthetic.db"}'
    rows = sharded_to_database(tmp_path / 'parts', target, metadata)
    assert rows == {t: len(df) for t, df in read_sharded(tmp_path / 'parts').items()}
    assert check_integrity(target) == []
    back, _, _ = read_database(target)
    assert {t: len(df) for t, df in back.items()} == rows
    assert_integrity(back, metadata)
    # The CLI does both steps (shards in a temporary folder, then the database).
    from grdm_sdv.cli import main

    model = tmp_path / 'model.pkl'
    fitted.save(str(model))
    target2 = f'sqlite:///{tmp_path / "cli.db"}'
    assert main(['sample', str(model), '--output', target2, '--scale', '1',
                 '--max-rows-in-memory', '300', '--seed', '1', '--quiet']) == 0
    assert check_integrity(target2) == []
    with pytest.raises(FileNotFoundError, match='no finished'):
        sharded_to_database(tmp_path / 'nothing', f'sqlite:///{tmp_path / "x.db"}', metadata)
