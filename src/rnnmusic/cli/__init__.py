"""The `rnnmusic` command: flags (`cli.flags`) and commands (`cli.commands`), each a call into the library.
User errors end in one line, never a traceback."""
from __future__ import annotations

import sys
import warnings

from ..errors import UserError, one_line_warnings
from .flags import build_parser

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = one_line_warnings
    try:
        return args.func(args)
    except UserError as e:
        print(f"rnnmusic: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnmusic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`rnnmusic presets | head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
