"""The reader: CSV and JSON Lines from bytes, good and bad, with line numbers."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl.intake import MEANINGFUL, BadRecord, IntakeError, Record, format_for, read_records


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


def test_csv_field_over_the_limit_stops_reading_so_text_inside_quotes_is_never_a_lead():
    big = b"x" * (1 << 20 + 1)
    data = b'id,note\nR1,ok\nR2,"' + big + b'\nINJ2,also-inside\nstill inside"\nR3,real\n'
    got = read(data)
    assert got[0] == Record(2, {"id": "R1", "note": "ok"})
    assert isinstance(got[1], BadRecord) and got[1].line == 3 and "reading stopped" in got[1].reason
    assert len(got) == 2  # neither INJ2 (text from inside the quotes) nor anything after it


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


# Any text but NUL, which is never a good value (rejected with its line: tested below).
text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(text, min_size=2, max_size=2), max_size=20))
def test_every_good_csv_row_comes_back_unchanged(rows):
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "note"])
    w.writerows(rows)
    got = read(buf.getvalue().encode("utf-8"), "csv")
    expected = []
    for i, r in zip(_lines(rows), rows):
        if not "".join(r).strip():
            continue  # a blank row is not a lead
        if [c.strip() for c in r] == ["id", "note"]:
            expected.append(BadRecord(i, "repeats the header (two files joined?); not a lead"))
        else:
            expected.append(Record(i, dict(zip(["id", "note"], r))))
    assert got == expected


def _lines(rows):
    """The line each written row starts on: 2, then after any embedded newlines."""
    line = 2
    for r in rows:
        yield line
        line += 1 + sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in r)


good_jsonl = st.dictionaries(text.filter(bool).map(lambda t: t[:8]), text.map(lambda t: t[:12]), min_size=1, max_size=4)
bad_jsonl = st.sampled_from([b"{broken", b"[1, 2]", b'"just a string"', b"nul\x00l", b"\x80\xfe{}", b"42", b"{'single': 1}"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(good_jsonl, bad_jsonl), max_size=30))
def test_jsonl_never_loses_a_good_line_and_reports_every_bad_one_with_its_line(lines):
    import json

    from leadctl.intake.columns import is_credential

    data = b"\n".join(json.dumps(x).encode() if isinstance(x, dict) else x for x in lines) + b"\n"
    got = read(data, "jsonl")
    kept = [(n, x) for n, x in enumerate(lines, 1)  # all-blank (credentials aside): not a lead
            if not isinstance(x, dict) or any(v.strip() for k, v in x.items() if not is_credential(k))]
    assert [r.line for r in got] == [n for n, _ in kept]
    for (_, item), rec in zip(kept, got):
        if isinstance(item, dict):
            assert isinstance(rec, Record)
            assert rec.fields == _normalised(item)
        else:
            assert isinstance(rec, BadRecord) and rec.reason


def _normalised(item: dict) -> dict:
    """Keys as the reader names them: trimmed, known column names as their field (the names
    themselves are tested above); a second key for a field already there keeps its own name;
    a credential (a token, a password) is never kept."""
    from leadctl.intake.columns import field_for, is_credential

    out = {}
    for key, value in item.items():
        if is_credential(key):
            continue
        name = field_for(key.strip()) or "column"
        if name in out:
            name = key.strip() if key.strip() not in out else f"{key.strip()} (2)"
        out[name] = value
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.text(alphabet="abc xyz,\"\n", max_size=10), st.text(alphabet="0123456789", max_size=5)),
    st.sampled_from(["ragged", "too,many,cells,here"])), max_size=25))
def test_csv_mixed_good_and_ragged_rows_keep_every_good_row(rows):
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["note", "n"])
    for r in rows:
        if isinstance(r, tuple):
            w.writerow(r)
        else:
            buf.write(r + "\r\n")
    got = read(buf.getvalue().encode(), "csv")
    good = [r for r in rows if isinstance(r, tuple) and "".join(r).strip()]  # blank rows are no leads
    assert [x.fields for x in got if isinstance(x, Record)] == [{"note": a, "n": b} for a, b in good]
    assert len([x for x in got if isinstance(x, BadRecord)]) == len([r for r in rows if not isinstance(r, tuple)])
    lines = [x.line for x in got]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


@pytest.mark.parametrize("data", [b"id,name\nN1,a\x00b\nN2,ok\n",
                                  b'{"id": "N1", "name": "a\\u0000b"}\n{"id": "N2", "name": "ok"}\n',
                                  b'{"id": "N1", "a\\u0000": "b"}\n{"id": "N2", "name": "ok"}\n'])
def test_a_nul_character_rejects_its_record_only(data):
    out = read(data)
    assert [type(r).__name__ for r in out] == ["BadRecord", "Record"]
    assert "NUL" in out[0].reason and out[1].fields["id"] == "N2"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(text.filter(lambda t: t.strip()), text, min_size=1, max_size=8))
def test_a_csv_row_as_json_is_exactly_what_the_json_module_writes(fields):
    """Routing writes a CSV row's fields through the header's layout, not json.dumps: the text
    must be the same, whatever the names and values hold (quotes, %, backslashes, newlines)."""
    import json

    from leadctl.intake import json_layout

    names, cells = list(fields), list(fields.values())
    assert json_layout(names) % tuple(json.encoder.encode_basestring(c) for c in cells) == json.dumps(
        fields, ensure_ascii=False)


@pytest.mark.parametrize("header, field", [
    ("Email Address", "email"), ("E-mail", "email"), ("e_mail", "email"), ("E-Mail", "email"),
    ("Courriel", "email"), ("Correo electrónico", "email"), ("Correo", "email"),
    ("Phone Number", "phone"), ("Mobile", "phone"), ("Telefon", "phone"), ("Téléphone", "phone"),
    ("Teléfono", "phone"), ("Lead ID", "id"), ("lead_id", "id"), ("First Name", "first_name"),
    ("Vorname", "first_name"), ("Prénom", "first_name"), ("Last Name", "last_name"), ("Nachname", "last_name"),
    ("Nom", "last_name"), ("Company", "company"), ("Firma", "company"), ("Société", "company"),
    ("Quelle", "source"), ("Lead Source", "source"), ("Received At", "received_at"), ("Created-By", "created_by"),
    ("Campaign", "Campaign"), ("Budget (EUR)", "Budget (EUR)"),
])
def test_common_export_column_names_in_four_languages_are_fields(header, field):
    (rec,) = read(f"{header}\nvalue\n".encode())
    assert rec.fields == {field: "value"}


def test_two_columns_meaning_one_field_keep_both_the_first_is_the_field():
    (rec,) = read(b"Email,Email Address,Phone,Mobile\na@x.de,b@x.de,030 1,0170 2\n")
    assert rec.fields == {"email": "a@x.de", "Email Address": "b@x.de", "phone": "030 1", "Mobile": "0170 2"}
    (rec,) = read(b'{"E-Mail": "a@x.de", "email": "b@x.de"}\n', "jsonl")
    assert rec.fields == {"email": "a@x.de", "email (2)": "b@x.de"}


def test_a_file_without_a_column_duplicates_can_use_says_so(tmp_path):
    from leadctl.intake import Options

    options = Options(duplicate_fields=("email", "phone"))
    list(read_records(io.BytesIO(b"id,Kontakt\n1,x\n"), "csv", options))
    (warning,) = [w for w in options.stats.warnings if "duplicates" in w]
    assert "no column here is one" in warning and "--map 'COLUMN=email'" in warning
    options = Options(duplicate_fields=("email", "phone"))
    list(read_records(io.BytesIO(b"id,Telefon\n1,x\n"), "csv", options))
    assert not [w for w in options.stats.warnings if "duplicates" in w]
