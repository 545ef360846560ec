"""`leadctl watch`: a source that grows, polled over HTTP (a local server on a free loopback port
standing in for a published Google Sheet) or read from a file that is appended to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ports import free_port

HEADER = "Timestamp,Full name,Email Address,Source\n"


def row(i: int) -> str:
    return f"2026-11-20 09:{i // 60:02d}:{i % 60:02d},Lead {i},lead{i}@example.com,sheet\n"


class Sheet:
    """A published sheet: its CSV grows, it answers 304 to a matching ETag, and it can be told
    to fail the next request (503, an HTML page, a timeout)."""

    def __init__(self):
        self.text = HEADER
        self.version = 0
        self.fail: list[str] = []  # what the next requests do instead: "503", "html", "slow"
        self.log: list[int] = []  # status of every answer
        sheet = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                what = sheet.fail.pop(0) if sheet.fail else None
                etag = f'"v{sheet.version}"'
                if what == "503":
                    return self._send(503, b"busy", "text/plain")
                if what == "html":
                    return self._send(200, b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html")
                if what == "404":
                    return self._send(404, b"not found", "text/plain")
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", None, etag)
                self._send(200, sheet.text.encode(), "text/csv; charset=utf-8", etag)

            def _send(self, status, body, kind, etag=None):
                sheet.log.append(status)
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}/spreadsheets/pub?output=csv&secret=abc"

    def add(self, *rows: str) -> None:
        self.text += "".join(rows)
        self.version += 1

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sheet():
    s = Sheet()
    yield s
    s.stop()


def routed(lc) -> list[str]:
    return sorted(r[0] for r in lc.query("SELECT id FROM leads"))


def test_each_poll_routes_the_new_rows_once_and_an_unchanged_sheet_costs_a_304(lc, sheet):
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1), row(2), row(3))
    first = lc.jsonl("watch", sheet.url, "--once")
    assert [o["assigned_to"] for o in first] == ["tom", "stephanie", "tom"]
    again = lc("watch", sheet.url, "--once", "-o", "jsonl")
    assert again.stdout == "" and sheet.log[-1] == 304  # unchanged: one small answer, nothing routed
    sheet.add(row(4), row(5))
    new = lc.jsonl("watch", sheet.url, "--once")
    assert [o["line"] for o in new] == [5, 6] and [o["assigned_to"] for o in new] == ["stephanie", "tom"]
    assert len(routed(lc)) == 5
    events = lc.query("SELECT lead_id, count(*) FROM events GROUP BY lead_id HAVING count(*) > 1")
    assert events == []  # every row routed exactly once


def test_an_edited_row_is_not_routed_again_and_a_row_with_an_id_keeps_it(lc, sheet):
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1), row(2))
    lc.jsonl("watch", sheet.url, "--once")
    sheet.text = sheet.text.replace("Lead 1,", "Lead One,")  # someone fixes a name in the sheet
    sheet.add(row(3))
    out = lc("watch", sheet.url, "--once", "-o", "jsonl")
    assert [json.loads(x)["line"] for x in out.stdout.splitlines()] == [4]  # only the new row
    assert "1 row(s) routed before were edited; not routed again" in out.stderr
    assert len(routed(lc)) == 3


def test_source_errors_are_one_line_and_the_next_poll_recovers(lc, sheet):
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1))
    sheet.fail = ["503"]
    r = lc("watch", sheet.url, "--once", "-o", "jsonl", ok=False)
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        f"watch http://127.0.0.1:{sheet.port}/spreadsheets/pub: the source answered HTTP 503 Service Unavailable"]
    assert "secret=abc" not in r.stderr  # the link's query (a published sheet's key) is not printed
    sheet.fail = ["html"]
    r = lc("watch", sheet.url, "--once", ok=False)
    assert r.exit_code == 1 and "sent a web page, not CSV" in r.stderr and "Publish to web" in r.stderr
    sheet.fail = ["404"]
    r = lc("watch", sheet.url, "--once", ok=False)
    assert r.exit_code == 1 and "HTTP 404" in r.stderr and "published" in r.stderr
    assert routed(lc) == []
    assert [o["status"] for o in lc.jsonl("watch", sheet.url, "--once")] == ["assigned"]
    dead = lc("watch", f"http://127.0.0.1:{free_port()}/x.csv", "--once", ok=False)
    assert dead.exit_code == 1 and "cannot reach the source" in dead.stderr and "Traceback" not in dead.stderr


def test_a_changed_header_holds_one_poll_then_is_taken(lc, sheet):
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1))
    lc.jsonl("watch", sheet.url, "--once")
    sheet.text = sheet.text.replace("Source\n", "Source,Campaign\n", 1).replace(",sheet\n", ",sheet,\n")
    sheet.add("2026-11-20 10:00:00,Late,late@example.com,sheet,winter\n")
    held = lc("watch", sheet.url, "--once", ok=False)
    assert held.exit_code == 1 and "the header changed" in held.stderr and len(routed(lc)) == 1
    taken = lc.jsonl("watch", sheet.url, "--once")
    assert [o["line"] for o in taken] == [3] and len(routed(lc)) == 2  # the edited row 2 is not routed again


def test_a_local_file_appended_to(lc):
    lc.team(users=("tom", "stephanie"))
    path = lc.write("sheet.csv", HEADER + row(1))
    assert len(lc.jsonl("watch", str(path), "--once")) == 1
    assert lc("watch", str(path), "--once", "-o", "jsonl").stdout == ""  # unchanged: not even read
    with path.open("a") as fh:
        fh.write(row(2) + row(3) + "bad,row,with,too,many\n")
    r = lc("watch", str(path), "--once", "-o", "jsonl", ok=False)
    assert r.exit_code == 1 and "line 5:" in r.stderr  # the bad row is said with its line; the rest routed
    assert len([x for x in r.stdout.splitlines() if x]) == 2 and len(routed(lc)) == 3
    missing = lc("watch", str(lc.folder / "nope.csv"), "--once", ok=False)
    assert missing.exit_code == 1 and "no file" in missing.stderr


def test_bad_options(lc):
    lc.team()
    assert "the least is 1s" in lc("watch", "x.csv", "--every", "0s", ok=False).stderr  # the minimum, named
    assert "not a duration" in lc("watch", "x.csv", "--every", "soon", ok=False).stderr
    r = lc("watch", "ftp://example.com/x.csv", "--once", ok=False)
    assert r.exit_code == 2 and "http(s) URL or a file" in r.stderr
    r = lc("watch", "http://[bad/x.csv", "--once", ok=False)
    assert r.exit_code == 2 and "not a valid URL" in r.stderr


def test_a_google_sheet_address_becomes_its_csv_export():
    from leadctl.intake.watch import sheet_csv_url

    assert sheet_csv_url("https://docs.google.com/spreadsheets/d/1AbC_d-9/edit#gid=42") == \
        "https://docs.google.com/spreadsheets/d/1AbC_d-9/export?format=csv&gid=42"
    published = "https://docs.google.com/spreadsheets/d/e/2PACX-1vQ/pub?output=csv"
    assert sheet_csv_url(published) == published


def test_the_watcher_keeps_going_through_failures_and_ends_on_sigterm(lc, sheet):
    """A running watcher (polls a second apart): rows added between polls are
    each routed once, a 503 and an HTML page are said and got over, SIGTERM ends it cleanly."""
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1))
    proc = subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db), "watch",
                             sheet.url, "--every", "1s", "-o", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def wait_for(n: int) -> None:
            deadline = time.monotonic() + 60
            while len(routed(lc)) < n:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else n
                time.sleep(0.1)

        wait_for(1)
        sheet.fail = ["503", "html"]  # the next two polls fail; the one after (backed off) works
        sheet.add(row(2), row(3))
        wait_for(3)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert [json.loads(x)["line"] for x in out.splitlines()] == [2, 3, 4]
    assert "HTTP 503" in err and "sent a web page" in err and "Traceback" not in err
    assert 304 not in sheet.log[:1] and routed(lc) == sorted(routed(lc))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX")
def test_duplicated_rows_in_one_poll_are_one_lead(lc, sheet):
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1), row(1))
    out = lc.jsonl("watch", sheet.url, "--once")
    assert [o["status"] for o in out] == ["assigned", "skipped"] and len(routed(lc)) == 1


def test_a_rejected_row_fixed_in_place_is_routed(lc, sheet):
    """An edit of a row that was routed is not a new lead; an edit that fixes a row that was
    rejected is: it is routed then."""
    lc.team(users=("tom", "stephanie"))
    sheet.text = "id,name,received_at\nA1,Ann,2026-11-20T09:00:00\nA2,Bob,yesterday\n"
    sheet.version += 1
    r = lc("watch", sheet.url, "--once", "-o", "jsonl", ok=False)
    assert r.exit_code == 1 and "line 3: received_at is not an ISO 8601" in r.stderr
    sheet.text = sheet.text.replace("yesterday", "2026-11-20T09:05:00")
    sheet.version += 1
    assert [o["lead_id"] for o in lc.jsonl("watch", sheet.url, "--once")] == ["A2"]
    other = sheet.url + "&tab=2"  # another sheet: no ids, a row that cannot be read, then fixed
    headerless = "name,email\nZoe,zoe@example.com\nBad,row,extra\n"
    sheet.text, sheet.version = headerless, sheet.version + 1
    assert "line 3:" in lc("watch", other, "--once", ok=False).stderr
    sheet.text, sheet.version = headerless.replace("Bad,row,extra", "Max,max@example.com"), sheet.version + 1
    assert [o["line"] for o in lc.jsonl("watch", other, "--once")] == [3]  # the fixed row: new, not an edit


def test_a_running_watcher_on_a_file_that_is_appended_to(lc):
    lc.team(users=("tom", "stephanie"))
    path = lc.write("form.csv", HEADER + row(1))
    proc = subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db), "watch",
                             str(path), "--every", "1s", "-o", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def wait_for(n: int) -> None:
            deadline = time.monotonic() + 60
            while len(routed(lc)) < n:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)

        wait_for(1)
        with path.open("a") as fh:
            fh.write(row(2))
        wait_for(2)
        with path.open("a") as fh:
            fh.write(row(3) + row(4))
        wait_for(4)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert [json.loads(x)["line"] for x in out.splitlines()] == [2, 3, 4, 5]  # each row once
    assert err.count("no id column") == 1  # said once, not at every poll
