"""POST /leads under load: the requests that arrive together are routed together. One
thread takes every request waiting (up to MAX_REQUESTS), checks each one's credentials and
reads its body, then routes those of one token and group as one batch in one transaction
(`intake.route_works`), and answers each request from its own share of the outcomes once
that transaction has committed — never before: an acknowledged lead is on disk. Alone, a
request is routed at once, as before; under load, one commit carries many. The event loop
only speaks HTTP; the Routers (their compiled rules, the config's derived policy) are kept
by this thread between requests, remade when the config changes."""

from __future__ import annotations

import queue
import threading

from .service import RETRY_AFTER, Answer, Service

MAX_REQUESTS = 64  # requests taken into one round at most
MAX_ROUND_BYTES = 1 << 20  # and no more once their bodies add up to this


class GroupCommit:
    def __init__(self, service: Service):
        self.service = service
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        self.routers: dict = {}
        self.thread: threading.Thread | None = None
        self.starting = threading.Lock()

    async def route(self, body: bytes, headers: dict, query: dict) -> Answer:
        """The answer to one POST /leads, given after its leads are committed."""
        import asyncio

        if self.thread is None:
            with self.starting:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="leadctl-intake", daemon=True)
                    self.thread.start()
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self.waiting.put((body, headers, query, loop, answer))
        return await answer

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
            while len(taken) < MAX_REQUESTS and size < MAX_ROUND_BYTES:  # (a big batch does not hold up many)
                try:
                    taken.append(self.waiting.get_nowait())
                except queue.Empty:
                    break
                size += len(taken[-1][0])
            try:
                answers = self._round([t[:3] for t in taken])
            except Exception as exc:  # a bug: every request of the round is told, the log has it
                import traceback

                from ..render import err

                err(f"intake failed: {exc}\n{traceback.format_exc()}")
                answers = [Answer(500, {"error": "the server failed (see its log)"})] * len(taken)
            by_loop: dict = {}
            for (*_, loop, future), answer in zip(taken, answers):
                by_loop.setdefault(loop, []).append((future, answer))
            for loop, settled in by_loop.items():  # one wake-up of the event loop a round, not one a request
                loop.call_soon_threadsafe(_settle, settled)

    def _round(self, requests: list[tuple[bytes, dict, dict]]) -> list[Answer]:
        from .intake import Work, prepare, route_works
        from .service import credentials

        known = credentials(self.service)  # the config, the ledger and the tokens: once a round
        if isinstance(known, Answer):
            return [known] * len(requests)
        prepared = [prepare(self.service, *r, known=known) for r in requests]
        works = [p for p in prepared if isinstance(p, Work)]
        routed = iter(route_works(self.service, works, self.routers) if works else [])
        return [next(routed) if isinstance(p, Work) else p for p in prepared]


def _settle(settled: list) -> None:
    for future, answer in settled:
        if not future.done():  # (the client may have gone: its request was cancelled)
            future.set_result(answer)


class _Route:
    """What the metrics read of a route: its path."""

    def __init__(self, path: str):
        self.path = path
