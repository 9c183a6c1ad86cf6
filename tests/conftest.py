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


def assert_same_evidence(got, want, rel: float = 1e-12) -> None:
    """Two evidence records (frozen dataclasses) are the same: every field equal, the float scores to
    within ``rel`` (the index scores its candidates' level 2 in batches, :func:`vidprint.matching.
    whole_evidence_many`, whose matrix products may round the last bit differently from one pair)."""
    import dataclasses
    import math

    assert type(got) is type(want), (got, want)
    for f in dataclasses.fields(want):
        g, w = getattr(got, f.name), getattr(want, f.name)
        if isinstance(w, float) and isinstance(g, float) and math.isfinite(w):
            assert g == pytest.approx(w, rel=rel), (f.name, got, want)
        else:
            assert g == w or (isinstance(w, float) and math.isnan(w) and math.isnan(g)), (f.name, got, want)
