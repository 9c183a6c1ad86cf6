"""Evaluation: deterministic transforms, detection metrics, the harness and its report.

* :mod:`vidprint.eval.transforms`: named, parameterised near-duplicate edits (PyAV only);
* :mod:`vidprint.eval.metrics`: recall at a precision or false-positive rate, ROC/DET, calibration;
* :mod:`vidprint.eval.methods`: the matching methods compared (TMK profiles, vPDQ rules, alignment);
* :mod:`vidprint.eval.harness`: build the transformed set, fingerprint once (cached), score pairs;
* :mod:`vidprint.eval.report`: Markdown tables and PNG plots.

``vidprint eval SOURCES... --out DIR`` runs it all (:func:`evaluate`).
"""
from vidprint.eval.harness import Scores, Video, evaluate
from vidprint.eval.transforms import TRANSFORMS, Transformed, apply

__all__ = ["TRANSFORMS", "Scores", "Transformed", "Video", "apply", "evaluate"]
