"""What an index query returns: one :class:`Match` per indexed video that matched, with its evidence."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from vidprint.matching import ClipEvidence, Thresholds, WholeEvidence


def _plain(x: Any) -> Any:
    """JSON-friendly copy: dataclasses to dicts, tuples to lists, NaN/inf to None."""
    if hasattr(x, "to_dict") and not isinstance(x, type):
        x = x.to_dict()
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        x = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if hasattr(x, "item") and callable(x.item):  # numpy scalar
        return _plain(x.item())
    return x


@dataclass(frozen=True)
class Match:
    """An indexed video that matched a query.

    Attributes:
        id: the entry's id.
        kind: ``"whole"`` (TMK: the same video), ``"clip"`` (vPDQ: aligned segments), or ``"both"``.
        whole: TMK evidence (profile, level 1, level 2, thresholds), None if not compared.
        clip: vPDQ evidence (query / compared percentages, aligned segments with timestamps, speed,
            score, transform), None if not compared.
        decided_by: which stage decided, e.g. ``"compact level 2"`` or ``"vpdq align"``.
        thresholds: the thresholds used.
        metadata: the entry's metadata.
    """

    id: str
    kind: str
    whole: WholeEvidence | None
    clip: ClipEvidence | None
    decided_by: str
    thresholds: Thresholds
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def transform(self) -> str | None:
        """Dihedral transform of the query that matched (``"orig"`` = none), None if unknown."""
        if self.clip is not None and self.clip.matched and self.clip.segments:
            return max(self.clip.segments, key=lambda s: s.score).transform
        if self.whole is not None:
            return getattr(self.whole, "transform", None)
        return None

    @property
    def score(self) -> float:
        """A single number for sorting: the best of level 2 and the best segment score."""
        s = [self.whole.level2] if self.whole is not None and self.whole.matched else []
        if self.clip is not None and self.clip.segments:
            s.append(max(g.score for g in self.clip.segments))
        s = [v for v in s if v == v]
        return max(s) if s else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: every score, the segments with timestamps, the thresholds."""
        return {"id": self.id, "kind": self.kind, "decided_by": self.decided_by, "transform": self.transform,
                "whole": _plain(self.whole), "clip": _plain(self.clip), "thresholds": _plain(self.thresholds),
                "metadata": _plain(self.metadata)}
