"""The ``vidprint`` command: a thin layer over the library, one module per group of sub-commands.

Each module has ``register(sub)`` that adds its sub-commands (argparse) with a ``func`` default;
:func:`main` dispatches. Exit status: see each command's help and the README (``compare``, ``scan``
and ``index query`` follow grep: 0 = a match, 1 = none, 2 = an error).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from vidprint.errors import VidprintError

#: Sub-command modules, in the order their commands appear in ``vidprint --help``.
_MODULES = ("hashing", "index", "batch", "evaluate", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidprint", description="Video fingerprinting: TMK+PDQF and vPDQ.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _MODULES:
        try:
            module = importlib.import_module(f"vidprint.cli.{name}")
        except ModuleNotFoundError as exc:  # a command group that is not part of this build
            if exc.name != f"vidprint.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VidprintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
