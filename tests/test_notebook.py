"""Execute notebooks/whole_vs_clip.ipynb top to bottom (nbclient, the venv's python3 kernel)."""
from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NB = Path(__file__).resolve().parents[1] / "notebooks" / "whole_vs_clip.ipynb"


def test_whole_vs_clip_notebook_runs():
    nb = nbformat.read(NB, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB.parent)}})
    client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "ms / pair" in text and "recall" in text.lower()
    assert "clip_5s" in text
