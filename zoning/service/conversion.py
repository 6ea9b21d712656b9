"""A screened registry kept as GeoParquet, written again in the format a client asks for.

Row group by row group, so a million rows never sit in memory at once; the
writers are the ones ``zoning screen`` uses (formulas made inert in CSV, the
summary sheet in Excel), and the file appears atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import shapely

from zoning.outputs.atomic import atomic_path
from zoning.outputs.writers import open_writer

#: the formats a job's result is offered in, and their media types
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}


def convert(source: Path, target: Path, fmt: str, *, summary: list | None = None) -> None:
    """Write the GeoParquet ``source`` as ``fmt`` to ``target`` (CSV without geometry)."""
    parquet = pq.ParquetFile(source)
    names = [n for n in parquet.schema_arrow.names if n not in ("geometry", "bbox")]  # bbox: the covering column
    verdict = "zoning_verdict" if "zoning_verdict" in names else "verdict"
    with atomic_path(target) as tmp:
        writer = open_writer(tmp, fmt, layer="screened", verdict_column=verdict)
        try:
            for batch in parquet.iter_batches(batch_size=100_000):
                frame = batch.select(names).to_pandas()
                geometry = (shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
                            if "geometry" in batch.schema.names else np.full(len(frame), None, dtype=object))
                writer.write(frame, geometry)
            writer.close([tuple(row) for row in summary] if summary else None)
        except BaseException:
            writer.abort()
            raise
