"""Turn expected user errors into one line on stderr and a non-zero exit, with no traceback."""

from __future__ import annotations

import sys
from contextlib import contextmanager

EXPECTED_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError, KeyError)


@contextmanager
def one_line_errors(program: str):
    try:
        yield
    except EXPECTED_ERRORS as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"{program}: error: {message}", file=sys.stderr)
        sys.exit(2)
