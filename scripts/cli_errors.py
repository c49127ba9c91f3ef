"""Turn expected user errors into one line on stderr and a non-zero exit, with no traceback."""

from __future__ import annotations

import sys
from contextlib import contextmanager

EXPECTED_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError,
                   PermissionError, KeyError)
INTERRUPTED_EXIT_STATUS = 130  # the shell's convention for a process ended by SIGINT


@contextmanager
def one_line_errors(program: str, interrupted: str = "interrupted"):
    """Expected errors exit 2 with `program: error: ...`; a Ctrl-C that gets through exits 130 with `interrupted`."""
    try:
        yield
    except EXPECTED_ERRORS as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"{program}: error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{program}: {interrupted}", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_STATUS)
