"""A screening process keeps freed memory for its next chunk (zoning.allocator)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                                reason="glibc's mallopt only")

# allocate and free the same 256 MB array five times, as chunks do, counting the page faults of each round
ROUNDS = """
import resource, sys
import numpy as np
from zoning.allocator import keep_freed_memory
import pyarrow as pa
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(1 << 25)
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, pa.default_memory_pool().backend_name, *faults)
"""


def _rounds(mode: str) -> tuple[str, str, list[int]]:
    out = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True)
    kept, pool, *faults = out.stdout.split()
    return kept, pool, [int(f) for f in faults]


def test_freed_memory_is_reused_without_faulting_it_in_again():
    kept, pool, faults = _rounds("keep")
    assert (kept, pool) == ("True", "system")  # Arrow's buffers come from the same heap
    assert faults[0] > 0 and sum(faults[1:]) * 10 < faults[0]  # later rounds reuse the first one's pages


def test_by_default_each_round_faults_its_memory_in_anew():
    kept, _, faults = _rounds("default")
    assert kept == "False" and min(faults[1:]) * 2 > faults[0]  # what keep_freed_memory saves
