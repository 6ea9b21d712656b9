"""Options shared by several commands, the names of their parameters, and the error handling they all use.

Options are defined once here and applied with decorators (as rasterio's
``rio/options.py`` does). :data:`PARAMETER_FLAGS` maps the API's parameter
names to this command line's flags: core messages name parameters
(:func:`zoning.errors.parameter`), and :func:`handle_errors` has them
written as the flags a user types.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys
import threading
import warnings

import click

from zoning.cli.pipes import is_stdio, relabel, site_from_stdin
from zoning.errors import ParameterError, ZoningError, parameter_names
from zoning.inputs.vector import DEFAULT_IO_ENGINE, IO_ENGINES

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_FAILS = 3
#: a closed standard output (``zoning … | head``): the status a process killed by SIGPIPE has, said quietly
EXIT_BROKEN_PIPE = 141

#: API parameter → command-line flag, for messages (see :func:`zoning.errors.parameter`)
PARAMETER_FLAGS = {
    "units": "--units", "zones": "--zones", "rules": "--rules", "io_engine": "--io-engine", "crs": "--crs",
    "min_overlap": "--min-overlap", "output_crs": "--output-crs", "as_of": "--as-of", "columns": "--col",
    "encoding": "--encoding", "sheet": "--sheet", "layer": "--layer", "chunk_size": "--chunk-size",
    "overwrite": "--overwrite", "explain": "--explain", "emissions": "--emission", "attributes": "--attr",
    "within": "--within", "release": "--release", "key": "--key", "resume": "--resume",
    "effective_from": "--effective-from",
}

units_opt = click.option("--units", type=click.Path(dir_okay=False),
                         help="Unit layer (GeoPackage, GeoJSON, Shapefile). Default: the bundled sample.")
zones_opt = click.option("--zones", type=click.Path(dir_okay=False),
                         help="Overlay-zone layer. Default: the sample's, when --units is not given.")
rules_opt = click.option("--rules", multiple=True, type=click.Path(),
                         help="Access-list YAML file or directory (repeatable). Default: the sample lists, only "
                              "when --units is not given either.")
io_engine_opt = click.option("--io-engine", type=click.Choice(IO_ENGINES), default=DEFAULT_IO_ENGINE,
                             show_default=True, help="Vector I/O engine.")
fail_on_opt = click.option("--fail-on", type=click.Choice(["prohibited", "restricted"]),
                           help="Exit 3 when the verdict is (or, given missing inputs, may be) at least this "
                                "strict, or the site is in no unit.")
background_opt = click.option(
    "--background", "background", multiple=True, metavar="FILE[:COLUMN]",
    help="A vector layer drawn on the map for context (county boundaries, rivers, roads, places; any format and "
         "CRS GDAL reads), its features named from COLUMN (default: a column called name, NAME, 名称, NAME_CHN…). "
         "Repeatable. Default: the sample region's county boundaries with the bundled sample units, else none.")


crs_opt = click.option(
    "--crs", help="CRS of the coordinates: an EPSG code, PROJ or WKT; gcj02 (Amap/Gaode, Tencent) or bd09 "
                  "(Baidu); or a Gauss-Krüger family DATUM-WIDTH[:ZONE] such as cgcs2000-3, cgcs2000-3:39, "
                  "xian80-6 (zone read from 8-digit eastings when not given). Default: CGCS2000 lon/lat, or the "
                  "file's own CRS.")
min_overlap_opt = click.option(
    "--min-overlap", multiple=True, metavar="AMOUNT",
    help="Disregard units a line or polygon site overlaps by less than this: an area (100m2, 0.5ha, 3亩), "
         "a length (20m) or a share of the site (1%). Repeatable; with several, a piece must be below all. "
         "Disregarded units are still listed.")
output_crs_opt = click.option(
    "--output-crs", type=click.Choice(["cgcs2000", "gcj02", "bd09"], case_sensitive=False),
    help="Write geometries in GCJ-02 or BD-09 for Chinese web maps (GeoJSON/CSV outputs). Default: cgcs2000.")


def _date(ctx, param, value):
    return value.date() if value is not None else None


as_of_opt = click.option(
    "--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), callback=_date, metavar="YYYY-MM-DD",
    help="Apply the list versions in force on this date (effective_from ≤ date ≤ effective_to). Default: today.")


def _database(ctx, param, value):
    """--db and --release are kept on the context (see :func:`load_engine`), not passed to the command."""
    if value is not None:
        ctx.meta[f"zoning.{param.name}"] = value
    return value


db_opt = click.option(
    "--db", metavar="URL", expose_value=False, callback=_database, is_eager=True,
    help="Read the units, zones and lists from a release published to PostgreSQL/PostGIS ('zoning db publish'), "
         "postgresql://USER@HOST:PORT/DB (password from ~/.pgpass or PGPASSWORD): the release in force today, "
         "or on --as-of, or --release. Instead of --units, --zones and --rules.")
release_opt = click.option(
    "--release", metavar="ID", expose_value=False, callback=_database, is_eager=True,
    help="With --db: this release ('zoning db status' lists them; 'latest': the newest published). Default: the "
         "release in force on --as-of (today).")


def layer_options(f):
    for opt in reversed((units_opt, zones_opt, rules_opt, io_engine_opt, db_opt, release_opt)):
        f = opt(f)
    return f


def database_option() -> tuple[str | None, str | None]:
    """The ``--db`` URL and ``--release`` of the command running (None when not given)."""
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    db, release = meta.get("zoning.db"), meta.get("zoning.release")
    if release is not None and db is None:
        raise click.UsageError("--release chooses a release of --db URL: give --db too")
    return db, release


def read_layers(units, rules, zones, *, io_engine: str = DEFAULT_IO_ENGINE, as_of=None):
    """The layers a command works with: from ``--db`` (a published release) or from the files."""
    from zoning.engine import Engine

    db, release = database_option()
    if db is None:
        return Engine.read(units, list(rules or ()) or None, zones, io_engine=io_engine)
    if units or zones or rules:
        raise click.UsageError("--db reads the units, zones and lists of a release: give either --db or "
                               "--units/--zones/--rules")
    from zoning.db.releases import read_release

    return read_release(db, release, as_of)


def load_engine(units, rules, zones, *, io_engine: str = DEFAULT_IO_ENGINE, as_of=None):
    """The engine a command evaluates with, for ``as_of``: from ``--db`` or from the files (see
    :func:`read_layers`)."""
    from zoning.engine import Engine

    if database_option()[0] is None:  # files: through the cache of loaded engines
        return Engine.load(units, list(rules or ()) or None, zones, io_engine=io_engine, as_of=as_of)
    return Engine.from_layers(read_layers(units, rules, zones, io_engine=io_engine, as_of=as_of), as_of=as_of)


def key_values(values, option: str) -> dict[str, str]:
    """Parse repeated ``NAME=VALUE`` options."""
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
        out[name.strip()] = value.strip()
    return out


class ZoningGroup(click.Group):
    """The command group: SIGTERM is handled like Ctrl-C, and what escapes a command is one line on stderr.

    A command reports user mistakes itself (:func:`handle_errors`); what reaches
    here is an operating-system error (exit 1: a full disk, an unreadable
    device) or a bug (exit 1, "internal error", with where to report it).
    """

    def invoke(self, ctx: click.Context):
        previous = signal.signal(signal.SIGTERM, _terminated) if _main_thread() else None
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # the reader went away (| head): nothing is wrong, nothing to say
                _fail(None, EXIT_BROKEN_PIPE)
            _fail(f"zoning: error: {_os_message(exc)}", EXIT_BAD_INPUT)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
            _fail(f"zoning: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                  "(a bug: please report it with the command and input that caused it)", EXIT_BAD_INPUT)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _terminated(signum, frame):
    """SIGTERM: unwind like Ctrl-C, so that partial outputs are removed on the way out."""
    raise KeyboardInterrupt


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT):
        return f"cannot write to standard output: {reason}"
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _fail(message: str | None, code: int) -> None:
    """Say ``message`` (if any) on stderr and exit with ``code``; standard output, which may be what failed,
    is pointed at /dev/null so that closing it at exit cannot fail again."""
    try:
        if message is not None:
            click.echo(message, err=True)
    except OSError:
        pass  # stderr is gone too: nothing more can be said
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (a test runner's buffer): nothing to close at exit
    sys.exit(code)


def handle_errors(f):
    """Run a command with messages naming its flags; report user mistakes as one line on stderr
    (exit 1, or 2 for parameters that do not fit together) and print data warnings."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught, parameter_names(PARAMETER_FLAGS):
            warnings.simplefilter("always")
            try:
                return f(*args, **kwargs)
            except ZoningError as exc:
                click.echo(f"zoning: error: {relabel(str(exc))}", err=True)
                sys.exit(EXIT_USAGE if isinstance(exc, ParameterError) else EXIT_BAD_INPUT)
            finally:
                for w in caught:
                    if issubclass(w.category, UserWarning) and not is_quiet():
                        click.echo(f"zoning: warning: {relabel(str(w.message))}", err=True)

    return wrapper


def _quiet(ctx, param, value):
    if value:
        ctx.meta["zoning.quiet"] = True
    return value


quiet_opt = click.option("-q", "--quiet", is_flag=True, callback=_quiet,
                         help="Nothing on standard error but errors: no progress bar, summary, notes or warnings.")


def is_quiet() -> bool:
    """Whether the command running was given ``-q``."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get("zoning.quiet"))


def format_opt(formats, what: str):
    """``--format``: the format of an output written to standard output (``-o -``), where there is no
    extension to go by."""
    return click.option("--format", "out_format", type=click.Choice(sorted(set(formats))),
                        help=f"Format of {what} when it is '-' (standard output), which has no extension to go by.")


def project_options(f):
    """The site and project options of ``check``, ``report`` and ``map``."""
    options = (
        click.option("--lon", type=float, help="Longitude, CGCS2000/WGS84 degrees."),
        click.option("--lat", type=float, help="Latitude, CGCS2000/WGS84 degrees."),
        click.option("--site", help="Site as WKT or a file: .wkt, .geojson, .shp, .gpkg, .kml, .dxf, or a red-line "
                                    "coordinate .txt (界址点坐标). Points, lines or polygons. '-': a site file's "
                                    "text from standard input (WKT, GeoJSON, KML…: recognised by content)."),
        crs_opt,
        min_overlap_opt,
        click.option("--industry", help="GB/T 4754-2017 code (C3120 or 3120) or exact official name."),
        click.option("--type", "type_", help="Project type: new, expansion, renovation, relocation "
                                             "(or 新建/扩建/改建/迁建)."),
        click.option("--emission", multiple=True, metavar="NAME=T_PER_YEAR",
                     help="Emission in t/a, repeatable: SO2, NOx, particulate, VOCs, COD, NH3-N."),
        click.option("--attr", multiple=True, metavar="NAME=VALUE",
                     help="Other attribute, repeatable, e.g. coal_use=2000, in_park=true."),
        click.option("--name", help="Project name, echoed in the result."),
    )
    for opt in reversed(options):
        f = opt(f)
    return f


def site_inputs(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name) -> dict:
    """:meth:`zoning.engine.Engine.check`'s keyword arguments from :func:`project_options`' values."""
    if site is None and (lon is None or lat is None):
        raise click.UsageError("give --lon and --lat, or --site")
    if site is not None and (lon is not None or lat is not None):
        raise click.UsageError("give either --lon/--lat or --site, not both")
    if is_stdio(site):  # the site file's text from standard input, spooled for as long as the command runs
        site = click.get_current_context().with_resource(site_from_stdin(site))
    return {"lon": lon, "lat": lat, "site": site, "crs": crs, "industry": industry, "type": type_,
            "emissions": key_values(emission, "--emission"), "attributes": key_values(attr, "--attr"),
            "name": name, "min_overlap": list(min_overlap) or None}
