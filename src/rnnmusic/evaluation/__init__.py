"""Evaluating generated music: `check_tune` (is this ABC tune well-formed and playable?)."""
from .abc_check import TuneCheck, check_tune, checks_table

__all__ = ["TuneCheck", "check_tune", "checks_table"]
