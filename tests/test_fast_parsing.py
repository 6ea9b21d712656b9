"""Registry cells parsed in Arrow (CSV text) give exactly what the general parser gives."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.inputs.coordinates import _parse_text, parse_coordinates
from zoning.inputs.csvfile import _is_utf8, detect_encoding
from zoning.projects import RowErrors, _numbers
from zoning.vocabulary import builtin

_CELLS = st.one_of(
    st.floats(-180, 180, allow_nan=False).map(repr),
    st.floats(-180, 180, allow_nan=False).map(lambda v: f"{v:.6f}"),
    st.integers(-999, 999).map(str),
    st.sampled_from(["", " ", "\u3000", " 115.97 ", "１１５.９７", "116°23'45.6\"", "N38度30分", "+5", "5.", ".5",
                     "1e2", "-0", "abc", "nan", "inf", "116°70'", "E39.5", "1,234.5", "١٢"]),
    st.text(max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELLS, min_size=1, max_size=40), st.sampled_from(["lon", "lat"]))
def test_arrow_parsed_coordinates_equal_the_general_parser(cells, axis):
    fast = parse_coordinates(pd.Series(cells, dtype=pd.StringDtype("pyarrow")), axis)
    general = _parse_text(pd.Series(cells, dtype=object), axis)
    assert np.array_equal(fast[0], general[0], equal_nan=True)
    assert list(fast[1]) == list(general[1])


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=6), st.text(max_size=5).map(lambda t: t.encode("utf-8", "surrogatepass")),
                          st.sampled_from(["统一社会信用代码", "𠀀", "é"]).map(str.encode)), max_size=10),
       st.integers(1, 9))
def test_the_block_by_block_utf8_check_agrees_with_pythons_decoder(parts, block_size):
    data = b"".join(parts)  # blocks of 1 to 9 bytes: characters cut at every position
    assert _is_utf8(io.BytesIO(data), block_size) == _decodes(data)


def test_a_gb18030_registry_is_told_from_utf8_by_a_byte_far_into_the_file(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"name,lon,lat\n" + b"a,116,39\n" * 300_000 + "最后,116,39\n".encode("gb18030"))
    assert detect_encoding(path) == "gb18030"
    path.write_bytes(b"name,lon,lat\n" + b"a,116,39\n" * 300_000 + "最后,116,39\n".encode())
    assert detect_encoding(path) == "utf-8"


_ATTRIBUTE_CELLS = st.one_of(
    st.floats(0, 1e6, allow_nan=False).map(repr),
    st.integers(-50, 5000).map(str),
    st.sampled_from(["", " ", "\u3000", " 12.5 ", "１２", "+5", "5.", ".5", "1e2", "1E+2", "-0", "-3", "nan", "inf",
                     "-inf", "Infinity", "1,234.5", "/", "无", "abc", "0x10", "1e999"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ATTRIBUTE_CELLS, min_size=1, max_size=30))
def test_attribute_numbers_read_in_arrow_equal_the_general_parser(cells):
    vocabulary = builtin()
    results = []
    for values in (pd.Series(cells, dtype=pd.StringDtype("pyarrow")), pd.Series(cells, dtype=object)):
        problems = RowErrors(values.index)
        number = _numbers(values, "VOCs", "VOCs", problems, "bad attribute", vocabulary)
        results.append((number, list(problems.message)))
    assert np.array_equal(results[0][0], results[1][0], equal_nan=True)
    assert results[0][1] == results[1][1]
