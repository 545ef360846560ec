"""Running serve as a service: GET /metrics (parsed with prometheus_client's own parser), who
may read it, `--log-format json`, the systemd units, and a SIGKILL under group commit (both
stores)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.test_serve import server, token  # noqa: F401  (the fixture: a real `serve` on a free loopback port)

STORES = ("sqlite", "postgresql")


def _metrics(srv, headers: dict | None = None) -> tuple[int, dict]:
    """(status, {(name, labels as a sorted tuple): value}) of GET /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    req = urllib.request.Request(srv.url + "/metrics", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            assert resp.headers["Content-Type"].startswith("text/plain")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    return 200, {(s.name, tuple(sorted(s.labels.items()))): s.value
                 for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_parse_and_move_as_leads_are_posted(lc, server):
    lc.team(users=("a", "b"), daily="1")
    lc("group", "edit", "tele-sales", "--queue")
    lc("notify", "setup", "--webhook-url", "http://127.0.0.1:9/hook")
    secret = token(lc)
    srv = server()
    status, before = _metrics(srv)
    assert status == 200
    assert before.get(("leadctl_leads_total", (("status", "assigned"),)), 0) == 0
    assert before[("leadctl_queue_length", (("group", "tele-sales"),))] == 0
    assert before[("leadctl_sla_missed_total", ())] == 0
    body = "\n".join(json.dumps({"id": f"M{i}"}) for i in range(5))
    assert srv.post(body, "application/x-ndjson", secret)[0] == 200  # a, b take one each; 3 wait
    assert srv.post('{"id": "bad", "type": "spaceship"}', "application/json", secret)[0] == 422
    _, after = _metrics(srv)
    assert after[("leadctl_leads_total", (("status", "assigned"),))] == 2
    assert after[("leadctl_leads_total", (("status", "queued"),))] == 3
    assert after[("leadctl_leads_total", (("status", "rejected"),))] == 1
    assert after[("leadctl_queue_length", (("group", "tele-sales"),))] == 3
    assert after[("leadctl_outbox_pending", (("kind", "webhook"),))] >= 1
    assert after[("leadctl_http_request_duration_seconds_count", (("code", "200"), ("route", "/leads")))] == 1
    assert after[("leadctl_http_request_duration_seconds_count", (("code", "422"), ("route", "/leads")))] == 1
    # a request a proxy passed on is not this machine's, even from the loopback address
    assert _metrics(srv, {"X-Forwarded-For": "203.0.113.5"})[0] == 403


def test_request_durations_are_exposed_as_prometheus_clients_own_histogram_would_expose_them():
    """serve counts durations as plain numbers (a Histogram's locks cost ~20 µs a request);
    what Prometheus reads is the same, bucket for bucket, edges included."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from leadctl.serve.metrics import BUCKETS, Metrics

    class Route:
        path = "/leads"

    ours = Metrics(None)
    theirs = CollectorRegistry()
    reference = Histogram("leadctl_http_request_duration_seconds", "Time to answer a request, by route and"
                          " status code.", ["route", "code"], buckets=BUCKETS, registry=theirs)
    answers = [(0.0004, 200), (0.001, 200), (0.0011, 200), (0.3, 422), (10.0, 200), (99.0, 200), (0.0, 200)]
    for seconds, status in answers:
        ours.observe({"route": Route()}, status, seconds, "assigned=1")
        reference.labels("/leads", str(status)).observe(seconds)
    ours_text = generate_latest(_only(ours)).decode()
    kept = [line for line in generate_latest(theirs).decode().splitlines() if "_created" not in line]
    assert [line for line in ours_text.splitlines() if line.startswith("leadctl_http")] == \
        [line for line in kept if line.startswith("leadctl_http")]
    assert "leadctl_leads_total{status=\"assigned\"} 7.0" in ours_text


def _only(metrics):
    """A registry holding what serve counts, without the ledger's figures (no ledger here)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(metrics.traffic)
    return registry


def test_metrics_need_the_token_when_one_is_set_and_another_address_is_refused(lc, server):
    lc.team(users=("a",))
    srv = server("--metrics-token-env", "LEADCTL_TEST_METRICS", "--forwarded-allow-ips", "127.0.0.1",
                 env={"LEADCTL_TEST_METRICS": "s3cret-metrics-token-123"})
    assert _metrics(srv)[0] == 401
    assert _metrics(srv, {"Authorization": "Bearer wrong-token-wrong-token"})[0] == 401
    assert _metrics(srv, {"Authorization": "Bearer s3cret-metrics-token-123"})[0] == 200
    plain = server("--forwarded-allow-ips", "127.0.0.1")  # the proxy here is trusted: the client is 203.0.113.5
    assert _metrics(plain, {"X-Forwarded-For": "203.0.113.5"})[0] == 403
    short = lc("serve", "--metrics-token-env", "NOT_SET_ANYWHERE", ok=None)
    assert short.exit_code == 2 and "16 characters" in short.stderr


def test_json_logs_are_one_object_a_line_with_the_zone_and_no_lead_contents(lc, server):
    lc.team(users=("a",))
    lc("settings", "--timezone", "Europe/Berlin")
    secret = token(lc)
    srv = server("--log-format", "json")
    assert srv.post('{"id": "J1", "email": "secret.person@example.com"}', "application/json", secret)[0] == 200
    assert srv.get("/no-such-page")[0] == 404
    _, err = srv.stop()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    posted = next(x for x in lines if x["path"] == "/leads")
    assert set(posted) == {"time", "client", "token", "method", "path", "status", "ms", "counts"}
    assert (posted["client"], posted["token"], posted["method"], posted["status"], posted["counts"]) == (
        "127.0.0.1", "web", "POST", 200, {"assigned": 1})
    assert posted["time"][-6:] in ("+01:00", "+02:00") and isinstance(posted["ms"], float)
    assert any(x["path"] == "/no-such-page" and x["status"] == 404 for x in lines)
    assert "secret.person" not in err


def test_the_systemd_units_in_deploy_verify(tmp_path):
    """docs/deploy.md's units, as systemd itself reads them (where systemd is installed)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here")
    leadctl = Path(sys.executable).with_name("leadctl")
    units = sorted((Path(__file__).parent.parent / "deploy").glob("leadctl-*"))
    assert {u.name for u in units} == {"leadctl-serve.service", "leadctl-tick.service", "leadctl-tick.timer",
                                       "leadctl-watch@.service"}
    for unit in units:
        name = unit.name.replace("@.", "@sheet.")  # an instance of the template
        (tmp_path / name).write_text(unit.read_text().replace("/opt/leadctl/bin/leadctl", str(leadctl)))
    done = subprocess.run([analyze, "verify", *sorted(p.name for p in tmp_path.iterdir())], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_sigkill_under_group_commit_loses_no_acknowledged_lead_and_assigns_each_once(lc, server):
    """20 clients post single leads, so requests share transactions (group commit); the server
    is killed mid-stream. Every lead answered 200 is in the ledger, assigned once; the caps
    hold (each member's daily tally is the count of their events)."""
    import os
    import signal

    from tests.clients import Posters

    lc.team(users=("a", "b", "c"), daily="400")
    secret = token(lc)
    srv = server()
    posters = Posters([srv], secret, "K", 20)
    posters.wait_for(300, 60)
    os.kill(srv.proc.pid, signal.SIGKILL)
    posters.stop()
    acknowledged = posters.acknowledged
    assert len(acknowledged) >= 300
    stored = dict(lc.query("SELECT lead_id, count(*) FROM events GROUP BY lead_id"))
    assert [lead for lead in acknowledged if stored.get(lead) != 1] == []  # 0 acknowledged-but-lost
    held = dict(lc.query("SELECT assigned_to, count(*) FROM leads GROUP BY assigned_to"))
    assert sum(held.values()) == len(stored) and set(held) <= {"a", "b", "c", None}
    assert lc("ledger", "check").exit_code == 0  # usage tallies = counted events, holders = last events
