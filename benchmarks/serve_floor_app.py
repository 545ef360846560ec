"""The floor `serve_bench.py --floor` measures serve against: a bare Starlette app on the same
uvicorn that parses each POSTed JSON lead and commits one SQLite row for it (WAL, synchronous
NORMAL, as the ledger), answering after the commit. Nothing of leadctl's: no token, no config,
no routing. Run by serve_bench; alone: python benchmarks/serve_floor_app.py --port 8090 --db floor.db
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading


def app(db: str):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    local = threading.local()
    turn = threading.Lock()  # one writer at a time, in the process (not SQLite's busy wait)
    setup = sqlite3.connect(db)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS leads (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    setup.commit()
    setup.close()

    def write(lead_id: str, body: str) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(db, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
        with turn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO leads (id, body) VALUES (?, ?)", (lead_id, body))
            conn.execute("COMMIT")

    async def post(request):
        body = await request.body()
        lead = json.loads(body)
        write(str(lead["id"]), body.decode())  # on the event loop: a WAL commit without fsync is ~50 µs
        return JSONResponse({"outcomes": [{"lead_id": lead["id"], "status": "assigned"}]})

    async def health(request):
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/leads", post, methods=["POST"]), Route("/healthz", health)])


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    uvicorn.run(app(args.db), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
