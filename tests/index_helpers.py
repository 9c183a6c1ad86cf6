"""Test helper: an index's entries as plain comparable values (shared by the batch tests)."""
from __future__ import annotations

import json

from vidprint.index import Index


def entries(index) -> dict:
    """Every entry of an index: id -> (compact, reference, vPDQ arrays as bytes, metadata JSON),
    so two indexes compare entry for entry, timestamps to the bit."""
    out = {}
    with Index.open(index) as ix:
        for i in ix.ids():
            e = ix.get(i)
            v = e.vpdq
            out[i] = (e.compact, e.reference, v.words.tobytes(), v.quality.tobytes(),
                      v.frame_numbers.tobytes(), v.timestamps.tobytes(), json.dumps(e.metadata, sort_keys=True))
    return out
