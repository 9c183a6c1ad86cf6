"""Decoding: one PyAV pass per video, fanned out to frame sources (TMK, vPDQ) as PDQ luminance.

Public API: :func:`read_frames`, :class:`TMKSource`, :class:`VPDQSource`, :class:`FrameBatch`,
:func:`probe`, :class:`VideoInfo`, :class:`DecodeStats` and its :class:`DecodeReport` (what happened
while decoding: skipped packets, declared vs decoded frames, a stream cut short; docs/decoding.md).
"""
from vidprint.decode.container import VideoInfo, open_container, select_video_stream, source_name, video_info
from vidprint.decode.reader import DecodeStats, FrameBatch, read_frames
from vidprint.decode.report import DecodeReport
from vidprint.decode.sources import TMKSource, VPDQSource


def probe(src, stream: str = "first") -> VideoInfo:
    """What the container says about its video stream, without decoding any frame."""
    name = source_name(src)
    container = open_container(src, name)
    try:
        return video_info(container, select_video_stream(container, stream, name), name)
    finally:
        container.close()


__all__ = ["DecodeReport", "DecodeStats", "FrameBatch", "TMKSource", "VPDQSource", "VideoInfo", "probe", "read_frames"]
