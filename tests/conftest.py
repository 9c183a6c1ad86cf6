"""Shared fixtures and paths: the reference data and the corpus live in ``../shared`` beside the checkout.

Set ``VIDPRINT_SHARED`` to use another copy of that folder (it must contain ``reference-data/`` and,
for the corpus tests, ``corpus/``). Tests that need it skip, naming the path, only when it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The shared folder: ``$VIDPRINT_SHARED`` if set, else ``../shared`` beside the checkout.
SHARED = Path(os.environ.get("VIDPRINT_SHARED") or Path(__file__).resolve().parents[2] / "shared").expanduser()
#: Meta's ThreatExchange reference data (videos, ``.tmk`` and vPDQ sample hashes, PDQ test images).
REF = SHARED / "reference-data" / "threatexchange"
VIDEOS = REF / "videos"
TMK_DIR = REF / "tmk"
VPDQ_DIR = REF / "vpdq"
PDQ_IMAGES = REF / "pdq-images"
#: The corpus of real videos (``corpus/MANIFEST.tsv`` gives licence and content group).
CORPUS = SHARED / "corpus" / "videos"
CHAIRS = sorted(p.stem for p in TMK_DIR.glob("*.tmk")) if TMK_DIR.is_dir() else []


def need_shared() -> Path:
    if not REF.is_dir():
        pytest.skip(f"reference data not found at {REF} (../shared beside the checkout, or set VIDPRINT_SHARED)")
    return REF


@pytest.fixture(scope="session")
def ref() -> Path:
    return need_shared()
