"""serve's log: one line a request (text), or one JSON object a line (`--log-format json`)."""

from __future__ import annotations

from datetime import datetime


def log_line(at: datetime, client: str, method: str, path: str, status: int, took_ms: float,
             token: str | None, counts: str) -> str:
    """One request in the server's log: when (ISO 8601), who from where, what, the answer, and
    the outcome counts; never a body, a credential or a lead's contents."""
    from urllib.parse import quote

    who = f"token={token}" if token else "token=-"
    if path.startswith("/signin/"):
        path = "/signin/(link)"  # a sign-in link's secret is a credential: never in the log
    safe_path = quote(path, safe="/:@!$&'()*+,;=-._~")[:200]  # no control characters, bounded
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
