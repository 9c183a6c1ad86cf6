"""FFmpeg's constant-frame-rate output rule (drop/duplicate, never blend), as the TMK reference saw it.

The reference TMK hasher lets the ``ffmpeg`` CLI resample every video to 15 fps with ``-r 15`` on a
rawvideo output. That selects FFmpeg's CFR video sync (``do_video_out`` in FFmpeg 4.1-5.1); this
module reproduces its frame choice so that vidprint's frame counts equal the reference ``.tmk``
headers (docs/algorithms.md §2.2). Pure Python: it runs once per decoded frame and costs nanoseconds.
"""
from __future__ import annotations

import math


class CFRResampler:
    """Decide, frame by frame, how many output frames each decoded frame becomes.

    Parameters
    ----------
    out_fps : int
        Output frame rate (15 for TMK).
    start_s : float
        Container start time in seconds (the minimum over all streams), subtracted from every pts.
    in_fps : float
        The stream's nominal frame rate, used when a frame carries no usable duration.
    """

    def __init__(self, out_fps: float, start_s: float, in_fps: float | None):
        self.out_fps = float(out_fps)
        self.start_s = float(start_s)
        self.in_fps = float(in_fps) if in_fps and in_fps > 0 else None
        self.count = 0  # output frames emitted so far

    def push(self, pts_s: float | None, duration_s: float | None) -> tuple[int, int]:
        """Feed one decoded frame (presentation order).

        Returns ``(repeat_previous, emit_current)``: first emit the previous decoded frame
        ``repeat_previous`` more times, then this frame ``emit_current`` times (each 0 or more).
        A frame without a timestamp is placed right after the last output frame.
        """
        rate = self.out_fps
        s = (pts_s - self.start_s) * rate if pts_s is not None else float(self.count)
        d = float(_rint(duration_s * rate)) if duration_s is not None and duration_s > 0 else 0.0
        if d <= 0:
            d = min(rate / self.in_fps, 1.0) if self.in_fps else 1.0
        delta0 = s - self.count
        delta = delta0 + d
        if delta0 < 0 and delta > 0:
            delta0 = 0.0
        if delta < -1.1:
            copies = 0
        elif delta > 1.1:
            copies = _rint(delta)
        else:
            copies = 1
        repeats = 0
        if copies > 1 and delta0 > 1.1:
            repeats = min(_rint(delta0 - 0.6), copies)
        self.count += copies
        return repeats, copies - repeats


def _rint(x: float) -> int:
    """C ``lrint`` in the default rounding mode: nearest, ties to even."""
    if not math.isfinite(x):
        raise ValueError(f"non-finite timestamp arithmetic: {x}")
    return int(round(x))
