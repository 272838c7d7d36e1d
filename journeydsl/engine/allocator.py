"""The C allocator's settings for a process that runs the engine (glibc on Linux only).

A block allocates a few dozen arrays of its customers, megabytes each, and frees them when it
ends; the next block allocates them again. glibc serves an allocation above its mmap threshold
(128 KiB at first, raised as such chunks are freed, at most 32 MiB) with a fresh mapping, and
gives the top of its heap back to the system beyond its trim threshold. Either way the next
block touches new pages, and every page is a fault: at 10^7 customers a command's first run
spent about 0.13 s of its 0.50 s on them (`benchmarks/README.md`). With every array served from
the heap and the heap kept, the pages are reused from one block to the next.

Only the command line sets this (:func:`journeydsl.cli.main`, for commands that simulate), as it
sets the garbage collector's thresholds: a notebook's process is left as its owner set it. A
variable ``MALLOC_*`` in the environment means someone chose: then nothing is changed.
"""

from __future__ import annotations

import os
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_heap"]

#: Arrays up to this size come from the heap (glibc's largest allowed mmap threshold on 64-bit).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap's top kept for the next block rather than given back.
TRIM_THRESHOLD = 512 * 1024 * 1024

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_heap() -> bool:
    """Serve the engine's arrays from a heap that is kept between blocks; True when it was set."""
    if not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc's; musl and others have none
    except (AttributeError, OSError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
