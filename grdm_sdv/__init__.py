"""grdm-sdv: synthetic relational databases with graph-conditional diffusion (GRDM).

``GRDMSynthesizer`` is an SDV multi-table synthesizer: ``fit(tables)``, then
``sample(scale=2.0)``.
"""

__version__ = '0.2.28'

from .synthesizer import GRDMSynthesizer  # noqa: E402

__all__ = ['GRDMSynthesizer', '__version__']
