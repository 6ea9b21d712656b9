"""``-`` for standard input and output: inputs spooled to a temporary file, outputs streamed at the end.

Every reader and writer of zoning works on files (formats by extension,
GDAL, atomic renames), so a pipe is turned into one: standard input is
copied to a temporary file (at most ``--max-expanded-mb`` megabytes, see
:mod:`zoning.limits`) whose extension is the format named (``--input-format``)
or recognised from the first bytes (:func:`sniff`); an output ``-`` is
written, atomically as ever, to a temporary file that is copied to standard
output once complete, in the format ``--format`` names (there is no
extension to go by). Messages name ``standard input`` instead of the
temporary file.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import click

from zoning import limits
from zoning.errors import DataError, InputError

STDIO = "-"
STDIN_LABEL = "standard input"

#: formats standard input may hold, and the extension its temporary file gets
INPUT_FORMATS = {"csv": ".csv", "tsv": ".tsv", "xlsx": ".xlsx", "xlsm": ".xlsm", "xlsb": ".xlsb", "xls": ".xls",
                 "ods": ".ods", "gpkg": ".gpkg", "geojson": ".geojson", "geojsons": ".geojsons", "kml": ".kml",
                 "dxf": ".dxf", "red-line": ".txt", "wkt": ".wkt"}
#: output formats written as text (the others are refused on a terminal)
TEXT_FORMATS = {"csv", "geojson", "geojsons", "json", "text", "html", "md", "svg"}
_BLOCK = 1 << 20


def is_stdio(path: object) -> bool:
    return path is not None and str(path) == STDIO


def sniff(head: bytes, default: str) -> str:
    """The format of a file beginning with ``head`` (see :data:`INPUT_FORMATS`); ``default`` for plain
    text that is none of the recognised kinds (``csv`` for a registry, ``wkt`` for a site)."""
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"  # refined by :func:`_zip_format` once the whole file is there
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"\x1e"):
        return "geojsons"
    if text.startswith(b"{"):
        first, sep, rest = text.partition(b"\n")
        try:
            one = json.loads(first)
        except ValueError:
            return "geojson"
        return "geojsons" if sep and rest.strip() and isinstance(one, dict) and one.get("type") == "Feature" \
            else "geojson"
    if text.startswith(b"<"):
        return "kml"
    if any(marker.encode(enc) in head for marker in ("[地块坐标]", "[属性描述]") for enc in ("utf-8", "gbk")):
        return "red-line"
    lines = [line.strip() for line in text.splitlines()[:4]]
    if lines[:2] == [b"0", b"SECTION"]:
        return "dxf"
    return default


def _zip_format(path: Path) -> str:
    """A zipped workbook's kind: .ods, .xlsb or .xlsx."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype"):
                return "ods"
    except (zipfile.BadZipFile, OSError, KeyError):
        return "xlsx"  # the workbook reader says what is wrong with it
    return "xlsb" if "xl/workbook.bin" in names else "xlsx"


@contextlib.contextmanager
def stdin_file(what: str, fmt: str | None = None, *, default: str = "csv") -> Iterator[Path]:
    """Standard input copied to a temporary file for the block, in format ``fmt`` or the one :func:`sniff`
    recognises; at most ``--max-expanded-mb`` megabytes. ``what`` names the input in messages."""
    stream = sys.stdin.buffer
    if _is_terminal(stream):
        raise click.UsageError(f"{what} '-' reads standard input, which is a terminal: pipe or redirect a file "
                               "into zoning")
    limit = limits.current().expanded_mb
    folder = Path(tempfile.mkdtemp(prefix="zoning-stdin-"))
    path = folder / "stdin"
    try:
        size, head = 0, b""
        with open(path, "wb") as out:
            while block := stream.read(_BLOCK):
                size += len(block)
                if size > limit * _BLOCK:
                    raise DataError(f"{what} from {STDIN_LABEL}: more than {limit:,} MB; "
                                    f"{limits.how_to_raise('expanded_mb')}")
                if len(head) < 8192:
                    head += block[:8192]
                out.write(block)
        if not size:
            raise InputError(f"{what}: {STDIN_LABEL} is empty")
        kind = fmt or sniff(head, default)
        if kind == "xlsx" and fmt is None:
            kind = _zip_format(path)
        named = path.with_name(f"stdin{INPUT_FORMATS[kind]}")
        path.rename(named)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta.setdefault("zoning.spooled", []).append(named)
        yield named
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def relabel(text: str) -> str:
    """A message naming standard input instead of the temporary files it was copied to."""
    ctx = click.get_current_context(silent=True)
    for path in ctx.meta.get("zoning.spooled", ()) if ctx is not None else ():
        text = text.replace(str(path), STDIN_LABEL).replace(path.name, STDIN_LABEL)
    return text


@contextlib.contextmanager
def output_file(output: str, fmt: str | None, formats: Mapping[str, str], *, stem: str,
                option: str = "-o") -> Iterator[str]:
    """The path to write ``output`` to: itself, or for ``-`` a temporary ``STEM.EXT`` in format ``fmt``
    (``formats`` maps extensions to formats), copied to standard output when the block succeeds. With a
    file name, ``fmt`` (when given) must agree with its extension."""
    if not is_stdio(output):
        known = formats.get(Path(output).suffix.lower())
        if fmt is not None and known is not None and known != fmt:
            raise click.UsageError(f"{option} {output} is a .{Path(output).suffix.lower().lstrip('.')} file, "
                                   f"but --format says {fmt}: give one or the other")
        yield output
        return
    if fmt is None:
        raise click.UsageError(f"{option} - writes to standard output: name the format with --format "
                               f"({', '.join(sorted(set(formats.values())))})")
    suffix = next((ext for ext, f in formats.items() if f == fmt), None)
    if suffix is None:
        raise click.UsageError(f"--format {fmt}: {option} - is written as {', '.join(sorted(set(formats.values())))}")
    stdout = sys.stdout.buffer
    if fmt not in TEXT_FORMATS and _is_terminal(stdout):
        raise click.UsageError(f"{option} - would write a binary .{fmt} file to the terminal: redirect standard "
                               "output to a file or a pipe")
    folder = Path(tempfile.mkdtemp(prefix="zoning-stdout-"))
    try:
        path = folder / f"{stem}{suffix}"
        yield str(path)
        with open(path, "rb") as written:
            shutil.copyfileobj(written, stdout, _BLOCK)
        stdout.flush()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def say(message: str, *, output: object = None) -> None:
    """A progress message ("wrote …"): on standard output, or standard error when ``output`` is ``-``
    (standard output carries the data then); nothing with ``-q``."""
    from zoning.cli.options import is_quiet

    if not is_quiet():
        click.echo(message, err=is_stdio(output))


def site_from_stdin(site: str | None) -> contextlib.AbstractContextManager[str | None]:
    """``--site -``: the site file's text from standard input (WKT, GeoJSON, KML, DXF, a red-line file:
    recognised by content), as a temporary file; any other value unchanged."""
    if not is_stdio(site):
        return contextlib.nullcontext(site)
    return _site(stdin_file("--site", default="wkt"))


@contextlib.contextmanager
def _site(spooled: contextlib.AbstractContextManager[Path]) -> Iterator[str]:
    with spooled as path:
        yield str(path)
