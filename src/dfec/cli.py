"""The ``dfec`` command line: a thin dispatcher.

Each sub-command lives in the stage that owns it; its module defines ``configure(parser)`` (add
arguments) and ``run(args) -> int`` (do the work). Those modules import only light packages at
top level, so ``dfec track`` and ``dfec score`` start without loading torch.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import DfecError

#: name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "track": ("dfec.tracking.command", "track faces in a video and pick the main character"),
    "caption": ("dfec.report.caption", "caption the facial dynamics of a video"),  # dfec.captioners.command + --html
    "score": ("dfec.metrics.command", "score predicted captions with the FEC-Bench metrics"),
    "data": ("dfec.data.command", "build, curate and describe FDA-style data"),
    "train": ("dfec.train.command", "instruction-tune FaceTrack-MM with LoRA"),
    "bench": ("dfec.report.bench", "run captioners over FEC-Bench and render the leaderboard"),  # dfec.bench.command + table --html
    "report": ("dfec.report.command", "write an interactive report.html for a track/caption output folder"),
    "demo": ("dfec.report.demo", "run the local Gradio demo app (needs the 'demo' extra)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with dfec's one-line errors: ``dfec <command>: error: <what>`` and a --help hint."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="dfec", description="Dynamic Facial Expression Captioning toolkit")
    parser.add_argument("--version", action="version", version=f"dfec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        importlib.import_module(module).configure(p)
        finite_floats(p)
    return parser


def finite_float(text: str) -> float:
    """argparse type of every float option: ``inf``, ``nan`` and overflowing numbers are refused."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def finite_floats(parser: argparse.ArgumentParser) -> None:
    """Give every ``type=float`` option of ``parser`` (and its sub-commands) :func:`finite_float`."""
    for action in parser._actions:
        if action.type is float:
            action.type = finite_float
        for sub in (getattr(action, "choices", None) or {}).values() if isinstance(action, argparse._SubParsersAction) else ():
            finite_floats(sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Build only the requested sub-command's parser when we can tell which one it is, so an
    # unrelated stage's imports never slow down (or break) another command.
    parser = build_parser() if not argv or argv[0] not in COMMANDS else _single_parser(argv[0])
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except DfecError as exc:
        print(f"dfec: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dfec: interrupted; finished results are kept and a rerun resumes", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into `head` or similar: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _single_parser(name: str) -> argparse.ArgumentParser:
    module, help_ = COMMANDS[name]
    parser = _Parser(prog="dfec", description="Dynamic Facial Expression Captioning toolkit")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser(name, help=help_, description=help_)
    p.set_defaults(_module=module)
    importlib.import_module(module).configure(p)
    finite_floats(p)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
