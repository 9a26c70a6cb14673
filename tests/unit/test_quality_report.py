"""benchmarks.quality's report: ``--merge`` of results files written by earlier versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks._quality_report import save
from benchmarks.quality import merge_reports

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
