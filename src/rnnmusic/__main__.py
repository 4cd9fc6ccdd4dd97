import sys

from . import distributed
from .cli import main

code = main()
if distributed.env_world() is not None:  # a torchrun worker: leave without the interpreter's teardown
    distributed.exit_worker(code)
sys.exit(code)
