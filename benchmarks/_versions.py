"""Benchmark workers that run another version of ``grdm_sdv`` side by side with this one.

``--baseline REF`` (``benchmarks.speed``, ``benchmarks.planted``) measures the package as it
was at a git ref in the same run: :func:`package_at` extracts it and :func:`run_worker` runs
a benchmark module in a fresh process that imports that ``grdm_sdv`` first. The benchmark's
own code (the ``benchmarks`` package and :data:`timing`) is this checkout's in every worker,
so both versions are measured the same way.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load_timing():
    # By file, not ``import grdm_sdv.timing``: a worker's grdm_sdv may be an older version
    # without it (the module imports nothing else from the package).
    spec = importlib.util.spec_from_file_location('_grdm_sdv_timing', REPO / 'grdm_sdv' / 'timing.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: This checkout's :mod:`grdm_sdv.timing` (``timed``, ``fit_and_sample``), whichever
#: ``grdm_sdv`` the process imports.
timing = _load_timing()


def package_at(ref: str) -> tuple[str | None, str | None]:
    """``(folder, short sha)``: ``grdm_sdv`` as it was at git ``ref``, extracted to a temporary
    folder to be imported first through PYTHONPATH; ``(None, None)`` if ``ref`` is unknown."""
    sha = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', ref],
                         capture_output=True, text=True).stdout.strip() or None
    if sha is None:
        return None, None
    folder = tempfile.mkdtemp(prefix=f'grdm-{sha}-')
    archive = subprocess.run(['git', '-C', str(REPO), 'archive', sha, 'grdm_sdv'],
                             capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', folder], input=archive, check=True)
    return folder, sha


def run_worker(module: str, args: list[str], code_dir: str | None) -> subprocess.CompletedProcess:
    """``python -m benchmarks.<module> *args`` in a fresh process (so its peak memory is its
    own), output captured as text.

    The worker imports ``grdm_sdv`` from ``code_dir`` (a folder from :func:`package_at`) or,
    without one, from this checkout, like a benchmark run from the repository root.
    """
    env = dict(os.environ)
    path = ([code_dir] if code_dir else []) + [str(REPO)]
    if env.get('PYTHONPATH'):
        path.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(path)
    # ``-m`` puts the working directory first on sys.path: not the checkout root, whose
    # grdm_sdv would hide code_dir's.
    return subprocess.run([sys.executable, '-m', f'benchmarks.{module}', *args],
                          cwd=REPO / 'benchmarks', env=env, capture_output=True, text=True)
