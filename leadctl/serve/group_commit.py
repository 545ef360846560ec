"""POST /leads under load: the requests that arrive together are routed together.

A request, once its body is read, joins the round being gathered on the event loop; the
round waits while it still grows (a loop turn at a time, MAX_HOPS at most: no wait at all
when requests come one at a time), then checks each request's credentials and reads its
body, routes those of one token and group as one batch in one transaction
(`intake.route_works`), and answers each request from its own share of the outcomes once
that transaction has committed — never before: an acknowledged lead is on disk.

Where a round runs: on the event loop itself when the ledger is a local file nobody else is
writing (a round of twenty there costs ~2 ms and waits for nothing — handing it to a thread
cost more than the routing, in turns at the interpreter lock); otherwise in the intake
thread, which waits its turn while the loop goes on speaking HTTP: PostgreSQL (a round waits
on the network), another writer holding the file (a `route`, another node, the sender's
tick), bodies over MAX_LOOP_BYTES. Each keeps its Routers (their compiled rules, the
config's derived policy) between rounds, remade when the config changes."""

from __future__ import annotations

import queue
import threading

from .service import BUSY_TIMEOUT, RETRY_AFTER, Answer, Service

MAX_REQUESTS = 64  # requests taken into one round at most
MAX_ROUND_BYTES = 1 << 20  # and no more once their bodies add up to this
MAX_LOOP_BYTES = 64 << 10  # a round with more is routed in the thread (~200 leads: a few ms of routing)
MAX_HOPS = 4  # loop turns a round waits for more requests while it still grows


class GroupCommit:
    def __init__(self, service: Service):
        self.service = service
        self.gathered: list = []  # (body, headers, query, future): the round the event loop gathers
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()  # for the intake thread
        self.routers: dict = {}  # the thread's
        self.loop_routers: dict = {}  # the event loop's
        self.loop_ledger = None  # the event loop's own connection, which never waits for the file's lock
        self.thread: threading.Thread | None = None

    async def route(self, body: bytes, headers: dict, query: dict) -> Answer:
        """The answer to one POST /leads, given after its leads are committed."""
        import asyncio

        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self.gathered.append((body, headers, query, answer))
        if len(self.gathered) == 1:
            loop.call_soon(self._gather, loop, 0, 0)
        return await answer

    def _gather(self, loop, hops: int, seen: int) -> None:
        """Take the round gathered so far, once it stopped growing, and route it."""
        n = len(self.gathered)
        if seen < n < MAX_REQUESTS and hops < MAX_HOPS:
            loop.call_soon(self._gather, loop, hops + 1, n)  # requests came during the last turn: one more
            return
        taken, size = [], 0  # (a big batch does not hold up many)
        while self.gathered and len(taken) < MAX_REQUESTS and size < MAX_ROUND_BYTES:
            taken.append(self.gathered.pop(0))
            size += len(taken[-1][0])
        if self.gathered:
            loop.call_soon(self._gather, loop, 0, 0)
        if size <= MAX_LOOP_BYTES:
            taken = self._on_loop(taken)
        for body, headers, query, future in taken:
            self._to_thread((body, headers, query, loop, future))

    def _on_loop(self, taken: list) -> list:
        """Route a round here, on the event loop, as far as the ledger lets it without waiting;
        what it could not (nothing of it kept) is left for the thread."""
        ledger = self._loop_ledger()
        if ledger is None:
            return taken
        answers = self._answers([t[:3] for t in taken], self.loop_routers, ledger)
        _settle([(t[3], answer) for t, answer in zip(taken, answers) if answer is not None])
        return [t for t, answer in zip(taken, answers) if answer is None]

    def _loop_ledger(self):
        """The event loop's connection, opened on first use (and again for another ledger):
        a local file's only. None: a PostgreSQL ledger, or a config or file that cannot be
        used now (the thread's round says so)."""
        from ..ledger import Ledger

        try:
            path = self.service.ledger_target(self.service.config()[0])
            kept = self.loop_ledger
            if kept is not None and (kept.target != path or kept.broken):
                kept.close()
                kept = self.loop_ledger = None
            if kept is None and not isinstance(path, str):  # (a URL: PostgreSQL)
                kept = Ledger.open(path, busy_timeout=BUSY_TIMEOUT)
                if not kept.never_wait():
                    kept.close()
                    return None
                self.loop_ledger = kept
            return kept
        except Exception:  # (the thread's round meets it again, and says so)
            return None

    def _to_thread(self, request: tuple) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="leadctl-intake", daemon=True)
            self.thread.start()
        self.waiting.put(request)

    def asgi(self, max_body: int):
        """POST /leads as a bare ASGI handler: what the Starlette route does (the body within
        `max_body`, 413 above it; 400 when the sender goes away mid-body; the Answer as JSON,
        Retry-After on 503), without the framework's layers on the path every lead takes."""
        import json
        from urllib.parse import parse_qsl

        route = _Route("/leads")

        async def handle(scope, receive, send) -> None:
            scope["route"] = route  # (for the metrics, as the router would)
            state = scope.setdefault("state", {})
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            answer = await self._read(receive, headers, max_body)
            if not isinstance(answer, Answer):
                query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
                answer = await self.route(answer, headers, query)
            state["token"], state["counts"] = answer.token, answer.counts
            body = json.dumps(answer.body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
            out = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
            if answer.status == 503:
                out.append((b"retry-after", RETRY_AFTER.encode()))
            await send({"type": "http.response.start", "status": answer.status, "headers": out})
            await send({"type": "http.response.body", "body": body})
        return handle

    @staticmethod
    async def _read(receive, headers: dict, max_body: int) -> bytes | Answer:
        length = headers.get("content-length", "")
        too_big = Answer(413, {"error": f"the body is over {max_body} bytes"})
        if length.isdigit() and int(length) > max_body:
            return too_big
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # the sender went away mid-body: nothing kept
                return Answer(400, {"error": "the body did not arrive whole"}, "client went away")
            body += message.get("body", b"")
            if len(body) > max_body:
                return too_big
            if not message.get("more_body", False):
                return bytes(body)

    def _run(self) -> None:
        while True:
            taken = [self.waiting.get()]
            size = len(taken[0][0])
            while len(taken) < MAX_REQUESTS and size < MAX_ROUND_BYTES:
                try:
                    taken.append(self.waiting.get_nowait())
                except queue.Empty:
                    break
                size += len(taken[-1][0])
            answers = self._answers([t[:3] for t in taken], self.routers)
            by_loop: dict = {}
            for (*_, loop, future), answer in zip(taken, answers):
                by_loop.setdefault(loop, []).append((future, answer))
            for loop, settled in by_loop.items():  # one wake-up of the event loop a round, not one a request
                loop.call_soon_threadsafe(_settle, settled)

    def _answers(self, requests: list[tuple[bytes, dict, dict]], routers: dict, ledger=None) -> list[Answer | None]:
        """Each request's answer; with `ledger` (the event loop's), None for those it could not
        route without waiting."""
        try:
            return self._round(requests, routers, ledger)
        except Exception as exc:  # a bug: every request of the round is told, the log has it
            import traceback

            from ..render import err

            err(f"intake failed: {exc}\n{traceback.format_exc()}")
            return [Answer(500, {"error": "the server failed (see its log)"})] * len(requests)

    def _round(self, requests: list[tuple[bytes, dict, dict]], routers: dict, ledger) -> list[Answer | None]:
        from ..ledger import LedgerBusy
        from .intake import Work, prepare, route_works
        from .service import credentials

        try:
            known = credentials(self.service, ledger)  # the config, the ledger and the tokens: once a round
        except LedgerBusy:  # (the event loop's connection, which does not wait)
            return [None] * len(requests)
        if isinstance(known, Answer):
            return [known] * len(requests)
        prepared = [prepare(self.service, *r, known=known) for r in requests]
        works = [p for p in prepared if isinstance(p, Work)]
        routed = iter(route_works(self.service, works, routers, ledger=ledger, wait=ledger is None) if works else [])
        return [next(routed) if isinstance(p, Work) else p for p in prepared]


def _settle(settled: list) -> None:
    for future, answer in settled:
        if not future.done():  # (the client may have gone: its request was cancelled)
            future.set_result(answer)


class _Route:
    """What the metrics read of a route: its path."""

    def __init__(self, path: str):
        self.path = path
