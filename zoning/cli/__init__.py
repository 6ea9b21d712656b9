"""The ``zoning`` command line: a thin shell over the Python API.

One module per command (as rasterio's ``rio`` and Fiona's ``fio`` do); the
options several commands share live in :mod:`zoning.cli.options`. The group
holds what every command shares: the input limits (:mod:`zoning.limits`),
and the last line of defence — SIGTERM handled like Ctrl-C (so a partial
output is removed), an operating-system error (a full disk, a closed pipe)
or an unexpected exception reported as one line, never a traceback.
"""

from __future__ import annotations

import click

from zoning import engine_cache, limits
from zoning._version import __version__
from zoning.cli.check import check
from zoning.cli.db import db
from zoning.cli.export import export
from zoning.cli.map import map_
from zoning.cli.options import ZoningGroup
from zoning.cli.report import report
from zoning.cli.rules import rules
from zoning.cli.sample import sample
from zoning.cli.screen import screen
from zoning.cli.serve import serve
from zoning.cli.where import where


def _limit(name: str, help_text: str):
    return click.option(limits.OPTIONS[name], name, type=click.IntRange(min=1), envvar=f"ZONING_{name.upper()}",
                        show_envvar=True, help=f"{help_text} (default {getattr(limits.Limits(), name):,}).")


@click.group(cls=ZoningGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoning")
@_limit("cell_chars", "Most characters in one cell of a registry or text field of a layer")
@_limit("expanded_mb", "Most megabytes a compressed input (.xlsx) may expand to")
@_limit("rule_items", "Most items a rule file may hold once anchors and aliases are expanded")
@_limit("rule_depth", "Deepest nesting of a rule file")
@click.option("--no-cache", is_flag=True,
              help="Load the units and lists from their files, without the cache of loaded engines (also "
                   "ZONING_NO_CACHE=1; the cache: $ZONING_CACHE_DIR, else ~/.cache/zoning).")
@click.pass_context
def main(ctx: click.Context, cell_chars: int | None, expanded_mb: int | None, rule_items: int | None,
         rule_depth: int | None, no_cache: bool) -> None:
    """Ecological-environment zoning control (生态环境分区管控): check sites
    against management units and their access lists, with citations."""
    chosen = limits.current().with_(cell_chars=cell_chars, expanded_mb=expanded_mb, rule_items=rule_items,
                                    rule_depth=rule_depth)
    ctx.with_resource(limits.using(chosen))
    if no_cache:
        ctx.with_resource(engine_cache.disabled())


main.add_command(check)
main.add_command(screen)
main.add_command(export)
main.add_command(report)
main.add_command(map_)
main.add_command(rules)
main.add_command(where)
main.add_command(serve)
main.add_command(db)
main.add_command(sample)
