"""GET /metrics for Prometheus (its text format, written by `prometheus_client`): what this
server did — leads taken in by outcome, request durations by route and status code — and what
the ledger holds now — the outbox and the queues waiting, SLA misses so far.

Who may read it: with `serve --metrics-token-env VAR`, whoever sends `Authorization: Bearer`
with VAR's value; without, clients on this machine only (and never a request a proxy passed
on: it carries X-Forwarded-For or Forwarded, and the proxy's own address is loopback).
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROXIED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


class Metrics:
    def __init__(self, service, token: str | None = None):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.token = token
        self.registry = CollectorRegistry(auto_describe=True)
        self.leads = Counter("leadctl_leads", "Leads this server took in, by outcome (assigned, queued, unassigned,"
                             " skipped, rejected).", ["status"], registry=self.registry)
        self.duration = Histogram("leadctl_http_request_duration_seconds", "Time to answer a request, by route and"
                                  " status code.", ["route", "code"], buckets=BUCKETS, registry=self.registry)
        self.registry.register(_Ledger(service))
        self.children: dict = {}  # (route, code) -> its histogram: labels() is not free, per request

    def observe(self, scope, status: int, seconds: float, counts: str) -> None:
        route = getattr(scope.get("route"), "path", None) or "other"
        child = self.children.get((route, status))
        if child is None:
            child = self.children[(route, status)] = self.duration.labels(route, str(status))
        child.observe(seconds)
        for part in counts.split():  # "assigned=3 queued=1": the outcomes of leads posted
            name, _, n = part.partition("=")
            if n.isdigit():
                self.leads.labels(name).inc(int(n))

    def refusal(self, scope) -> int | None:
        """401 or 403 when this request may not read the metrics, else None."""
        headers = dict(scope.get("headers") or [])
        if self.token:
            sent = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, value = sent.partition(" ")
            ok = scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())
            return None if ok else 401
        client = (scope.get("client") or ("",))[0]
        try:
            local = ip_address(client).is_loopback
        except ValueError:
            local = False
        return None if local and not any(h in headers for h in PROXIED) else 403

    def page(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Ledger:
    """The ledger's figures, read when Prometheus asks (from the request's thread)."""

    def __init__(self, service):
        self.service = service

    def describe(self):
        return []  # read only when collected: registering must not open the ledger

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        cfg, _ = self.service.config()
        ledger = self.service.ledger(cfg)
        outbox = GaugeMetricFamily("leadctl_outbox_pending", "Messages and CRM owner writes waiting to go out.",
                                   labels=["kind"])
        for kind, n in sorted(ledger.outbox_pending().items()):
            outbox.add_metric([kind], n)
        yield outbox
        queue = GaugeMetricFamily("leadctl_queue_length", "Leads waiting in a group's queue.", labels=["group"])
        waiting = ledger.queue_length()
        for group in sorted({g.name for g in cfg.groups if g.queue} | set(waiting)):
            queue.add_metric([group], waiting.get(group, 0))
        yield queue
        yield CounterMetricFamily("leadctl_sla_missed", "Times a holder missed an SLA (a re-route or escalation step"
                                  " ran).", value=ledger.sla_missed_count())
