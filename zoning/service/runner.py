"""One screening job, run by the dispatcher (:mod:`zoning.service.jobs`).

``python -m zoning.service.runner JOB_FOLDER LOAD_ARGS_JSON`` loads the
engine as the server did and screens the job's upload into
``result.parquet``, writing progress to ``job.json`` as chunks finish and,
at the end, the summary (or the one-line error). :func:`run_job` does the
same in a thread for an engine built in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from zoning.errors import ZoningError
from zoning.service.jobs import _now, read_state, update_state

#: seconds between progress writes
PROGRESS_EVERY = 0.5


def run_job(folder: Path, engine) -> None:
    """Screen the job in ``folder`` with ``engine``; the outcome goes to ``job.json``."""
    from zoning.screening import screen

    state = read_state(folder)
    if state is None:
        return
    options = state.get("options") or {}
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            update_state(folder, rows_done=done, rows_total=total)

    try:
        as_of = options.get("as_of")
        judged = engine.on(dt.date.fromisoformat(as_of)) if as_of else engine
        summary = screen(judged, folder / state["input"], folder / "result.parquet",
                         columns=options.get("columns") or None, crs=options.get("crs"),
                         sheet=options.get("sheet"), layer=options.get("layer"), progress=progress)
    except (ZoningError, ValueError, OSError) as exc:
        update_state(folder, state="failed", finished=_now(), error=str(exc).splitlines()[0] if str(exc) else
                     type(exc).__name__)
        return
    except Exception as exc:  # noqa: BLE001 - a job's failure is its state, never the server's
        update_state(folder, state="failed", finished=_now(), error=f"internal error: {type(exc).__name__}: {exc}")
        return
    update_state(folder, state="done", finished=_now(), rows_done=summary.rows, rows_total=summary.rows,
                 summary={"rows": [list(row) for row in summary.table()],
                          "verdicts": dict(summary.verdicts), "errors": dict(summary.errors),
                          "columns": summary.columns, "notes": summary.notes})


def main(argv: list[str]) -> int:
    """The child process's entry: load the engine, run the job."""
    folder, load_args = Path(argv[0]), json.loads(argv[1])
    from zoning.engine import Engine

    as_of = load_args.pop("as_of", None)
    try:
        engine = Engine.load(**load_args, as_of=dt.date.fromisoformat(as_of) if as_of else None)
    except ZoningError as exc:
        update_state(folder, state="failed", finished=_now(), error=f"loading the rules: {exc}")
        return 1
    run_job(folder, engine)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
