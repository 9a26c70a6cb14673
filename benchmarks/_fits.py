"""One GRDM fit shared by variants that differ only in how they sample.

``benchmarks.quality`` (``grdm_cfg13``: the default fit at another guidance scale) and
``benchmarks.planted`` (a variant's ``samplings``) sample one fitted model several ways:
:class:`SharedFit` keeps the last fit and reuses it when the next variant's training
parameters are the same, with the sampling parameters of that variant.
"""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from ._versions import timing

#: Parameters read only when sampling: variants that differ only in these share one fit.
SAMPLING_PARAMS = ('sampling_steps', 'parent_lead', 'sampling_variance', 'guidance_scale',
                   'rank_columns', 'match_marginals', 'sibling_templates', 'link_matching',
                   'follower_columns', 'set_guidance')


def grdm_defaults() -> dict:
    """GRDMSynthesizer's keyword defaults, read from its signature."""
    from grdm_sdv import GRDMSynthesizer

    return {name: p.default for name, p in inspect.signature(GRDMSynthesizer).parameters.items()
            if p.default is not inspect.Parameter.empty}


class SharedFit:
    """The last ``GRDMSynthesizer`` fit, reused by variants with the same training parameters.

    Args:
        rewind: ``reset_sampling()`` before every sample, so each variant draws from the
            state right after the fit (``benchmarks.quality``); ``False`` continues the
            random stream of the previous sample (how ``benchmarks.planted`` has always
            sampled, so its recorded numbers stay reproducible).
    """

    def __init__(self, rewind: bool = True) -> None:
        self.rewind = rewind
        self._key = None
        self._synth = None
        self._fit_seconds = 0.0
        self._critic_seconds = 0.0

    def sample(
        self, metadata: Any, tables: dict[str, pd.DataFrame], params: dict, scale: float = 1.0,
        sampler=None,
    ) -> tuple[Any, dict[str, pd.DataFrame], float, float]:
        """Fit ``GRDMSynthesizer(metadata, **params)`` on ``tables`` (or reuse the last fit on
        the same ``tables`` object with the same training parameters), then sample at ``scale``.

        A reused fit gets every parameter of :data:`SAMPLING_PARAMS` from ``params``, or
        the library default where ``params`` has none.

        Args:
            sampler: ``sampler(synthesizer, scale) -> tables`` instead of ``sample_scale``.

        Returns:
            ``(synthesizer, synthetic, fit_seconds, sample_seconds)``; a reused fit reports
            the seconds of its one fit (with its set critics' where ``set_guidance`` is on).
        """
        from grdm_sdv import GRDMSynthesizer

        key = (id(tables), sorted((k, repr(v)) for k, v in params.items() if k not in SAMPLING_PARAMS))
        if key == self._key:
            defaults = grdm_defaults()
            for k in SAMPLING_PARAMS:
                if k in params or k in defaults:  # an older version may lack one
                    setattr(self._synth, k, params.get(k, defaults.get(k)))
            self._critics(tables)
        else:
            self._key = None  # a fit that fails is not reused
            self._synth = GRDMSynthesizer(metadata, **params)
            _, self._fit_seconds = timing.timed(self._synth.fit, tables)
            self._key = key
            self._critic_seconds = 0.0
        if self.rewind:
            self._synth.reset_sampling()
        if sampler is None:
            synthetic, sample_seconds = timing.timed(self._synth.sample_scale, scale)
        else:
            synthetic, sample_seconds = timing.timed(sampler, self._synth, scale)
        critics = self._critic_seconds if getattr(self._synth, 'set_guidance', 0) else 0.0
        return self._synth, synthetic, self._fit_seconds + critics, sample_seconds

    def _critics(self, tables: dict[str, pd.DataFrame]) -> None:
        """A reused fit sampled with ``set_guidance`` fits its set critics once (the same
        critics a fit with it on would fit); their seconds count in that variant's fit
        seconds only."""
        synth = self._synth
        if getattr(synth, 'set_guidance', 0) and not synth.get_info().get('set_critic_accuracy'):
            _, self._critic_seconds = timing.timed(synth.fit_set_critics, tables)

    def redraw(self, scale: float = 1.0) -> dict[str, pd.DataFrame]:
        """Another sample of the last fit at ``scale``, continuing its random stream (no
        rewind): the next of several draws from one fit (``benchmarks.quality --draws``)."""
        if self._synth is None:
            raise RuntimeError('redraw() needs a fit: call sample() first.')
        return self._synth.sample_scale(scale)
