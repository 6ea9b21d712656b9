"""Writing files atomically: to a temporary file beside the target, renamed only when complete.

An interrupted or failed write leaves no half-written file, and an existing
output is untouched until the new one is whole.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from zoning.errors import DataError, DataWarning


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed to it only if the block succeeds.

    An interrupted or failed write (an exception, Ctrl-C, SIGTERM on the
    command line) removes the temporary file and leaves any existing ``path``
    untouched. The temporary name carries the process id, so that partial
    files left by a run that was killed outright (``kill -9``) are recognised
    and removed, with a warning, by the next run writing the same output.
    """
    path = Path(path)
    if not path.parent.exists():
        raise DataError(f"output {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise DataError(f"output {path} is a directory; give a file name")
    _remove_stale(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=_PARTIAL + path.suffix,
                                    dir=path.parent)
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


_PARTIAL = ".partial"


def _remove_stale(path: Path) -> None:
    """Remove partial files of ``path`` whose writing process no longer runs (it was killed)."""
    prefix = f".{path.name}."
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(_PARTIAL + path.suffix)}"):
        pid = candidate.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            candidate.unlink()
        except OSError:
            continue  # not ours to remove after all (permissions): leave it
        warnings.warn(f"removed {candidate.name}, a partial output left by an interrupted run", DataWarning,
                      stacklevel=3)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
