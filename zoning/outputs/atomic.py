"""Writing files atomically: to a temporary file beside the target, renamed only when complete.

An interrupted or failed write leaves no half-written file, and an existing
output is untouched until the new one is whole.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zoning.errors import DataError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed to it only if the block succeeds.

    An interrupted or failed write (an exception, Ctrl-C) removes the
    temporary file and leaves any existing ``path`` untouched.
    """
    path = Path(path)
    if not path.parent.exists():
        raise DataError(f"output {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise DataError(f"output {path} is a directory; give a file name")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial" + path.suffix, dir=path.parent)
    except OSError as exc:
        raise DataError(f"output {path}: cannot write in {path.parent}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # writers create it themselves (GDAL refuses to "create" an existing file)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
