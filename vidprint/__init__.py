"""vidprint: video fingerprinting (PDQ/PDQF, TMK+PDQF, vPDQ) from a single PyAV decode pass.

Stages, data flowing one way: :mod:`vidprint.decode` -> :mod:`vidprint.pdqf` ->
:mod:`vidprint.tmk` / :mod:`vidprint.vpdq` -> :mod:`vidprint.index`.
"""
from vidprint.errors import DecodeError, HashFileError, VidprintError

__version__ = "0.1.0.dev0"
__all__ = ["DecodeError", "HashFileError", "VidprintError", "__version__"]
