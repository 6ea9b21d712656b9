import pytest

from zoning.errors import InputError
from zoning.industries import table


def test_table_has_all_levels():
    t = table()
    levels = t.frame["level"].value_counts().to_dict()
    assert levels == {1: 20, 2: 97, 3: 473, 4: 1381}


@pytest.mark.parametrize("code, expected", [
    ("C3120", "3120"), ("3120", "3120"), ("c3120", "3120"), (" C31 ", "31"), ("312", "312"), ("C", "C"),
])
def test_normalise_with_or_without_section_letter(code, expected):
    assert table().normalise(code) == expected


def test_names_and_labels():
    ind = table().get("3120")
    assert (ind.label, ind.name, ind.section) == ("C3120", "炼钢", "C")
    assert table().resolve("炼钢") == "3120"


def test_wrong_section_letter_is_an_error():
    with pytest.raises(InputError, match="belongs to section C"):
        table().normalise("D3120")


def test_unknown_code_suggests_nearest_in_same_section():
    with pytest.raises(InputError) as exc:
        table().normalise("C3129")
    assert "nearest valid" in str(exc.value)
    assert "C3120" in str(exc.value)


@pytest.mark.parametrize("bad", ["X1", "", "C31201", "3"])
def test_malformed_code(bad):
    with pytest.raises(InputError):
        table().normalise(bad)


def test_unknown_name_suggests_codes():
    with pytest.raises(InputError, match="C3120"):
        table().resolve("钢铁")
