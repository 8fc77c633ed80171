import pytest

from ingestion import dialect
from ingestion.errors import FileRejected


def recognise(cells):
    return sum(
        c in {"employee_id", "gender", "birth_date", "personeelsnummer", "geslacht"} for c in cells
    )


def test_utf8_comma_file_is_the_canonical_dialect():
    text, encoding = dialect.decode(b"employee_id,gender\n1,M\n", "f.csv")
    found = dialect.detect(text, encoding, "f.csv", recognise)
    assert (found.encoding, found.separator, found.decimal_comma) == ("utf-8", ",", False)


def test_cp1252_semicolon_file_is_the_dutch_dialect():
    data = "personeelsnummer;geslacht;naam\n1;M;José\n".encode("cp1252")
    text, encoding = dialect.decode(data, "f.csv")
    found = dialect.detect(text, encoding, "f.csv", recognise)
    assert (found.encoding, found.separator, found.decimal_comma) == ("cp1252", ";", True)
    assert "José" in text


def test_utf8_bom_is_stripped():
    text, encoding = dialect.decode(b"\xef\xbb\xbfemployee_id,gender\n", "f.csv")
    assert encoding == "utf-8" and text.startswith("employee_id")


def test_utf16_is_rejected_with_the_file_name():
    with pytest.raises(FileRejected, match="f.csv: UTF-16"):
        dialect.decode("employee_id,gender\n".encode("utf-16"), "f.csv")


def test_bytes_undefined_in_both_encodings_are_rejected():
    with pytest.raises(FileRejected, match=r"neither UTF-8 nor Windows-1252.*0x81"):
        dialect.decode(b"employee_id,gender\n1,\x81\n", "f.csv")


def test_ambiguous_separator_is_rejected_not_guessed():
    text, encoding = dialect.decode(b"foo;bar,baz\n1;2,3\n", "f.csv")
    with pytest.raises(FileRejected, match="cannot tell the separator"):
        dialect.detect(text, encoding, "f.csv", recognise)


def test_empty_file_is_rejected():
    with pytest.raises(FileRejected, match="empty"):
        dialect.detect("", "utf-8", "f.csv", recognise)
