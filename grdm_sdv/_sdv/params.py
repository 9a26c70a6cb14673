"""Checks of GRDMSynthesizer's parameters, each refusal naming what is allowed."""

from __future__ import annotations

import numpy as np
from sdv.errors import SynthesizerInputError


def check_scale(scale) -> None:
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.number)) \
            or not np.isfinite(scale) or scale <= 0:
        raise SynthesizerInputError(
            f"Invalid value for 'scale' ({scale!r}): pass a number greater than 0, "
            'e.g. scale=2.0 for a database twice the size of the training data.'
        )


def check_params(**params) -> None:
    bad = []
    for name, value in params.items():
        if name == 'mixed_precision':
            if not isinstance(value, (bool, np.bool_, type(None))):
                bad.append(f"'{name}'={value!r} (True, False or None)")
        elif name == 'message_direction':
            if value not in ('both', 'down'):
                bad.append(f"'{name}'={value!r} ('both' or 'down')")
        elif name == 'link_matching':
            if value not in ('places', 'axis', 'random'):
                bad.append(f"'{name}'={value!r} ('places', 'axis' or 'random')")
        elif name == 'sampling_variance':
            if value not in ('auto', 'posterior', 'beta'):
                bad.append(f"'{name}'={value!r} ('auto', 'posterior' or 'beta')")
        elif name == 'guidance_scale':
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                bad.append(f"'{name}'={value!r} (a number >= 0; 1: no guidance)")
        elif name == 'set_guidance':
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float('inf'):
                bad.append(f"'{name}'={value!r} (a number >= 0; 0: off)")
        elif name in ('independent_times', 'parent_lead', 'context_dropout'):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                bad.append(f"'{name}'={value!r} (a number from 0 to 1)")
        elif name == 'match_marginals':
            if not isinstance(value, (bool, np.bool_)) and value != 'numerical':
                bad.append(f"'{name}'={value!r} (True, False or 'numerical')")
        elif name in ('torch_compile', 'child_summaries', 'rank_columns', 'sibling_templates',
                      'calibrate_guidance', 'follower_columns', 'axis_positions', 'child_places',
                      'nested_places'):
            if not isinstance(value, (bool, np.bool_)):
                bad.append(f"'{name}'={value!r} (True or False)")
        elif name == 'learning_rate':
            if not isinstance(value, (int, float)) or not value > 0:
                bad.append(f"'{name}'={value!r} (a number > 0)")
        elif isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or value < (0 if name in ('n_hops', 'loss_hops') else 1):
            low = 0 if name in ('n_hops', 'loss_hops') else 1
            bad.append(f"'{name}'={value!r} (an integer >= {low})")
    if params.get('num_timesteps', 2) < 2:
        bad.append(f"'num_timesteps'={params['num_timesteps']!r} (at least 2)")
    if bad:
        raise SynthesizerInputError('Invalid GRDMSynthesizer parameter(s): ' + ', '.join(bad) + '.')


def check_guidance(scale, context_dropout: float) -> float:
    """``guidance_scale`` as a float, refused when the model is (or will be) fitted without
    context dropout, from which it learns the message-free prediction guidance starts."""
    check_params(guidance_scale=scale)
    if scale != 1 and not context_dropout:
        raise SynthesizerInputError(
            f'guidance_scale={scale} needs a model fitted with context_dropout > 0 (it then '
            'learns the message-free prediction guidance starts from). Set guidance_scale=1, '
            'or fit with e.g. context_dropout=0.1.')
    return float(scale)


def check_column_guidance(scales, metadata, context_dropout: float) -> dict[str, dict[str, float]]:
    """``column_guidance`` (``{'table.column': scale}`` or ``None``) as table -> column ->
    scale, every name checked against the metadata and every scale as ``guidance_scale``."""
    if scales is None:
        return {}
    if not isinstance(scales, dict):
        raise SynthesizerInputError(
            f"Invalid value for 'column_guidance' ({scales!r}): pass None or a dict such as "
            "{'order_item.quantity': 1.0}.")
    out: dict[str, dict[str, float]] = {}
    bad = []
    for name, scale in scales.items():
        table = next((t for t in metadata.tables if isinstance(name, str) and name.startswith(f'{t}.')
                      and name[len(t) + 1:] in metadata.tables[t].columns), None)
        if table is None:
            bad.append(f'{name!r} (no column of the metadata: write \'table.column\')')
        elif isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale >= 0:
            bad.append(f'{name!r}: {scale!r} (a number >= 0; 1: no guidance)')
        else:
            out.setdefault(table, {})[name[len(table) + 1:]] = check_guidance(scale, context_dropout)
    if bad:
        raise SynthesizerInputError(f"Invalid column_guidance entr{'y' if len(bad) == 1 else 'ies'}: "
                                    + ', '.join(bad) + '.')
    return out
