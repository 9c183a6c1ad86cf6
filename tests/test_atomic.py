"""Hash files are replaced atomically: a writer killed half-way leaves the previous file intact."""
from __future__ import annotations

import os

import pytest

from vidprint.atomic import atomic_write


def test_replaces_whole_file(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write(p, "old\n")
    atomic_write(p, b"new")
    assert p.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_failure_keeps_old_content_and_leaves_no_temporary(tmp_path, monkeypatch):
    p = tmp_path / "a.tmk"
    atomic_write(p, b"complete old file")

    def killed(src, dst):
        raise KeyboardInterrupt  # as if the process were stopped between write and rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(p, b"x" * 1_000_000)
    assert p.read_bytes() == b"complete old file"
    assert os.listdir(tmp_path) == ["a.tmk"]
