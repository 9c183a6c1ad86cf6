"""Progress output: a bar on a terminal, plain lines otherwise, JSON lines with --json, nothing with --quiet;
and the crash-safe JSON-lines files (log, report)."""
from __future__ import annotations

import io
import json

from vidprint.batch.progress import (BarProgress, JsonProgress, LineProgress, QuietProgress, format_summary,
                                     make_progress)
from vidprint.batch.run import Counters, JsonLines, RunLog
from vidprint.cli.batch import parse_bytes


class _Tty(io.StringIO):
    def isatty(self):
        return True


def _summary(**kw):
    c = Counters("batch")
    c.files, c.done, c.frames = 5, 2, 600
    c.skipped["already indexed"] = 1
    c.failed["timeout"] = 1
    c.failed["no video stream"] = 1
    s = c.summary()
    s.update(kw)
    return s


def test_make_progress_chooses_by_flags_and_terminal():
    assert isinstance(make_progress(stream=_Tty()), BarProgress)
    assert isinstance(make_progress(stream=io.StringIO()), LineProgress)
    assert type(make_progress(quiet=True, stream=_Tty())) is QuietProgress
    assert isinstance(make_progress(as_json=True, stream=_Tty()), JsonProgress)


def test_line_progress_prints_one_line_per_file_and_the_summary():
    out = io.StringIO()
    p = LineProgress(out)
    p.problem("a/loop", "symlink loop", "leads back")
    p.start(2)
    p.file("a/x.mp4", "hashed", frames=300, seconds=1.5)
    p.file("a/y.mp4", "failed", kind="timeout", reason="no result within 5 s")
    p.finish(_summary())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[listing] failed   a/loop")
    assert lines[1] == "2 files to process"
    assert lines[2] == "[1/2] hashed   a/x.mp4 (300 frames in 1.50 s)"
    assert lines[3] == "[2/2] failed   a/y.mp4 (timeout: no result within 5 s)"
    assert lines[4].startswith("batch: 5 files: 2 hashed, 1 skipped (1 already indexed), 2 failed "
                               "(1 no video stream, 1 timeout); 600 frames decoded")


def test_bar_progress_shows_failures_and_frames():
    out = _Tty()
    p = BarProgress(out)
    p.start(2)
    p.file("x.mp4", "failed", kind="crashed (SIGSEGV)", reason="died")
    p.file("y.mp4", "hashed", frames=100, seconds=0.5)
    p.finish(_summary())
    text = out.getvalue()
    assert "failed: x.mp4 (crashed (SIGSEGV): died)" in text
    assert "2/2" in text and "frames/s" in text and "1 failed" in text
    assert "batch: 5 files" in text


def test_json_progress_is_one_object_per_line():
    out = io.StringIO()
    p = JsonProgress(out)
    p.start(1)
    p.file("x.mp4", "hashed", frames=10, seconds=0.25, content_id="ab" * 32)
    p.finish(_summary())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[0] == {"event": "start", "files": 1}
    assert rows[1]["status"] == "hashed" and rows[1]["content_id"] == "ab" * 32 and rows[1]["frames"] == 10
    assert rows[2]["event"] == "summary" and rows[2]["failed"] == {"timeout": 1, "no video stream": 1}


def test_summary_mentions_interruption():
    assert "INTERRUPTED" in format_summary(_summary(interrupted=True))


def test_json_lines_drop_a_line_cut_by_a_kill(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"event": "error", "content_id": "aa", "path": "x"}\n{"event": "err')
    log = RunLog(str(path))
    assert set(log.failed) == {"aa"}
    log.error({"path": "y", "content_id": "bb", "stage": "decode", "kind": "k", "reason": "r"})
    log.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["content_id"] for r in rows] == ["aa", "bb"]
    again = JsonLines(str(path))
    again.close()
    assert len(again.lines) == 2


def test_parse_bytes():
    assert parse_bytes("4G") == 4 << 30
    assert parse_bytes("512M") == 512 << 20
    assert parse_bytes("1.5GiB") == 3 << 29
    assert parse_bytes("1000000") == 1000000
