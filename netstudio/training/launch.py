"""``python -m netstudio.training.launch ARGS``: ``torchrun ARGS`` without its crash report.

The processes it starts print their own one-line errors; torchrun would add
a traceback-like report of the failure, which a user must never see, so its
exit is the failing process's status alone.
"""

from __future__ import annotations

import logging
import sys

from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run


def main(argv: list[str]) -> int:
    logging.getLogger("torch.distributed").setLevel(logging.CRITICAL)
    try:
        run(parse_args(argv))
    except ChildFailedError as err:
        return next((f.exitcode for f in err.failures.values() if f.exitcode), 1)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
