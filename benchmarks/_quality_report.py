"""Reports of the quality benchmark: tables, floor-to-ceiling gaps, markdown and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ._quality_methods import GRDM_VARIANTS, METHOD_LABELS, METHODS

#: Metrics where lower is better (the others: higher is better, except the DCR distances,
#: which are privacy diagnostics rather than quality scores).
LOWER_IS_BETTER = {'detection_mean_accuracy'}

#: Gap shares are left out ('-') where the floor is this close to the ceiling.
MIN_GAP = 0.01


def _finite(values):
    return [v for v in values if v is not None and isinstance(v, (int, float)) and math.isfinite(v)]


def _mean_std(values) -> tuple[float, float, int]:
    vals = _finite(values)
    if not vals:
        return math.nan, math.nan, 0
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, len(vals)


def _fmt(values, digits=3) -> str:
    mean, std, n = _mean_std(values)
    if n == 0:
        return '-'
    if n == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def _metric_names(records) -> list[str]:
    names: list[str] = []
    for record in records:
        for metric in record.get('summary', {}):
            if metric not in names:
                names.append(metric)
    return names


def method_label(method: str) -> str:
    """A method's label; a results file of an earlier version may name a variant that has
    since been removed, which keeps its own name (``--merge`` of old files)."""
    return METHOD_LABELS.get(method, method)


def _methods_in(records: list[dict]) -> list[str]:
    """The methods of ``records``: the known ones in their order, then the others as found."""
    found = list(dict.fromkeys(r['method'] for r in records))
    return [m for m in METHODS if m in found] + [m for m in found if m not in METHODS]


def dataset_table(records: list[dict]) -> str:
    """Markdown table: one row per metric (and timing), one column per method."""
    methods = _methods_in(records)
    by_method = {m: [r for r in records if r['method'] == m] for m in methods}
    header = ['metric']
    for m in methods:
        ok = [r for r in by_method[m] if r['status'] == 'ok']
        if ok:
            header.append(f'{method_label(m)} (n={len(ok)})')
        else:
            header.append(f'{method_label(m)}')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    metrics = _metric_names([r for r in records if r['status'] == 'ok'])
    rows = [(metric, lambda r, metric=metric: r['summary'].get(metric), 3) for metric in metrics]
    rows += [
        ('fit seconds', lambda r: r['fit_seconds'], 1),
        ('sample seconds', lambda r: r['sample_seconds'], 1),
        ('evaluate seconds', lambda r: r['evaluate_seconds'], 1),
    ]
    for label, get, digits in rows:
        cells = [label + (' (lower is better, 0.5 ideal)' if label in LOWER_IS_BETTER else '')]
        for m in methods:
            ok = [r for r in by_method[m] if r['status'] == 'ok']
            if not ok:
                cells.append(by_method[m][0]['status'])
            else:
                cells.append(_fmt([get(r) for r in ok], digits))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _method_means(records: list[dict]) -> dict[str, dict[str, float]]:
    means: dict[str, dict[str, float]] = {}
    for m in METHODS:
        ok = [r for r in records if r['method'] == m and r['status'] == 'ok']
        if ok:
            means[m] = {metric: _mean_std([r['summary'].get(metric) for r in ok])[0]
                        for metric in _metric_names(ok)}
    return means


def gap_rows(records: list[dict]) -> list[dict]:
    """Share of the floor-to-ceiling gap GRDM closes per hop: (GRDM - floor) / (ceiling - floor).

    Floors: HMA (when it ran) and the per-table baseline; also for the links-shuffled
    reference. Means over seeds first.
    """
    means = _method_means(records)
    if 'grdm' not in means or 'ceiling' not in means:
        return []
    hops = sorted(int(k.split('_')[1]) for k in means['ceiling']
                  if k.startswith('hop_') and not k.endswith('_strong'))
    rows = []
    for hop in hops:
        for suffix, label in (('', 'all pairs'), ('_strong', 'strong pairs')):
            key = f'hop_{hop}{suffix}'
            row = {'hop': hop, 'pairs': label, 'metric': key,
                   'ceiling': means['ceiling'].get(key, math.nan),
                   'grdm': means['grdm'].get(key, math.nan)}
            for floor in ('hma', 'independent', 'links_shuffled'):
                row[floor] = means.get(floor, {}).get(key, math.nan)
                gap = row['ceiling'] - row[floor]
                row[f'closed_vs_{floor}'] = ((row['grdm'] - row[floor]) / gap
                                             if math.isfinite(gap) and abs(gap) >= MIN_GAP
                                             else math.nan)
            rows.append(row)
    return rows


def gap_table(rows: list[dict], hma_note: str | None) -> str:
    def pct(value):
        return '-' if not math.isfinite(value) else f'{100 * value:.0f}%'

    def num(value):
        return '-' if not math.isfinite(value) else f'{value:.3f}'

    lines = [
        '| hop | pairs | HMA | per-table | links shuffled | GRDM | ceiling | '
        'closed vs HMA | closed vs per-table | closed vs links shuffled |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        lines.append(
            f"| {row['hop']} | {row['pairs']} | {num(row['hma'])} | {num(row['independent'])} | "
            f"{num(row['links_shuffled'])} | {num(row['grdm'])} | {num(row['ceiling'])} | "
            f"{pct(row['closed_vs_hma'])} | {pct(row['closed_vs_independent'])} | "
            f"{pct(row['closed_vs_links_shuffled'])} |"
        )
    if hma_note:
        lines.append('')
        lines.append(f'HMA: {hma_note}')
    return '\n'.join(lines)


def print_gap(name: str, rows: list[dict], hma_refused: str | None) -> None:
    print(f'\n[{name}] share of the floor-to-ceiling gap GRDM closes, (GRDM - floor) / '
          f'(ceiling - floor), means over seeds:', flush=True)
    if hma_refused:
        print(f'  HMA refused this schema ({hma_refused}); the per-table floor is shown instead.')
    for row in rows:
        parts = []
        for floor, label in (('hma', 'vs HMA'), ('independent', 'vs per-table'),
                             ('links_shuffled', 'vs links-shuffled')):
            value = row[f'closed_vs_{floor}']
            if math.isfinite(value):
                parts.append(f'{label} {100 * value:6.1f}%')
            elif floor == 'hma':
                parts.append(f'{label}    n/a')
        print(f"  hop {row['hop']} {row['pairs']:>12}: GRDM {row['grdm']:.3f} ceiling "
              f"{row['ceiling']:.3f} | " + ', '.join(parts), flush=True)


def write_markdown(path: Path, report: dict) -> None:
    """The markdown report of a run (``docs/benchmarks.md``): protocol, then one section per dataset."""
    lines = _header(report) + _protocol(report['settings']) + _dataset_list(report['datasets']) + _READING
    for name, data in report['datasets'].items():
        if not data.get('skipped'):
            lines += _dataset_section(name, data, [r for r in report['runs'] if r['dataset'] == name])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines), encoding='utf-8')


def _header(report: dict) -> list[str]:
    machine = report['machine']
    quick = report['settings']['quick']
    return [
        '# Quality benchmarks' + (' (quick mode: smoke test, not results)' if quick else ''),
        '',
        f"Generated by `{report['command']}` on {report['date']} "
        f"(total {report['total_seconds'] / 60:.1f} min).",
        '',
        f"Machine: {machine['cpu']}, {machine['affinity'] or machine['cpu_count']} CPU cores "
        f"available, torch {machine['torch']} with {machine['torch_threads']} thread(s) "
        f"(OMP_NUM_THREADS={machine['OMP_NUM_THREADS']}), "
        f"{'GPU ' + machine['cuda'] if machine['cuda'] else 'no GPU'}; sdv {machine['sdv']}, "
        f"sdmetrics {machine['sdmetrics']}, xgboost {machine['xgboost']}, "
        f"Python {machine['python']}.",
        '',
    ]


def _defaults_line(settings: dict) -> str:
    """The library defaults the run used, as its results file recorded them."""
    defaults = settings.get('grdm_defaults')
    if defaults is None:  # files written before the defaults were recorded
        return 'library defaults of the version that ran it (not recorded in its results file)'
    return 'library defaults: ' + ', '.join(
        f'{k}={v!r}' for k, v in defaults.items()
        if k not in ('locales', 'verbose', 'seed', 'device') and settings.get(k) is None)


def _protocol(settings: dict) -> list[str]:
    return [
        '## Protocol',
        '',
        f"Seeds {settings['seeds']}. For every dataset and seed the real database is split by "
        'root entities into a training half and a holdout half (each root row and all its '
        'descendants go to one half; multi-parent tables follow their primary parent, the one '
        'reached from the root; rows of tables that do not descend from the root go to every '
        'half whose rows reference them, so both halves keep referential integrity, and those '
        'tables overlap between halves: see "shared" below). Every method is scored by '
        '`grdm_sdv.evaluation.evaluate(train, synthetic, metadata, holdout=holdout, seed=seed)` '
        '(SDMetrics quality report, cardinality, k-hop trends over all pairs and over pairs '
        'with real strength >= 0.3, C2ST-Agg detection with XGBoost, DCR privacy).',
        '',
        '* **GRDM**: `GRDMSynthesizer(metadata, seed=seed'
        + ''.join(f', {k}={settings[k]}' for k in ('steps', 'sampling_steps') if settings[k] is not None)
        + ')`, fitted on the training half, `sample(scale=1.0)`; other parameters at the '
        + _defaults_line(settings) + '.',
        '* **HMA**: `sdv.multi_table.HMASynthesizer(metadata)` with its defaults, '
        '`sample_scale(1.0)`, where it accepts the schema (it refuses more than 5 tables or a '
        f"depth above 2: F1 and the demo database); run on the first {settings['hma_seeds']} "
        "seed(s) only, as HMA's sampling is slow (about 8 min for 500 movies on 2 cores).",
        '* **per-table (n_hops=0)**: the same GRDM with `n_hops=0`: same structure model and '
        'per-table diffusion, no message passing (graph-blind).',
        *[f"* **{method_label(m)}**: the same GRDM with "
          + ', '.join(f'`{k}={v!r}`' for k, v in GRDM_VARIANTS[m].items()) + '.'
          for m in settings['methods'] if m in GRDM_VARIANTS and m not in ('grdm', 'independent')],
        '* **links shuffled**: the holdout half with every foreign-key column randomly permuted '
        'within its table: real tables and children-per-parent counts, no dependence across '
        'tables. Scored against the training half like the ceiling, so the two differ only in '
        'the links.',
        '* **ceiling**: the holdout half itself against the training half.',
        '',
        'Datasets and splits (rows per table in the training/holdout half of seed '
        f"{settings['seeds'][0]}):",
        '',
    ]


def _dataset_list(datasets: dict) -> list[str]:
    """One bullet per dataset: its source, root, subsample and the split of the first seed."""
    lines = []
    for name, data in datasets.items():
        lines.append(f"* **{name}**: {data['source']}; root `{data['root']}`"
                     + (f"; {data['subsample']}" if data.get('subsample') else '') + '.')
        if data.get('skipped'):
            lines.append(f"  Skipped: {data['skipped']}")
            continue
        split = data.get('split_first_seed') or {}
        coverage = data.get('coverage', {})
        parts = []
        for table, sizes in split.items():
            shared = sizes['shared']
            cov = coverage.get(table, '')
            tag = ', shared' if cov.startswith('shared') else ''
            shared_txt = f', {shared} in both' if shared else ''
            parts.append(f"{table} {sizes['train']}/{sizes['holdout']}{shared_txt}{tag}")
        lines.append('  ' + '; '.join(parts) + '.')
    return lines


#: How to read the tables (the same text in every report).
_READING = [
    '',
    'Reading the tables: values are mean ± sample standard deviation over seeds (a single '
    'value where n=1). All scores are higher-is-better in [0, 1] except '
    '`detection_mean_accuracy` (0.5 = indistinguishable, 1 = fully separable) and the '
    '`dcr_*` privacy diagnostics (synthetic rows as far from the training rows as the '
    'holdout rows are is good; `dcr_share_below_holdout_p5` about 0.05 is good). '
    'The ceiling also has sampling noise: with halves of a few hundred root rows the '
    'ceiling is itself well below 1. The links-shuffled and ceiling rows copy real '
    'rows, so their DCR rows are those of real data, not of a synthesizer. The '
    'synthesizers are scored against the half they were fitted on, the ceiling against '
    'fresh real data: a synthesizer that reproduces its training half closely (see '
    '`dcr_*`) can score above the ceiling, and gap shares above 100% can happen.',
    '',
]


def _dataset_section(name: str, data: dict, records: list[dict]) -> list[str]:
    """A dataset's tables: every metric per method, details, and the gap GRDM closes."""
    lines = [f'## {name}', '', dataset_table(records), '']
    notes = sorted({f"{method_label(r['method'])}: {r['status']}: {r.get('message', '')}"
                    for r in records if r['status'] != 'ok'})
    if notes:
        lines += ['Not run:', ''] + [f'* {note}' for note in notes] + ['']
    lines += detail_tables(records)
    rows = gap_rows(records)
    if rows:
        lines += [
            f'Share of the floor-to-ceiling gap GRDM closes on {name}, '
            '(GRDM - floor) / (ceiling - floor), on seed means (\'-\' where the floor '
            f'is missing or within {MIN_GAP} of the ceiling):',
            '',
            gap_table(rows, data.get('hma_refused')),
            '',
        ]
    return lines


def _detail_means(records: list[dict], detail: str, keys: list[str], value: str) -> pd.DataFrame:
    """Seed means of one column of a per-item detail frame, one column per method."""
    frames = []
    for r in records:
        rows = (r.get('details') or {}).get(detail)
        if r['status'] == 'ok' and rows:
            frame = pd.DataFrame(rows)[keys + [value]]
            frame['method'] = method_label(r['method'])
            frames.append(frame)
    if not frames:
        return pd.DataFrame()
    data = pd.concat(frames)
    order = list(dict.fromkeys(data['method']))
    return data.pivot_table(index=keys, columns='method', values=value, aggfunc='mean')[order]


def _markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    names = list(frame.index.names)
    lines = ['| ' + ' | '.join(names + cols) + ' |', '|' + '---|' * (len(names) + len(cols))]
    for idx, row in frame.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        cells = ['-' if not np.isfinite(v) else f'{v:.3f}' for v in row.to_numpy(dtype=float)]
        lines.append('| ' + ' | '.join([str(i) for i in idx] + cells) + ' |')
    return '\n'.join(lines)


def detail_tables(records: list[dict]) -> list[str]:
    """Per-table detection, per-column spread, sibling structure and strong cross-table pairs,
    method by method."""
    out = []
    detection = _detail_means(records, 'detection', ['table'], 'accuracy')
    if len(detection):
        out += ['Detection accuracy per table (C2ST-Agg; 0.5 is ideal):', '', _markdown(detection), '']
    spread = _detail_means(records, 'spread', ['table', 'column'], 'ratio')
    if len(spread):
        out += ['Standard deviation of each numerical column, synthetic / real:', '',
                _markdown(spread), '']
    siblings = _detail_means(records, 'siblings', ['child', 'column', 'parent', 'statistic'], 'ratio')
    if len(siblings):
        out += ['Sibling structure, synthetic / real (`within_std`: mean over parents of the '
                "spread among one parent's children; `between_std`: spread over parents of "
                "the children's mean; `evaluation.sibling_structure`):", '', _markdown(siblings), '']
    pairs = _detail_means(records, 'strong_pairs', ['hop', 'pair'], 'score')
    if len(pairs):
        out += ['Strong cross-table pairs (the `hop_<k>_strong` scores average these: real '
                'strength at least 0.3 in the training half), each pair\'s score (mean over '
                'draws and seeds; a seed where the pair is not strong leaves it out):', '',
                _markdown(pairs), '']
    return out


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


def _clean(value):
    """NaN -> None recursively (json.dump writes NaN otherwise)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def save(report: dict, json_path: Path, md_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_suffix('.json.tmp')
    tmp.write_text(json.dumps(_clean(report), indent=1, default=_json_default), encoding='utf-8')
    tmp.replace(json_path)
    write_markdown(md_path, report)
