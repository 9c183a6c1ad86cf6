"""Shared fixtures: the reference data and corpus live in ../shared beside the checkout."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REF = SHARED / "reference-data" / "threatexchange"
VIDEOS = REF / "videos"
CHAIRS = sorted(p.stem for p in (REF / "tmk").glob("*.tmk")) if (REF / "tmk").is_dir() else []


def need_shared() -> Path:
    if not REF.is_dir():
        pytest.skip(f"reference data not found at {REF} (../shared beside the checkout)")
    return REF


@pytest.fixture(scope="session")
def ref() -> Path:
    return need_shared()
