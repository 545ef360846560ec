"""GET /metrics for Prometheus (its text format, written by `prometheus_client`): what this
server did — leads taken in by outcome, request durations by route and status code — and what
the ledger holds now — the outbox and the queues waiting, SLA misses so far.

Who may read it: with `serve --metrics-token-env VAR`, whoever sends `Authorization: Bearer`
with VAR's value; without, clients on this machine only (and never a request a proxy passed
on: it carries X-Forwarded-For or Forwarded, and the proxy's own address is loopback).
"""

from __future__ import annotations

import hmac
from bisect import bisect_left
from ipaddress import ip_address

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROXIED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


class Metrics:
    def __init__(self, service, token: str | None = None):
        from prometheus_client import CollectorRegistry

        self.token = token
        self.registry = CollectorRegistry(auto_describe=True)
        self.traffic = _Traffic()
        self.registry.register(self.traffic)
        self.registry.register(_Ledger(service))

    def observe(self, scope, status: int, seconds: float, counts: str) -> None:
        """One answer: its duration under its route and status; the outcomes of the leads it
        took ("assigned=3 queued=1"). On the event loop only (every answer passes there)."""
        route = getattr(scope.get("route"), "path", None) or "other"
        traffic = self.traffic
        kept = traffic.durations.get((route, status))
        if kept is None:
            kept = traffic.durations[(route, status)] = [0] * (len(BUCKETS) + 1) + [0.0]
        kept[bisect_left(BUCKETS, seconds)] += 1
        kept[-1] += seconds
        for part in counts.split():
            name, _, n = part.partition("=")
            if n.isdigit():
                traffic.leads[name] = traffic.leads.get(name, 0) + int(n)

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


class _Traffic:
    """What this server did, counted as plain numbers by `Metrics.observe` on the event loop (a
    prometheus_client Histogram and Counter took ~20 µs a request there, in locks and label
    look-ups) and written in Prometheus' terms when it asks: a counter and a histogram."""

    def __init__(self):
        self.leads: dict[str, int] = {}  # outcome -> leads
        self.durations: dict[tuple[str, int], list] = {}  # (route, status) -> a count per bucket (+Inf last), sum

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        leads = CounterMetricFamily("leadctl_leads", "Leads this server took in, by outcome (assigned, queued,"
                                    " unassigned, skipped, rejected).", labels=["status"])
        for name, n in sorted(dict(self.leads).items()):  # (copies: the event loop goes on counting)
            leads.add_metric([name], n)
        yield leads
        duration = HistogramMetricFamily("leadctl_http_request_duration_seconds", "Time to answer a request,"
                                         " by route and status code.", labels=["route", "code"])
        for (route, status), kept in sorted(dict(self.durations).items()):
            kept = list(kept)
            running, buckets = 0, []
            for bound, n in zip((*BUCKETS, float("inf")), kept):
                running += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
            duration.add_metric([route, str(status)], buckets, sum_value=kept[-1])
        yield duration


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
