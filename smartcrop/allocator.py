"""Process-wide malloc tuning for a batch of big images (glibc); the CLI applies it at start.

By default glibc serves each of Pillow's image blocks (up to 16 MB) with a fresh mmap and
unmaps it on free, so every photo's buffers are page-faulted in and zero-filled by the kernel
again. Keeping freed blocks in the heap lets the next photo reuse them. Measured on 24 12 MP
photos made into 1080x1080 thumbnails: 215k page faults and 1.60 s without, 35k and 1.38 s with.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# glibc's ceiling for the mmap threshold on 64-bit; above Pillow's 16 MB block size.
MMAP_THRESHOLD = 32 * 2**20
# Free memory at the heap's top beyond this goes back to the kernel: above what a 12 MP photo
# with three crops frees at once (lower, and each photo faults its buffers in again).
TRIM_THRESHOLD = 256 * 2**20


def keep_freed_blocks() -> bool:
    """Serve big blocks from the heap and keep freed ones for reuse; False where not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # musl's mallopt does nothing
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # One arena: a worker thread's own arena is a set of 64 MB heaps, each unmapped as soon as
    # it is empty whatever the trim threshold says. Call before starting threads.
    settings = ((M_ARENA_MAX, 1), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return all([mallopt(option, value) for option, value in settings])
