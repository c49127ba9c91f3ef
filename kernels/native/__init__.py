"""Hand-written CPU kernels that JAX calls as XLA FFI custom calls.

`selective_scan.cc` runs the selective SSM's recurrence, forward and backward, for `kernels.selective_scan`. It
is compiled into `libselective_scan.so` beside it by `python -m kernels.native.build` (which `make install` runs,
on the machine that will run it). Without the library, or off the CPU, the selective layer runs the same
recurrence as XLA loops; `available()` says which.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import jax

LIBRARY = Path(__file__).with_name("libselective_scan.so")
FORWARD_TARGET = "hybrid_ssm_selective_scan_forward"
BACKWARD_TARGET = "hybrid_ssm_selective_scan_backward"


@functools.cache
def available() -> bool:
    """True once the compiled library is loaded and its custom calls are registered with XLA's CPU back-end."""
    if not LIBRARY.exists():
        return False
    try:
        library = ctypes.cdll.LoadLibrary(str(LIBRARY))
    except OSError as error:  # a broken build: say so rather than quietly run the slower XLA loops
        raise RuntimeError(f"{LIBRARY} could not be loaded ({error}); rebuild it with "
                           "`python -m kernels.native.build --force`") from None
    jax.ffi.register_ffi_target(FORWARD_TARGET, jax.ffi.pycapsule(library.SelectiveScanForward), platform="cpu")
    jax.ffi.register_ffi_target(BACKWARD_TARGET, jax.ffi.pycapsule(library.SelectiveScanBackward), platform="cpu")
    return True
