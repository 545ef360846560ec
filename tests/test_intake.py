"""The reader: CSV and JSON Lines from bytes, good and bad, with line numbers."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl.intake import BadRecord, IntakeError, Record, format_for, read_records


def read(data: bytes, fmt=None) -> list:
    return list(read_records(io.BytesIO(data), fmt))


def test_csv_records_keep_every_field_as_text_with_line_numbers():
    got = read(b"id,phone,zip\nA,07700 900123,01234\nB,+44 1,00501\n")
    assert got == [
        Record(2, {"id": "A", "phone": "07700 900123", "zip": "01234"}),
        Record(3, {"id": "B", "phone": "+44 1", "zip": "00501"}),
    ]


def test_csv_meaningful_headers_are_matched_case_insensitively_other_names_kept():
    (rec,) = read(b" Email ,Received_At,Campaign\nx@y.z,2026-11-23,Winter\n")
    assert rec.fields == {"email": "x@y.z", "received_at": "2026-11-23", "Campaign": "Winter"}


def test_csv_with_bom_crlf_blank_lines_and_embedded_newline():
    data = "\ufeffid,note\r\nA,\"two\r\nlines\"\r\n\r\nB,ok\r\n".encode()
    got = read(data)
    assert [r.line for r in got] == [2, 5]
    assert got[0].fields["note"] == "two\r\nlines"
    assert got[0].fields["id"] == "A"


def test_csv_ragged_rows_are_rejected_with_their_line_and_the_rest_kept():
    got = read(b"id,name\nA,Ann\nB\nC,Cy,extra\nD,Di,\nE,Ed\n")
    assert got[0] == Record(2, {"id": "A", "name": "Ann"})
    assert got[1] == BadRecord(3, "has 1 fields, the header has 2")
    assert got[2] == BadRecord(4, "has 3 fields, the header has 2")
    assert got[3] == Record(5, {"id": "D", "name": "Di"})  # a trailing empty cell is fine
    assert got[4] == Record(6, {"id": "E", "name": "Ed"})


def test_csv_row_that_is_not_utf8_is_rejected_alone():
    got = read(b"id,name\nA,Ann\nB,Jos\xe9\nC,Cy\n")
    assert [type(r).__name__ for r in got] == ["Record", "BadRecord", "Record"]
    assert got[1].line == 3 and "UTF-8" in got[1].reason


def test_csv_duplicate_header_is_a_whole_file_error():
    with pytest.raises(IntakeError, match="column 'email' appears twice"):
        read(b"email,EMAIL\na,b\n")


def test_csv_unnamed_column_keeps_its_data():
    (rec,) = read(b"id,,name\nA,x,Ann\n")
    assert rec.fields == {"id": "A", "column_2": "x", "name": "Ann"}


def test_csv_field_over_the_limit_is_rejected_and_reading_goes_on():
    big = b"x" * (1 << 20 + 1)
    got = read(b"id,note\nA," + big + b"\nB,ok\n")
    assert isinstance(got[0], BadRecord) and got[0].line == 2
    assert got[-1] == Record(3, {"id": "B", "note": "ok"})


def test_utf16_csv_from_a_spreadsheet_is_read():
    got = read("id,name\nA,Zoë\n".encode("utf-16"))
    assert got == [Record(2, {"id": "A", "name": "Zoë"})]


def test_jsonl_values_become_text_and_nulls_are_dropped():
    (rec,) = read(b'{"id": 7, "ok": true, "score": 1.5, "tags": ["a"], "x": null, "Email": "A@B.C"}\n')
    assert rec == Record(1, {"id": "7", "ok": "true", "score": "1.5", "tags": '["a"]', "email": "A@B.C"})


def test_jsonl_bad_lines_are_reported_with_their_line_and_the_rest_kept():
    data = b'{"id": "a"}\n\n{not json}\n[1, 2]\n"text"\n{"id": "\xff"}\n{"id": "b"}\n'
    got = read(data)
    assert got[0] == Record(1, {"id": "a"})
    assert got[1].line == 3 and got[1].reason.startswith("invalid JSON")
    assert got[2] == BadRecord(4, "is a JSON array, not an object")
    assert got[3] == BadRecord(5, "is a JSON string, not an object")
    assert got[4] == BadRecord(6, "is not valid UTF-8")
    assert got[5] == Record(7, {"id": "b"})


def test_jsonl_line_over_one_mebibyte_is_rejected_without_reading_it_whole():
    data = b'{"id": "a"}\n{"x": "' + b"y" * (2 << 20) + b'"}\n{"id": "b"}\n'
    got = read(data)
    assert got == [Record(1, {"id": "a"}), BadRecord(2, "line is longer than 1 MiB"), Record(3, {"id": "b"})]


def test_format_is_sniffed_from_content():
    assert read(b'  {"id": "a"}\n')[0].fields == {"id": "a"}
    assert read(b"id\na\n")[0].fields == {"id": "a"}
    with pytest.raises(IntakeError, match="JSON array"):
        read(b'[{"id": "a"}]')


@pytest.mark.parametrize("name, fmt, expected", [
    ("leads.csv", None, "csv"), ("x.JSONL", None, "jsonl"), ("a.ndjson", None, "jsonl"),
    ("a.txt", None, None), (None, None, None), ("a.csv", "jsonl", "jsonl"),
])
def test_format_from_option_then_extension(name, fmt, expected):
    assert format_for(name, fmt) == expected


def test_empty_input_has_no_records():
    assert read(b"") == [] and read(b"id,name\n") == []


def test_reader_is_lazy_and_streams():
    def endless():
        yield b"id\n"
        i = 0
        while True:
            i += 1
            yield f"L{i}\n".encode()

    class Stream(io.RawIOBase):
        def __init__(self):
            self.it, self.buf = endless(), b""

        def readable(self):
            return True

        def readinto(self, b):
            while len(self.buf) < len(b):
                self.buf += next(self.it)
            n = len(b)
            b[:n], self.buf = self.buf[:n], self.buf[n:]
            return n

    records = read_records(io.BufferedReader(Stream()))
    assert next(records) == Record(2, {"id": "L1"})
    assert next(records) == Record(3, {"id": "L2"})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([None, "csv", "jsonl"]))
def test_arbitrary_bytes_never_raise_anything_but_a_whole_file_error(data, fmt):
    try:
        for r in read(data, fmt):
            assert isinstance(r, (Record, BadRecord)) and r.line >= 1
    except IntakeError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=20), min_size=2, max_size=2), max_size=20))
def test_every_good_csv_row_comes_back_unchanged(rows):
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "note"])
    w.writerows(rows)
    got = read(buf.getvalue().encode("utf-8"), "csv")
    assert got == [Record(i, dict(zip(["id", "note"], r))) for i, r in zip(_lines(rows), rows)]


def _lines(rows):
    """The line each written row starts on: 2, then after any embedded newlines."""
    line = 2
    for r in rows:
        yield line
        line += 1 + sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in r)
