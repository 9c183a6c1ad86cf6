"""vidprint: video fingerprinting (PDQ/PDQF, TMK+PDQF, vPDQ) from a single PyAV decode pass.

>>> import vidprint
>>> fp = vidprint.fingerprint("upload.mp4")            # doctest: +SKIP
>>> fp.save("upload.vpfp")                             # doctest: +SKIP
>>> vidprint.compare(fp, vidprint.load("known.vpfp"))  # doctest: +SKIP
Comparison(matched=True, kind='both', ...)

Stages, data flowing one way: :mod:`vidprint.decode` -> :mod:`vidprint.pdqf` ->
:mod:`vidprint.tmk` / :mod:`vidprint.vpdq` -> :mod:`vidprint.pipeline` -> :mod:`vidprint.index`
-> :mod:`vidprint.batch` / :mod:`vidprint.eval` -> :mod:`vidprint.cli`.
"""
from vidprint import _numba_cache

_numba_cache.configure()

from vidprint.errors import (  # noqa: E402
    DecodeError,
    HashFileError,
    IncompatibleDescriptorsError,
    IndexStoreError,
    VidprintError,
)

__version__ = "0.1.0.dev0"

# The verbs below pull in Numba and PyAV: resolved on first use so that ``import vidprint`` and
# ``vidprint --help`` stay fast.
_LAZY = {
    "fingerprint": ("vidprint.pipeline", "fingerprint"),
    "Fingerprint": ("vidprint.record", "Fingerprint"),
    "compare": ("vidprint.matching", "compare"),
    "load": ("vidprint.matching", "load"),
    "Comparison": ("vidprint.matching", "Comparison"),
    "Thresholds": ("vidprint.matching", "Thresholds"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vidprint' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Comparison",
    "DecodeError",
    "Fingerprint",
    "Thresholds",
    "compare",
    "load",
    "HashFileError",
    "IncompatibleDescriptorsError",
    "IndexStoreError",
    "VidprintError",
    "__version__",
    "fingerprint",
]
