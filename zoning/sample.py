"""Where the bundled, illustrative sample region lives, and how outputs say it is in use.

In an installed package the sample travels inside it (``zoning/_sample``; see
setup.cfg); in a source checkout it is read from ``rules/`` and
``sample_geodata/`` at the top of the repository.
"""

from collections.abc import Iterable
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

#: what text outputs say, near the top, when the units are this sample
SAMPLE_NOTICE = ("Illustrative sample region 示例数据: the units and access lists bundled with zoning are sketched and "
                 "their clause texts invented; not an official dataset, not for real decisions.")


def _dir(installed: str, checkout: str) -> Path:
    inside = _PACKAGE / "_sample" / installed
    return inside if inside.is_dir() else _PACKAGE.parent / checkout


def rules_dir() -> Path:
    return _dir("rules", "rules")


def geodata_dir() -> Path:
    return _dir("geodata", "sample_geodata")


def units_path() -> Path:
    return geodata_dir() / "units.gpkg"


def zones_path() -> Path:
    return geodata_dir() / "zones.gpkg"


def registry_path() -> Path:
    return geodata_dir() / "registry.csv"


def uses_sample(sources: Iterable[str | Path]) -> bool:
    """True when ``sources`` (the files an engine loaded) include this bundled, illustrative unit layer."""
    target = units_path().resolve()
    return any(Path(path).resolve() == target for path in sources)
