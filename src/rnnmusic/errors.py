"""Errors a user can cause. The CLI prints them as one line and exits non-zero; nothing else is caught."""


class UserError(Exception):
    """Bad input or a bad request: shown to the user as a one-line message, never as a traceback."""


class CheckpointError(UserError):
    """A checkpoint or saved model that is missing, truncated, corrupted or not ours."""
