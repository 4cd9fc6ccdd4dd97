"""Helpers shared by the benchmark scripts: the machine a result was measured on, where results are written
(`machine.py`), and one training side driven step by step through the library's `Trainer` (`sides.py`)."""
