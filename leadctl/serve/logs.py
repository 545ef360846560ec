"""serve's log: one line a request (text), or one JSON object a line (`--log-format json`),
on stderr; the lines of one turn of the event loop in one write."""

from __future__ import annotations

import sys
from datetime import datetime
from urllib.parse import quote


class Lines:
    """The request lines, escaped as `render.err` escapes a line, but those of one turn of the
    event loop written together: a round of twenty answers is one write to the log, not
    twenty (measured: ~12 µs a request). Written at the end of the turn, before the loop
    waits again; and when the server stops."""

    def __init__(self):
        self.waiting: list[str] = []

    def add(self, text: str) -> None:
        from ..render import clean

        self.waiting.append(clean(text))
        if len(self.waiting) == 1:
            import asyncio

            try:
                asyncio.get_running_loop().call_soon(self.write)
            except RuntimeError:  # (no event loop here: at once)
                self.write()

    def write(self) -> None:
        lines, self.waiting = self.waiting, []
        if lines:
            sys.stderr.write("\n".join(lines) + "\n")


_SAFE_PATHS: dict[str, str] = {}  # a path as the log shows it, by path (a server sees few)


def log_line(at: datetime, client: str, method: str, path: str, status: int, took_ms: float,
             token: str | None, counts: str) -> str:
    """One request in the server's log: when (ISO 8601), who from where, what, the answer, and
    the outcome counts; never a body, a credential or a lead's contents."""
    who = f"token={token}" if token else "token=-"
    if path.startswith("/signin/"):
        path = "/signin/(link)"  # a sign-in link's secret is a credential: never in the log
    safe_path = _SAFE_PATHS.get(path)
    if safe_path is None:
        if len(_SAFE_PATHS) > 1000:
            _SAFE_PATHS.clear()
        safe_path = _SAFE_PATHS[path] = quote(path, safe="/:@!$&'()*+,;=-._~")[:200]  # no control characters, bounded
    line = f"{at.isoformat(timespec='seconds')} {client} {who} {method[:16]} {safe_path} {status} {took_ms:.1f}ms"
    return f"{line} {counts}".rstrip()


def json_log_line(at: datetime, client: str, method: str, path: str, status: int, took_ms: float,
                  token: str | None, counts: str) -> str:
    """The same as `log_line`, as one JSON object (`serve --log-format json`, for a log shipper)."""
    import json

    text = log_line(at, client, method, path, status, took_ms, token, "")  # the path made safe, as there
    shown = {k: int(n) for k, _, n in (p.partition("=") for p in counts.split()) if n.isdigit()}
    return json.dumps({"time": at.isoformat(timespec="milliseconds"), "client": client, "token": token,
                       "method": method[:16], "path": text.split(" ")[4], "status": status, "ms": round(took_ms, 1),
                       "counts": shown}, ensure_ascii=False)
