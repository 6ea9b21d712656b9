"""Registry cells parsed in Arrow (CSV text) give exactly what the general parser gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.inputs.coordinates import _parse_text, parse_coordinates

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
