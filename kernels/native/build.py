"""Compiles the native CPU kernels: `python -m kernels.native.build` (run by `make install`).

    python -m kernels.native.build [--force]

-march=native: the library is built on the machine that runs it, and the kernel's vectors then use that CPU's
widest registers. Without a C++ compiler, or if the compiler fails (its errors are shown), it says so and exits 0,
so that installing still works: the selective layer then uses its XLA loops
(tests/kernels/test_selective_scan_native.py fails where a compiler exists but the library is missing).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import jax

SOURCE = Path(__file__).with_name("selective_scan.cc")
LIBRARY = Path(__file__).with_name("libselective_scan.so")
# No -ffast-math: the kernel's exp rounds with an add-and-subtract that fast-math would fold away.
FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-std=c++17", "-shared", "-fPIC", "-Wall")


def compiler() -> str | None:
    return next((found for name in ("c++", "g++", "clang++") if (found := shutil.which(name))), None)


def build(force: bool = False) -> bool:
    """Compiles SOURCE into LIBRARY unless it is newer than the source; False if there is no compiler or it
    failed (the old library, if any, is then left as it was)."""
    if not force and LIBRARY.exists() and LIBRARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return True
    cxx = compiler()
    if cxx is None:
        print("kernels.native: no C++ compiler found; the selective layer will use its XLA loops", file=sys.stderr)
        return False
    partial = LIBRARY.with_suffix(".so.partial")  # renamed when complete: an interrupted build leaves no library
    command = [cxx, *FLAGS, "-isystem", jax.ffi.include_dir(), str(SOURCE), "-o", str(partial)]
    if subprocess.run(command).returncode != 0:
        print(f"kernels.native: {cxx} could not build {SOURCE.name} (errors above); the selective layer will use "
              "its XLA loops", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return False
    partial.replace(LIBRARY)
    print(f"kernels.native: built {LIBRARY}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if the library is up to date")
    build(parser.parse_args().force)


if __name__ == "__main__":
    main()
