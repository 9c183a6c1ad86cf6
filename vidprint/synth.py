"""Synthetic test videos, generated with PyAV: deterministic, textured, different for every seed.

Used by ``vidprint demo`` and by the tests. Each scene is a smooth random texture that pans and a few
moving discs, so PDQ sees high-quality frames that change over time; scenes of different seeds are
unrelated content.
"""
from __future__ import annotations

import io
import itertools
import os
from fractions import Fraction
from typing import BinaryIO, Iterable, Sequence

import av
import numpy as np


def scene_frames(seed: int, n_frames: int, width: int, height: int, fps: float = 30.0):
    """Yield ``n_frames`` RGB frames (``uint8[height, width, 3]``) of scene ``seed``.

    Frame ``i`` shows the scene at time ``i / fps`` seconds, so the same seed rendered at two frame
    rates shows the same content at the same times.
    """
    rng = np.random.default_rng(seed)
    # A large smooth texture: sum of random low-frequency cosines, per colour channel.
    tw, th = width * 2, height * 2
    yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
    tex = np.zeros((th, tw, 3), np.float32)
    for _ in range(12):
        fx, fy = rng.uniform(0.5, 6.0, 2) / np.array([tw, th]) * 2 * np.pi
        phase = rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(20, 60, 3).astype(np.float32)
        tex += amp * np.cos(fx * xx + fy * yy + phase)[..., None]
    tex = 128 + tex * (100.0 / max(1.0, np.abs(tex).max()))
    discs = [(rng.uniform(0, 1, 2), rng.uniform(-0.3, 0.3, 2), rng.uniform(0.05, 0.15), rng.integers(0, 256, 3))
             for _ in range(4)]
    vx, vy = rng.uniform(-0.15, 0.15, 2)
    fy_, fx_ = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(n_frames):
        t = i / fps
        ox = int((0.5 + 0.5 * np.sin(vx * t * 2 * np.pi)) * (tw - width))
        oy = int((0.5 + 0.5 * np.sin(vy * t * 2 * np.pi)) * (th - height))
        img = tex[oy : oy + height, ox : ox + width].copy()
        for pos, vel, rad, col in discs:
            cx = ((pos[0] + vel[0] * t) % 1.0) * width
            cy = ((pos[1] + vel[1] * t) % 1.0) * height
            mask = (fx_ - cx) ** 2 + (fy_ - cy) ** 2 < (rad * min(width, height)) ** 2
            img[mask] = col
        yield np.clip(img, 0, 255).astype(np.uint8)


def write_video(
    dst: "str | os.PathLike[str] | BinaryIO",
    frames: Iterable[np.ndarray],
    fps: float = 30.0,
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    container_format: str | None = None,
    times: Sequence[float] | None = None,
    rotation: int | None = None,
    crf: int = 18,
) -> None:
    """Encode RGB frames (any iterable: a generator streams) to ``dst`` (a path or a binary file object).

    ``times`` (seconds, increasing) gives each frame its own presentation time: a variable frame
    rate. ``rotation`` writes a display matrix (degrees counter-clockwise) the way phones do.
    """
    fmt = container_format or (None if isinstance(dst, (str, os.PathLike)) else "mp4")
    # Files get their moov first, as phone and web videos usually have (FFmpeg's faststart re-reads
    # the output, so in-memory outputs keep it at the end).
    faststart = isinstance(dst, (str, os.PathLike)) and os.fspath(dst).endswith((".mp4", ".mov"))
    out = av.open(dst, mode="w", format=fmt, options={"movflags": "faststart"} if faststart else None)
    try:
        rate = Fraction(fps).limit_denominator(1001)
        stream = out.add_stream(codec, rate=rate)
        frames = iter(frames)
        first = next(frames)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = pix_fmt
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 90000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i, rgb in enumerate(itertools.chain([first], frames)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if times is not None:
                frame.pts = int(round(times[i] * 90000))
                frame.time_base = Fraction(1, 90000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    finally:
        out.close()


def make_video(
    seed: int,
    seconds: float = 3.0,
    fps: float = 30.0,
    size: tuple[int, int] = (320, 240),
    **kwargs,
) -> bytes:
    """Render scene ``seed`` and return the encoded video as bytes (MP4/H.264 unless told otherwise)."""
    w, h = size
    frames = list(scene_frames(seed, int(round(seconds * fps)), w, h, fps))
    buf = io.BytesIO()
    write_video(buf, frames, fps, **kwargs)
    return buf.getvalue()
