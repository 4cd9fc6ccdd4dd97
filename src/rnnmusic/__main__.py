from . import distributed
from .cli import main

distributed.leave(main())
