import polars as pl
import pytest

from ingestion.privacy import (
    Pseudonymiser,
    bsn_like_rows,
    looks_medical,
    normalise_header,
    passes_11_proef,
)


@pytest.mark.parametrize("value", ["111222333", "123456782", "999999990"])
def test_valid_bsns_pass_the_11_proef(value):
    assert passes_11_proef(value)


@pytest.mark.parametrize("value", ["123456789", "000000000", "12345678", "12345678a", "1234567820"])
def test_other_values_fail_the_11_proef(value):
    assert not passes_11_proef(value)


def test_bsn_like_cells_are_found_by_row_and_column():
    frame = pl.DataFrame({"_row_number": [1, 2, 3], "a": ["123456782", "123456789", None]})
    assert bsn_like_rows(frame, ["a"]) == [(1, "a")]


def test_pseudonyms_are_keyed_deterministic_and_not_the_input():
    one, other = Pseudonymiser(b"k" * 32), Pseudonymiser(b"j" * 32)
    assert one.pseudonym("100123") == one.pseudonym(" 100123 ")
    assert one.pseudonym("100123") != other.pseudonym("100123")
    assert "100123" not in one.pseudonym("100123")
    assert len(one.pseudonym("100123")) == 20


def test_pseudonymising_a_column_keeps_nulls_and_order():
    pseudonymiser = Pseudonymiser(b"k" * 32)
    out = pseudonymiser.column(pl.Series("employee_id", ["b", None, "a", "b"]))
    assert out[1] is None and out[0] == out[3] == pseudonymiser.pseudonym("b")
    assert out[2] == pseudonymiser.pseudonym("a")


def test_a_short_key_is_refused():
    with pytest.raises(ValueError):
        Pseudonymiser(b"short")


def test_headers_are_normalised_as_the_contract_says():
    assert normalise_header(" Datum in-Dienst ") == "datum_in_dienst"
    assert normalise_header("Geboortédatum") == "geboortedatum"


@pytest.mark.parametrize("header", ["diagnose", "klacht_omschrijving", "medical_reason", "icd10"])
def test_medical_looking_headers_are_recognised(header):
    assert looks_medical(header)


def test_ordinary_headers_are_not_medical():
    assert not looks_medical("eerste_ziektedag_x") and not looks_medical("cost_center")
