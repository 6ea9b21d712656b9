"""``-`` for standard input and output (README, "Pipes"): registries and sites in, results out, quietly."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from zoning import sample
from zoning.cli import main
from zoning.cli.pipes import sniff

REGISTRY = sample.registry_path()
ZONING = Path(sys.executable).parent / "zoning"


def invoke(args, data: bytes = b""):
    result = CliRunner().invoke(main, [str(a) for a in args], input=data)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("head", "default", "expected"), [
    (b"SQLite format 3\x00rest", "csv", "gpkg"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1", "csv", "xls"),
    (b'  {"type": "FeatureCollection", "features": []}', "csv", "geojson"),
    (b'{"type": "Feature", "geometry": null, "properties": {}}\n{"type": "Feature"}\n', "csv", "geojsons"),
    (b'\x1e{"type": "Feature"}\n', "csv", "geojsons"),
    (b'<?xml version="1.0"?><kml>', "csv", "kml"),
    ("[属性描述]\n坐标系=2000国家大地坐标系\n".encode("gbk"), "csv", "red-line"),
    (b"  0\nSECTION\n  2\nENTITIES\n", "csv", "dxf"),
    (b"name,lon,lat\nA,115,38\n", "csv", "csv"),
    (b"POLYGON ((115 38, 116 38, 116 39, 115 38))", "wkt", "wkt"),
])
def test_standard_input_is_recognised_by_its_first_bytes(head, default, expected):
    assert sniff(head, default) == expected


def test_a_registry_from_standard_input_to_standard_output():
    result = invoke(["screen", "-", "-o", "-", "--format", "csv"], REGISTRY.read_bytes())
    assert result.exit_code == 0, result.stderr
    rows = pd.read_csv(io.StringIO(result.stdout.lstrip("\ufeff")), dtype=str)
    assert len(rows) == 200 and "verdict" in rows.columns
    assert "Screened 200 rows of standard input → standard output" in result.stderr  # the summary: stderr


def test_quiet_says_nothing_and_the_summary_can_be_json(tmp_path):
    out, summary = tmp_path / "out.xlsx", tmp_path / "summary.json"
    result = invoke(["screen", REGISTRY, "-o", out, "-q", "--summary-json", summary])
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["rows"] == 200 and sum(data["verdicts"].values()) == 200 and data["illustrative"] is True
    printed = invoke(["screen", REGISTRY, "-o", out, "-q", "--summary-json", "-"])
    assert json.loads(printed.stdout)["rows"] == 200


def test_a_workbook_from_standard_input_in_a_binary_output(tmp_path):
    book = tmp_path / "registry.xlsx"
    pd.read_csv(REGISTRY, dtype=str).to_excel(book, index=False)
    result = invoke(["screen", "-", "-o", "-", "--format", "xlsx", "-q"], book.read_bytes())
    assert result.exit_code == 0, result.stderr
    assert len(pd.read_excel(io.BytesIO(result.stdout_bytes), sheet_name="screened", engine="calamine")) == 200


def test_what_cannot_be_done_with_pipes_is_refused():
    no_format = invoke(["screen", REGISTRY, "-o", "-"])
    assert no_format.exit_code == 2 and "--format" in no_format.stderr
    clash = invoke(["screen", REGISTRY, "-o", "out.csv", "--format", "xlsx"])
    assert clash.exit_code == 2 and "--format says xlsx" in clash.stderr
    empty = invoke(["screen", "-", "-o", "out.csv"], b"")
    assert empty.exit_code == 1 and "standard input is empty" in empty.stderr
    both = invoke(["screen", "-", "-o", "-", "--format", "csv", "--summary-json", "-"], b"a,b\n")
    assert both.exit_code == 2
    markdown = invoke(["report", "--lon", "115.97", "--lat", "38.93", "-o", "-", "--format", "md"])
    assert markdown.exit_code == 2 and "--no-map" in markdown.stderr


def test_messages_name_standard_input_not_the_temporary_file():
    result = invoke(["screen", "-", "-o", "-", "--format", "csv"], b"name,x\nA,1\n")
    assert result.exit_code == 1
    assert "standard input" in result.stderr and "zoning-stdin-" not in result.stderr


def test_standard_input_is_bounded_by_the_expanded_size_limit():
    result = invoke(["--max-expanded-mb", "1", "screen", "-", "-o", "-", "--format", "csv"],
                    b"name,lon,lat\n" + b"A,115.97,38.93\n" * 100_000)
    assert result.exit_code == 1 and "more than 1 MB" in result.stderr and "--max-expanded-mb" in result.stderr


@pytest.mark.parametrize("site", [
    b"POINT (115.97 38.93)\n",
    b'{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [115.97, 38.93]}}',
])
def test_a_site_from_standard_input(site):
    result = invoke(["check", "--site", "-", "--industry", "C2614", "--format", "json"], site)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["units"][0]["code"] == "ZH13063210001"


def test_a_siting_map_to_standard_output():
    result = invoke(["where", "--industry", "A0313", "--type", "new", "--within", "130632", "-o", "-", "--format",
                     "geojson"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["type"] == "FeatureCollection"
    assert "Siting guidance" in result.stderr  # the summary moved aside


def test_a_siting_picture_and_the_unit_layer_to_standard_output():
    picture = subprocess.run([ZONING, "where", "--industry", "A0313", "--type", "new", "--within", "130632", "--map",
                              "-", "--map-format", "png"], capture_output=True, timeout=120)
    assert picture.returncode == 0, picture.stderr
    assert picture.stdout.startswith(b"\x89PNG\r\n\x1a\n") and b"Siting guidance" in picture.stderr
    both = invoke(["where", "--industry", "A0313", "-o", "-", "--format", "geojson", "--map", "-",
                   "--map-format", "png"])
    assert both.exit_code == 2 and "standard output" in both.stderr
    units = invoke(["export", "units", "-o", "-", "--format", "geojson"])
    assert units.exit_code == 0 and len(json.loads(units.stdout)["features"]) == 65
    assert invoke(["export", "units", "-o", "-"]).exit_code == 2  # no extension to go by: --format needed


def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path):
    big = tmp_path / "big.csv"
    lines = REGISTRY.read_text(encoding="utf-8").splitlines()
    big.write_text("\n".join([lines[0], *lines[1:] * 50]) + "\n", encoding="utf-8")
    done = subprocess.run(f"'{ZONING}' screen '{big}' -o - --format csv | head -c 100 > /dev/null; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, timeout=120)
    assert done.returncode in (0, 141), done.stderr
    assert "Traceback" not in done.stderr and "error" not in done.stderr, done.stderr
