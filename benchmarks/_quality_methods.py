"""The methods of the quality benchmark and how each makes a synthetic database.

Every ``run_*`` returns ``(synthetic, fit_seconds, sample_seconds, extra)`` for one training
half; ``extra`` is recorded with the run (GRDM: its parameters, device and size).
"""

from __future__ import annotations

import zlib

import numpy as np

from grdm_sdv.timing import fit_and_sample, timed

from ._baselines import shuffle_links
from ._fits import SharedFit

#: GRDM variants: method -> GRDMSynthesizer options on top of the library's defaults.
GRDM_VARIANTS = {
    'grdm': {},
    'independent': {'n_hops': 0},
    'grdm_down': {'message_direction': 'down'},
    # The defaults before the cross-table fidelity work: every table at one noise level,
    # the loss on the seed rows only, the posterior variance, 2,000 steps.
    'grdm_joint': {'context_dropout': 0.0, 'guidance_scale': 1.0,
                   'independent_times': 0.0, 'parent_lead': 0.0, 'loss_hops': 0,
                   'sampling_variance': 'posterior', 'steps': 2000, 'rank_columns': False,
                   'match_marginals': False},
    'grdm_summaries': {'child_summaries': True},
    # The defaults of 0.2.0: no classifier-free guidance.
    'grdm_v020': {'context_dropout': 0.0, 'guidance_scale': 1.0, 'rank_columns': False,
                  'match_marginals': False},
    # 1.5x the training steps: the documented larger configuration until it stopped scoring
    # higher than the defaults (0.2.24, docs/fidelity.md).
    'grdm_large': {'steps': 3000},
    # The training steps of the defaults until 0.2.13 (0.2.14 doubled them).
    'grdm_steps1000': {'steps': 1000},
    # Other guidance scales of the default fit (one fit serves every scale).
    'grdm_cfg1': {'guidance_scale': 1.0},
    'grdm_cfg13': {'guidance_scale': 1.3},
    'grdm_cfg15': {'guidance_scale': 1.5},
    # How far children trail their parents at sampling, and the number of reverse steps
    # (the top level's chain runs in the first 1 / (1 + lead * depth) of the steps).
    'grdm_lead025': {'parent_lead': 0.25},
    'grdm_lead075': {'parent_lead': 0.75},
    # A longer parent lead instead of guidance: on the bench, children then hear finished
    # parents (docs/fidelity.md, "Where the small parents' shortfall comes from").
    'grdm_cfg1_lead075': {'guidance_scale': 1.0, 'parent_lead': 0.75},
    'grdm_steps100': {'sampling_steps': 100},
    # The default fit sampled with the DDPM posterior's variance (what the default 'auto'
    # takes for a free sample since 0.2.10), and with beta_t (the 0.2.9 defaults).
    'grdm_posterior': {'sampling_variance': 'posterior'},
    'grdm_beta': {'sampling_variance': 'beta'},
    # The default fit sampled with sample_sharded in 8 shards (same structure as 'grdm').
    'grdm_sharded': {'shards': 8},
    # The same in one shard per stage: what staging costs (tables shared across shards
    # first, held clean) apart from what the shard boundaries cost.
    'grdm_staged': {'shards': 1},
    # The default fit without its rank columns kept numbered (the behaviour before 0.2.3).
    'grdm_noranks': {'rank_columns': False},
    # Diagnostic: the default fit's attributes generated on the training half's own keys and
    # links (sample_from_structure), so the structure model's share of a score shows.
    'grdm_realstruct': {'real_structure': True},
    # Twice the neighbours per row and foreign key, in training subgraphs and at sampling.
    'grdm_fan16': {'fanout': 16},
    # Twice the hidden width (the other larger configuration the issue names, measured when
    # steps=3000 stopped scoring higher than the defaults: docs/fidelity.md).
    'grdm_wide': {'hidden_dim': 256},
    # Three message-passing layers (each row hears its 3-hop neighbourhood; fails in training
    # before 0.2.25).
    'grdm_hops3': {'n_hops': 3},
    # The default fit without matched marginals (the 0.2.3 defaults).
    'grdm_nomatch': {'match_marginals': False},
    # The default fit with only its numerical columns matched (the 0.2.4 defaults).
    'grdm_matchnum': {'match_marginals': 'numerical'},
    # The default fit without its template columns composed (the 0.2.5 defaults).
    'grdm_notemplates': {'sibling_templates': False},
    # The default fit with secondary foreign keys matched at random (the 0.2.6 matching; the
    # fit, and the rows' places as model inputs, are the current defaults').
    'grdm_randomlinks': {'link_matching': 'random'},
    # The default fit without its follower columns put in their rank columns' order (the
    # 0.2.10 defaults).
    'grdm_nofollow': {'follower_columns': False},
    # Fitted without the rows' places on the co-parent axes (the 0.2.7 defaults; a refit).
    'grdm_noaxispos': {'axis_positions': False},
    # Fitted without the top-level rows' places among their children (the 0.2.11 defaults;
    # a refit).
    'grdm_noplaces': {'child_places': False},
    # The default fit with secondary foreign keys matched along their co-parent axes only,
    # not by child places within them (the 0.2.12 matching; same fit).
    'grdm_axislinks': {'link_matching': 'axis'},
    # The default fit with set critics fitted on it and guiding its samples at scale 3 (the
    # documented larger configuration since 0.2.28: more fit time, lower detection on F1).
    'grdm_setguide': {'set_guidance': 3.0},
}
#: Every method: the baselines and each GRDM variant (in the order above).
METHODS = ('grdm', 'hma', 'independent', 'links_shuffled', 'ceiling',
           *(m for m in GRDM_VARIANTS if m not in ('grdm', 'independent')))
#: Run unless --methods says otherwise (the others are opt-in variants; grdm_randomlinks is
#: the default fit with the 0.2.6 matching and grdm_notemplates the defaults without sibling
#: templates, measured in the same run on the same fit; grdm_noaxispos, the 0.2.7 defaults,
#: is a refit).
DEFAULT_METHODS = ('grdm', 'grdm_setguide', 'grdm_randomlinks', 'grdm_notemplates', 'hma',
                   'independent', 'links_shuffled', 'ceiling')
METHOD_LABELS = {
    'grdm': 'GRDM',
    'hma': 'HMA',
    'independent': 'per-table (n_hops=0)',
    'links_shuffled': 'links shuffled',
    'ceiling': 'ceiling (real half)',
    'grdm_down': "GRDM, message_direction='down'",
    'grdm_joint': 'GRDM, joint schedule (0.1 defaults)',
    'grdm_summaries': 'GRDM, child_summaries=True',
    'grdm_v020': 'GRDM 0.2.0 defaults (no guidance)',
    'grdm_large': 'GRDM, steps=3000',
    'grdm_steps1000': 'GRDM, steps=1000 (0.2.13 defaults)',
    'grdm_cfg1': 'GRDM, guidance_scale=1 (same fit)',
    'grdm_cfg13': 'GRDM, guidance_scale=1.3 (same fit)',
    'grdm_cfg15': 'GRDM, guidance_scale=1.5 (same fit)',
    'grdm_lead025': 'GRDM, parent_lead=0.25 (same fit)',
    'grdm_lead075': 'GRDM, parent_lead=0.75 (same fit)',
    'grdm_cfg1_lead075': 'GRDM, guidance_scale=1, parent_lead=0.75 (same fit)',
    'grdm_steps100': 'GRDM, sampling_steps=100 (same fit)',
    'grdm_posterior': "GRDM, sampling_variance='posterior' (same fit)",
    'grdm_beta': "GRDM, sampling_variance='beta' (0.2.9; same fit)",
    'grdm_sharded': 'GRDM, sample_sharded in 8 shards (same fit)',
    'grdm_staged': 'GRDM, sample_sharded, one shard per stage (same fit)',
    'grdm_noranks': 'GRDM, rank_columns=False (same fit)',
    'grdm_realstruct': 'GRDM attributes on the real keys and links (same fit)',
    'grdm_fan16': 'GRDM, fanout=16',
    'grdm_wide': 'GRDM, hidden_dim=256',
    'grdm_hops3': 'GRDM, n_hops=3',
    'grdm_nomatch': 'GRDM, match_marginals=False (same fit)',
    'grdm_matchnum': "GRDM, match_marginals='numerical' (same fit)",
    'grdm_notemplates': 'GRDM, sibling_templates=False (same fit)',
    'grdm_randomlinks': "GRDM, link_matching='random' (same fit)",
    'grdm_nofollow': 'GRDM, follower_columns=False (0.2.10; same fit)',
    'grdm_noaxispos': 'GRDM, axis_positions=False (0.2.7)',
    'grdm_noplaces': 'GRDM, child_places=False (0.2.11)',
    'grdm_axislinks': "GRDM, link_matching='axis' (0.2.12; same fit)",
    'grdm_setguide': 'GRDM, set_guidance=3 (same fit, critics added)',
}


def run_grdm(train, metadata, seed, settings, fits: SharedFit, **options):
    """Fit (or reuse the fit ``fits`` holds for the same data and training settings), sample."""
    shards = options.pop('shards', None)
    real_structure = options.pop('real_structure', False)
    kwargs = {'seed': seed, 'verbose': False, **options}
    # Steps given on the command line (or by --quick) apply to every GRDM variant.
    kwargs.update({k: settings[k] for k in ('steps', 'sampling_steps') if settings[k] is not None})
    run = {}  # the sharded sampler's manifest
    sampler = None if shards is None else (lambda synth, scale: _sharded(synth, scale, train, shards, run))
    if real_structure:
        def sampler(synth, scale):
            return synth.sample_from_structure(train)
    synth, synthetic, fit_s, sample_s = fits.sample(metadata, train, kwargs, sampler=sampler)
    info = synth.get_info()
    extra = {'params': {k: v for k, v in synth.get_parameters().items() if k != 'locales'},
             'device': info.get('fit_device'), 'num_parameters': info.get('num_parameters')}
    if shards is not None:
        extra['sharded'] = _against_unsharded(synth, synthetic, metadata, seed, settings,
                                              run['manifest']['shards'])
    return synthetic, fit_s, sample_s, extra


def _sharded(synth, scale: float, train, shards: int, run: dict) -> dict:
    """``sample_sharded`` in about ``shards`` shards (parquet, so dtypes survive), read back;
    its manifest goes into ``run``."""
    import tempfile

    from grdm_sdv.sharding import read_sharded

    rows = int(scale * sum(len(df) for df in train.values()))
    with tempfile.TemporaryDirectory() as folder:
        run['manifest'] = synth.sample_sharded(folder, scale=scale, file_format='parquet',
                                                max_rows_in_memory=max(1, rows // shards))
        return read_sharded(folder)


def _against_unsharded(synth, sharded, metadata, seed, settings, n_shards: int) -> dict:
    """The same fit sampled in one piece from the same state (so the same structure):
    C2ST-Agg detection of the sharded tables against it (0.5: indistinguishable), and, for
    the noise of that test, of a second one-piece sample (the next draw) against it."""
    from grdm_sdv.evaluation import detection_c2st_agg

    synth.reset_sampling()
    whole = synth.sample_scale(1.0)
    again = synth.sample_scale(1.0)
    out = {'shards': n_shards,
           'same_rows': {t: len(whole[t]) == len(sharded[t]) for t in whole}}
    if settings['detection']:
        for key, other in (('detection_vs_unsharded', sharded), ('detection_unsharded_vs_unsharded', again)):
            det = detection_c2st_agg(whole, other, metadata, seed=seed)
            out[key] = dict(zip(det['table'], det['accuracy'].round(4)))
    return out


def run_hma(train, metadata, seed, settings):
    from sdv.multi_table import HMASynthesizer

    synth = HMASynthesizer(metadata, verbose=False)  # raises on >5 tables or depth > 2
    np.random.seed(seed)
    synthetic, fit_s, sample_s = fit_and_sample(synth, train, 1.0)
    return synthetic, fit_s, sample_s, {}


def hma_refusal(metadata) -> str | None:
    """HMA's refusal message for this schema, or None when it accepts it."""
    from sdv.errors import SynthesizerInputError
    from sdv.multi_table import HMASynthesizer

    try:
        HMASynthesizer(metadata, verbose=False)
    except SynthesizerInputError as error:
        return str(error).split('\n')[0]
    return None



def redrawable(method: str) -> bool:
    """A GRDM variant sampled in one piece (``SharedFit.redraw`` draws it again)."""
    options = GRDM_VARIANTS.get(method)
    return options is not None and not {'shards', 'real_structure'} & set(options)


def run_method(method, name, train, holdout, metadata, seed, settings, fits: SharedFit):
    if method in GRDM_VARIANTS:
        return run_grdm(train, metadata, seed, settings, fits, **GRDM_VARIANTS[method])
    if method == 'hma':
        return run_hma(train, metadata, seed, settings)
    if method == 'links_shuffled':
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 1])
        synthetic, seconds = timed(shuffle_links, holdout, metadata, rng)
        return synthetic, 0.0, seconds, {}
    if method == 'ceiling':
        return holdout, 0.0, 0.0, {}
    raise ValueError(method)
