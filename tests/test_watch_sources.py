"""`leadctl watch` against sources that misbehave: rows deleted as others arrive, answers cut
short, redirects to places a watcher must not go, sources that drip, and a file caught
mid-append. Each source is a server on a free loopback port (always stopped) or a file."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ports import free_port
from tests.test_watch import HEADER, Sheet, routed, row, sheet  # noqa: F401  (the fixture)


def test_a_row_deleted_as_another_arrives_loses_no_lead(lc, sheet):  # noqa: F811
    lc.team(users=("tom", "stephanie"))
    sheet.add(row(1), row(2), "2026-11-20 09:00:03,Spam Bot,spam@spam.example,sheet\n")
    assert len(lc.jsonl("watch", sheet.url, "--once")) == 3
    sheet.text = sheet.text.replace("2026-11-20 09:00:03,Spam Bot,spam@spam.example,sheet\n", "")  # spam deleted
    sheet.add(row(4))  # as a form row arrives, in its place
    out = lc.jsonl("watch", sheet.url, "--once")
    assert [o["line"] for o in out] == [4] and len(routed(lc)) == 4
    assert lc("watch", sheet.url, "--once", "-o", "jsonl").stdout == ""  # and known from then on


class Misbehaving:
    """A server whose answers are scripted per path: (status, headers, body, how) where how is
    'cut' (send less than Content-Length, then close) or 'drip' (a byte a second)."""

    def __init__(self):
        self.routes: dict[str, tuple] = {}
        me = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, headers, body, how = me.routes.get(self.path.split("?")[0], (404, {}, b"", None))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(500 if how == "cut" else len(body)))
                self.end_headers()
                try:
                    if how == "drip":
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(1)
                    else:
                        self.wfile.write(body)
                        self.wfile.flush()
                    if how == "cut":
                        self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bad_server():
    s = Misbehaving()
    yield s
    s.stop()


def test_an_answer_cut_short_is_a_source_error_and_routes_nothing(lc, bad_server):
    lc.team(users=("tom",))
    body = (HEADER + row(1) + "2026-11-20 09:00:02,Bob,bob@exam").encode()
    bad_server.routes["/cut.csv"] = (200, {"Content-Type": "text/csv"}, body, "cut")
    r = lc("watch", bad_server.base + "/cut.csv", "--once", ok=None)
    assert r.exit_code == 1 and "cut short" in r.stderr and "Traceback" not in r.stderr
    assert routed(lc) == []


def test_redirects_never_change_scheme_nor_lead_inside_from_outside(lc, bad_server, monkeypatch):
    from leadctl.intake import watch as watching

    lc.team(users=("tom",))
    csv = (HEADER + row(1)).encode()
    bad_server.routes["/internal.csv"] = (200, {"Content-Type": "text/csv"}, csv, None)
    bad_server.routes["/ftp"] = (302, {"Location": "ftp://127.0.0.1/leads.csv"}, b"", None)
    bad_server.routes["/here"] = (302, {"Location": "/internal.csv"}, b"", None)
    r = lc("watch", bad_server.base + "/ftp", "--once", ok=None)
    assert r.exit_code == 1 and "redirect" in r.stderr and routed(lc) == []
    # a source on the loopback itself may redirect within it (its own server)
    assert len(lc.jsonl("watch", bad_server.base + "/here", "--once")) == 1
    # a public source (as far as the watcher knows) redirected to a loopback address: refused
    assert watching.redirect_refusal("https://sheets.example.com/x.csv", "http://127.0.0.1/internal.csv")
    assert watching.redirect_refusal("https://sheets.example.com/x.csv", "https://10.0.0.7/internal.csv")
    assert watching.redirect_refusal("https://sheets.example.com/x.csv", "https://169.254.169.254/latest")
    assert watching.redirect_refusal("https://docs.google.com/spreadsheets/d/e/X/pub?output=csv",
                                     "https://doc-0s.googleusercontent.com/pub/x") is None  # public, same scheme
    assert watching.redirect_refusal("http://127.0.0.1:9/x.csv", "http://127.0.0.1:9/y.csv") is None


def test_a_source_that_drips_is_cut_off_at_the_overall_deadline(lc, bad_server, monkeypatch):
    from leadctl.intake import watch as watching

    monkeypatch.setattr(watching, "TIMEOUT", 2)
    lc.team(users=("tom",))
    bad_server.routes["/drip.csv"] = (200, {"Content-Type": "text/csv"}, (HEADER + row(1)).encode(), "drip")
    started = time.monotonic()
    r = lc("watch", bad_server.base + "/drip.csv", "--once", ok=None)
    assert time.monotonic() - started < 10
    assert r.exit_code == 1 and "within 2 s" in r.stderr and routed(lc) == []


def test_a_proposed_config_that_is_no_regular_file_is_exit_2(lc):
    lc.team(users=("tom",))
    r = lc("simulate", "--proposed", "/dev/zero", ok=None)
    assert r.exit_code == 2 and "not a regular file" in r.stderr


def test_a_half_written_last_line_waits_for_the_next_poll(lc):
    lc.team(users=("tom", "stephanie"))
    path = lc.write("form.csv", HEADER + row(1) + "2026-11-20 09:00:02,Half Writ")
    r = lc("watch", str(path), "--once", "-o", "jsonl")
    assert "line 3" not in r.stderr and len(routed(lc)) == 1  # no error said for a line still being written
    with path.open("a") as fh:
        fh.write("ten,half@example.com,sheet\n")
    out = lc.jsonl("watch", str(path), "--once")
    assert [o["line"] for o in out] == [3] and len(routed(lc)) == 2
    with path.open("a") as fh:
        fh.write(row(3).rstrip("\n"))  # and no final newline, for good
    first = lc.jsonl("watch", str(path), "--once")
    again = lc.jsonl("watch", str(path), "--once")  # unchanged since: the last line is whole
    assert [o["line"] for o in first + again] == [4] and len(routed(lc)) == 3
