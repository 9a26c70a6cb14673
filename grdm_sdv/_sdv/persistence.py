"""Reading saved synthesizers: the version check, and classes that moved between versions."""

from __future__ import annotations

import importlib
import pickle

from sdv._utils import check_sdv_versions_and_warn, check_synthesizer_version
from sdv.errors import SynthesizerInputError

from .. import __version__

# Modules of 0.2.0/0.2.1 whose classes moved in the 0.2.2 layout: old module -> new homes.
MOVED_MODULES = {
    'grdm_sdv.denoiser': ('grdm_sdv.nn.denoiser',),
    'grdm_sdv.layers': ('grdm_sdv.nn.hetero', 'grdm_sdv.nn.layers'),
    'grdm_sdv.encoding': ('grdm_sdv.data.encoding',),
    'grdm_sdv.schema': ('grdm_sdv.data.schema',),
    'grdm_sdv.graph': ('grdm_sdv.data.graph',),
    'grdm_sdv.summaries': ('grdm_sdv.data.summaries',),
}


class Unpickler(pickle.Unpickler):
    """cloudpickle's reader that also finds classes saved under their 0.2.0/0.2.1 modules."""

    def find_class(self, module: str, name: str):
        for new in MOVED_MODULES.get(module, ()):
            found = getattr(importlib.import_module(new), name, None)
            if found is not None:
                return found
        return super().find_class(module, name)


def compatible(version: str) -> list[str]:
    """The part of a version that must match to read a saved model (``0.x``: major.minor)."""
    parts = version.split('.')
    return parts[:2] if parts[0] == '0' else parts[:1]


def check_saved_version(state: dict) -> None:
    """Refuse a pickled state written by a version this one cannot read."""
    saved = state.get('_grdm_version')
    if not isinstance(saved, str) or compatible(saved) != compatible(__version__):
        raise SynthesizerInputError(
            f'This synthesizer was saved by grdm-sdv {saved}, which this version '
            f'({__version__}) cannot read. Refit it with this version, or install '
            f'grdm-sdv {saved} to use it.'
        )


def load_file(cls, filepath: str):
    """The ``cls`` instance saved in ``filepath``, or a ``SynthesizerInputError`` saying why not
    (a corrupt file, another class, a version this one cannot read, a newer SDV)."""
    try:
        with open(filepath, 'rb') as fh:
            synth = Unpickler(fh).load()
    except FileNotFoundError:
        raise
    except SynthesizerInputError as err:  # from __setstate__: a wrong version
        raise SynthesizerInputError(f"'{filepath}': {err}") from err
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError,
            TypeError, IndexError) as err:
        raise SynthesizerInputError(
            f"Could not load a synthesizer from '{filepath}': the file is corrupt or was "
            f'not written by GRDMSynthesizer.save ({type(err).__name__}: {err}).'
        ) from err
    if not isinstance(synth, cls):
        raise SynthesizerInputError(
            f"'{filepath}' holds a {type(synth).__name__}, not a {cls.__name__}."
        )
    check_synthesizer_version(synth)  # SDV's: a file from a newer SDV is refused
    check_sdv_versions_and_warn(synth)
    return synth
