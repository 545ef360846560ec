"""Clients that post single leads to running servers until stopped: the load the durability
tests put on `serve` (SIGTERM, SIGKILL, a PostgreSQL restart), counting what was acknowledged."""

from __future__ import annotations

import http.client
import json
import threading
import time


class Posters:
    """`clients` threads, the n-th posting {"id": "<prefix><n>-<i>"} to servers[n % len(servers)]
    with the bearer token `secret`, one lead a request, until `stop()` (or `most` leads each).
    Every id answered 200 is appended to `acknowledged` (and given to `on_ack`). A request that
    fails — the server gone, an answer cut off mid-body: no acknowledgement — ends its client,
    or with `keep_going` the client goes on (for a server that comes back)."""

    def __init__(self, servers: list, secret: str, prefix: str, clients: int, *, most: int | None = None,
                 keep_going: bool = False, on_ack=None):
        self.servers, self.secret, self.prefix = servers, secret, prefix
        self.most, self.keep_going, self.on_ack = most, keep_going, on_ack
        self.acknowledged: list[str] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._post, args=(n,)) for n in range(clients)]
        for t in self.threads:
            t.start()

    def _post(self, n: int) -> None:
        srv, i = self.servers[n % len(self.servers)], 0
        while not self.stopping.is_set() and (self.most is None or i < self.most):
            lead = f"{self.prefix}{n}-{i}"
            try:
                status = srv.post(json.dumps({"id": lead}), token=self.secret)[0]
            except (OSError, http.client.HTTPException):
                if not self.keep_going:
                    return
                status = None
            if status == 200:
                self.acknowledged.append(lead)
                if self.on_ack:
                    self.on_ack(lead)
            i += 1

    def wait_for(self, n: int, seconds: float) -> None:
        """Until `n` leads are acknowledged (the stream is flowing), for `seconds` at most."""
        deadline = time.monotonic() + seconds
        while len(self.acknowledged) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)
