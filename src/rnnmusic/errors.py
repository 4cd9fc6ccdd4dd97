"""Errors a user can cause. The CLI prints them as one line and exits non-zero; nothing else is caught."""


class UserError(Exception):
    """Bad input or a bad request: shown to the user as a one-line message, never as a traceback."""


class CheckpointError(UserError):
    """A checkpoint or saved model that is missing, truncated, corrupted or not ours."""


def one_line(exc: BaseException, limit: int = 200, *, named: bool = False) -> str:
    """An exception as one line of at most `limit` characters; `named` puts its class name in front (unless
    the message already says it)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if named and type(exc).__name__ not in text:
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:
    """`warnings.showwarning` for the command line: "warning: MESSAGE", no file or line of code."""
    import sys

    print(f"warning: {message}", file=sys.stderr)
