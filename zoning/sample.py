"""Where the bundled, illustrative sample region lives.

In an installed package the sample travels inside it (``zoning/_sample``; see
setup.cfg); in a source checkout it is read from ``rules/`` and
``sample_geodata/`` at the top of the repository.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


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


def uses_sample(engine) -> bool:
    """True when the engine's units are this bundled, illustrative sample (reports and maps say so)."""
    target = units_path().resolve()
    return any(Path(path).resolve() == target for path in engine.sources)
