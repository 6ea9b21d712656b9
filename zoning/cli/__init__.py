"""The ``zoning`` command line: a thin shell over the Python API.

One module per command (as rasterio's ``rio`` and Fiona's ``fio`` do); the
options several commands share live in :mod:`zoning.cli.options`.
"""

import click

from zoning._version import __version__
from zoning.cli.check import check
from zoning.cli.export import export
from zoning.cli.map import map_
from zoning.cli.report import report
from zoning.cli.rules import rules
from zoning.cli.screen import screen


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoning")
def main():
    """Ecological-environment zoning control (生态环境分区管控): check sites
    against management units and their access lists, with citations."""


main.add_command(check)
main.add_command(screen)
main.add_command(export)
main.add_command(report)
main.add_command(map_)
main.add_command(rules)
