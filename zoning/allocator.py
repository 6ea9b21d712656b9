"""Memory kept for reuse in a long batch run, instead of handed back to the system after each chunk.

A registry is screened chunk by chunk, and each chunk allocates and frees the
same large arrays again (hundreds of MB). By default glibc serves each large
array with a fresh ``mmap`` and unmaps it when freed, so the next chunk's
arrays are new pages that the kernel zeroes on first touch: on the 2-core
benchmark machine that zeroing took 15% of all CPU time. :func:`keep_freed_memory`
asks glibc to serve every allocation from its heap, keep the heap (not trim
it), and use one arena for all threads (a thread's own arena is limited to
64 MB, beyond which it maps fresh memory again); Arrow is pointed at the same
allocator, so its buffers reuse that memory too.

It changes the whole process, so the command line calls it for ``zoning
screen`` (a process that exits at the end of the run); a library caller may
too. Elsewhere than glibc's Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pyarrow as pa

#: glibc's ``mallopt`` parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for reuse (see the module doc); returns whether it could."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has neither)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim(0)  # first hand back what is free now (what loading the engine left): only the run's own is kept
    settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1))
    if not all(mallopt(option, value) == 1 for option, value in settings):
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    return True
