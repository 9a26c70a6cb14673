"""benchmarks.quality's report: ``--merge`` of results files written by earlier versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks._quality_report import detail_tables, save
from benchmarks.quality import mean_pair_scores, merge_reports, strong_pairs

RESULTS = Path(__file__).resolve().parents[2] / 'benchmarks' / 'results'


def _old_file(tmp_path: Path) -> Path:
    """A stored F1 run with one GRDM variant renamed to a method this version lacks and the
    library defaults left out, as files written by earlier versions are."""
    path = RESULTS / 'quality_0.2.14_f1.json'
    if not path.exists():
        pytest.skip(f'{path} not in this checkout')
    report = json.loads(path.read_text(encoding='utf-8'))
    for run in report['runs']:
        if run['method'] == 'grdm_steps2000':
            run['method'] = 'grdm_removed_variant'
    report['settings']['methods'] = ['grdm', 'grdm_removed_variant']
    del report['settings']['grdm_defaults']
    out = tmp_path / 'old.json'
    out.write_text(json.dumps(report), encoding='utf-8')
    return out


def test_merge_keeps_methods_this_version_no_longer_has(tmp_path):
    # Setup
    old = _old_file(tmp_path)

    # Run
    report = merge_reports([old])
    save(report, tmp_path / 'merged.json', tmp_path / 'merged.md')

    # Assert
    text = (tmp_path / 'merged.md').read_text(encoding='utf-8')
    header = next(line for line in text.splitlines() if line.startswith('| metric |'))
    assert 'GRDM (n=2)' in header and 'grdm_removed_variant (n=2)' in header
    assert 'not recorded in its results file' in text
    merged = json.loads((tmp_path / 'merged.json').read_text(encoding='utf-8'))
    assert {r['method'] for r in merged['runs']} == {'grdm', 'grdm_removed_variant'}


def test_strong_pairs_are_kept_per_pair_averaged_over_draws_and_reported():
    # Setup: k-hop trends as evaluate gives them: a within-table pair, a weak one, two strong
    trends = pd.DataFrame({
        'hop': [0, 1, 1, 2], 'table_a': ['a', 'a', 'a', 'a'], 'column_a': ['x', 'x', 'y', 'x'],
        'table_b': ['a', 'b', 'b', 'c'], 'column_b': ['z', 'u', 'u', 'w'],
        'real_strength': [0.9, 0.5, 0.1, 0.4], 'score': [0.9, 0.8, 0.7, np.nan]})

    # Run
    first = strong_pairs(trends, 0.3)
    second = strong_pairs(trends.assign(score=[0.9, 0.6, 0.7, 0.5]), 0.3)
    mean = mean_pair_scores([first, second])
    records = [{'method': 'grdm', 'status': 'ok', 'details': {'strong_pairs': mean}},
               {'method': 'ceiling', 'status': 'ok',
                'details': {'strong_pairs': [dict(mean[0], score=0.9)]}}]
    text = '\n'.join(detail_tables(records))

    # Assert: only cross-table pairs at the threshold; a draw that could not score a pair
    # leaves it to the others; one row per pair, one column per method
    assert [(r['hop'], r['pair']) for r in first] == [(1, 'a.x ~ b.u'), (2, 'a.x ~ c.w')]
    assert first[1]['score'] is None
    assert [r['score'] for r in mean] == [pytest.approx(0.7), pytest.approx(0.5)]
    assert '| 1 | a.x ~ b.u | 0.700 | 0.900 |' in text
    assert '| 2 | a.x ~ c.w | 0.500 | - |' in text
