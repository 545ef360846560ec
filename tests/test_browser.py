"""serve's web pages in a real browser: headless Chromium from the OS packages, driven by
Playwright for Python (its own browser is never downloaded). Screenshots of each page, at
1440 and 375 pixels wide, go to the test's temp folder (and to $LEADCTL_SCREENSHOTS, when set:
the README's come from there)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import leads_csv
from tests.test_serve import server  # noqa: F401  (the fixture: a real `serve` on a free loopback port)

CHROMIUM = os.environ.get("LEADCTL_CHROMIUM", "/usr/bin/chromium")


def _browser_or_skip():
    why = None
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        why = "Playwright for Python is not installed (pip install -e '.[test]')"
    if why is None and not Path(CHROMIUM).exists():
        why = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if why:
        if os.environ.get("LEADCTL_REQUIRE_BROWSER"):
            pytest.fail(f"a browser is required here (LEADCTL_REQUIRE_BROWSER) but: {why}")
        pytest.skip(why)


@pytest.fixture
def chromium():
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # root may not use the sandbox
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


def shoot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("LEADCTL_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def link(lc, user: str, port: int) -> str:
    return lc("token", "link", user, "--port", str(port)).stdout.strip()


@pytest.fixture
def team(lc):
    lc.team(users=("tom", "stephanie", "lewis", "denise"), daily="6")
    lc("user", "add", "priya", "--role", "manager")
    lc("user", "edit", "tom", "--role", "trusted")
    lc("settings", "--isolate")
    lc("route", "-", "--clock", "received", "-o", "jsonl", input=leads_csv(16, day="2026-11-20"))
    lc("route", "-", "-o", "jsonl", input=leads_csv(8, start=17))  # today: the team page's bars
    return lc


def test_a_trusted_rep_signs_in_sees_only_their_leads_and_sets_a_status(team, server, chromium, tmp_path):
    srv = server()
    for width, height in ((1440, 900), (375, 800)):
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(link(team, "tom", srv.port))
        assert page.url.endswith("/inbox")
        ids = page.locator("table a[href^='/leads/']").all_inner_texts()
        assert ids and all(team.json("leads", "show", i)["assigned_to"] == "tom" for i in ids)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        shoot(page, tmp_path, f"inbox-{width}")
        page.close()
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    page.goto(link(team, "tom", srv.port))
    first = page.locator("table a[href^='/leads/']").first
    lead_id = first.inner_text()
    first.click()
    assert page.locator("h1").inner_text() == f"Lead {lead_id}"
    page.get_by_label("New status").select_option("contacted")  # the statuses in use, and other…
    page.get_by_label("Note").first.fill("left a voicemail")
    page.get_by_role("button", name="Set status").click()
    assert "Status set to contacted" in page.locator("[role=status]").inner_text()
    assert page.locator("ol.timeline li").count() >= 2  # the history, one event a line
    shoot(page, tmp_path, "lead-1440")
    assert team.json("leads", "show", lead_id)["status"] == "contacted"
    other = next(r["id"] for r in team.json("leads", "list") if r["assigned_to"] == "stephanie")
    response = page.goto(f"{srv.url}/leads/{other}")
    assert response.status == 404 and "No such lead" in page.content()
    # keyboard: the first Tab reaches the skip link, the next the first link of the navigation
    page.goto(f"{srv.url}/inbox")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "My leads"
    page.close()


def test_a_manager_sees_the_team_page_and_its_chart(team, server, chromium, tmp_path):
    srv = server()
    for width, height in ((1440, 900), (375, 800)):
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(link(team, "priya", srv.port))
        page.get_by_role("link", name="Team").click()
        assert page.url.endswith("/team")
        assert page.locator("svg[role=img] rect.bar").count() == 4
        labels = page.locator("svg[role=img] text").all_text_contents()
        assert {"tom", "stephanie", "lewis", "denise"} <= set(labels)
        sizes = page.evaluate("[...document.querySelectorAll('svg[role=img] text')]"
                              ".map(t => t.getBoundingClientRect().height)")
        assert min(sizes) >= 12, sizes  # the chart's words readable on a phone too
        next_up = page.locator("text=Next:").inner_text()
        assert re.search(r"Next: (tom|stephanie|lewis|denise)", next_up)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, tmp_path, f"team-{width}")
        page.close()
    page = chromium.new_page()
    page.goto(link(team, "tom", srv.port))
    assert page.goto(f"{srv.url}/team").status == 403
    page.close()


NAMED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, button, textarea')]
    .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') ||
                   (e.tagName === 'BUTTON' && e.textContent.trim())))
    .map(e => e.outerHTML.slice(0, 80))"""


def test_a_manager_adds_and_ends_leave_and_an_admin_changes_a_cap_in_the_browser(team, server, chromium, tmp_path):
    team("user", "add", "mo", "--role", "manager")
    team("group", "member", "add", "tele-sales", "mo", "--daily", "1")
    team("user", "add", "olga", "--role", "admin")
    srv = server()
    for width, height in ((1440, 900), (375, 800)):
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(link(team, "mo", srv.port))
        page.get_by_role("link", name="Team").click()
        assert page.evaluate(NAMED) == []  # every control has a name
        page.get_by_label("Who", exact=True).select_option("lewis")
        page.get_by_label("From", exact=True).fill("2030-01-05")
        page.get_by_label("To", exact=True).fill(f"2030-01-{10 if width == 1440 else 20}")
        page.get_by_label("Backup", exact=True).select_option("denise")
        page.get_by_role("button", name="Add leave").click()
        assert "lewis is away from 2030-01-05" in page.locator("[role=status]").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        shoot(page, tmp_path, f"team-leave-{width}")
        if width == 1440:
            page.get_by_role("button", name="End lewis's leave now").click()
            assert "leave ended" in page.locator("[role=status]").inner_text()
        page.close()
    (left,) = team.json("away", "list")
    assert (left["user"], left["to"], left["backup"]) == ("lewis", "2030-01-20", "denise")
    page = chromium.new_page(viewport={"width": 375, "height": 800})
    page.goto(link(team, "olga", srv.port))
    page.goto(f"{srv.url}/team")
    page.get_by_label("Member").first.select_option("tom")
    page.get_by_label("Daily cap").first.fill("5")
    page.get_by_role("button", name="Change member").first.click()
    assert "tom in tele-sales: daily 5" in page.locator("[role=status]").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, tmp_path, "team-cap-375")
    page.close()
    tom = next(m for m in team.json("group", "show", "tele-sales")["members"] if m["user"] == "tom")
    assert tom["daily_limit"] == 5
    webs = [(h["actor"], h["via"]) for h in team.json("config", "history") if h["via"] == "web"]
    assert webs == [("user:mo", "web")] * 3 + [("user:olga", "web")]


CONTRAST = """() => {
  const rgb = s => { const m = /rgba?\\(([^)]+)\\)/.exec(s || ''); return m ? m[1].split(',').map(parseFloat) : null; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                     return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const behind = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor); if (c && (c.length < 4 || c[3] > 0)) return c; }
    return [255, 255, 255]; };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none' || !el.getClientRects().length) continue;
    const fg = rgb(el instanceof SVGElement ? st.fill : st.color); if (!fg) continue;
    const a = lum(fg), b = lum(behind(el)), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), large = size >= 24 || (parseInt(st.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) out.push(el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return out; }"""
# WCAG 2 AA for text: 4.5:1, 3:1 when large; against the nearest background drawn behind it.


def test_a_manager_hands_out_a_queued_lead_and_every_page_is_named_readable_and_fits(team, server, chromium, tmp_path):
    team("group", "edit", "tele-sales", "--queue")
    out = team.jsonl("route", "-", input=leads_csv(18, start=40))  # today's caps (6 each) fill: 2 wait
    waiting = [o["lead_id"] for o in out if o["status"] == "queued"]
    assert len(waiting) == 2
    team("group", "sla", "tele-sales", "--step", "1h:reroute")
    for lead in [o["lead_id"] for o in out if o["status"] == "assigned"][:8]:
        team("leads", "status", lead, "contacted")  # figures for the speed and SLA charts
    srv = server()
    for width, height, lead_id, to in ((1440, 900, waiting[0], "tom"), (375, 800, waiting[1], "denise")):
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(link(team, "priya", srv.port))
        page.get_by_role("link", name="Queue").click()
        assert page.url.endswith("/queue") and page.evaluate(NAMED) == []
        shoot(page, tmp_path, f"queue-{width}")
        page.get_by_label(f"Hand {lead_id} to").select_option(to)
        page.get_by_role("button", name=f"Hand out {lead_id}").click()
        assert page.url.split("?")[0].endswith("/queue")  # back on the queue, which says what happened
        assert f"{lead_id}: Reassigned to {to}" in page.locator("[role=status]").inner_text()
        assert page.get_by_role("button", name=f"Hand out {lead_id}").count() == 0
        for path in ("/inbox", "/team", "/queue", "/reports", "/reports?days=90", f"/leads/{lead_id}"):
            page.goto(f"{srv.url}{path}")
            assert page.evaluate(NAMED) == [], path  # every control has a name
            assert page.evaluate(CONTRAST) == [], path  # text contrast AA
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path  # no sideways scroll
        page.goto(f"{srv.url}/reports")
        sizes = page.evaluate("[...document.querySelectorAll('svg[role=img] text')].map(t => t.getBoundingClientRect().height)")
        assert sizes and min(sizes) >= 12, sizes
        shoot(page, tmp_path, f"reports-{width}")
        page.close()
    for lead_id, to in zip(waiting, ("tom", "denise")):
        shown = team.json("leads", "show", lead_id)
        assert shown["assigned_to"] == to and (shown["history"][-1]["actor"], shown["history"][-1]["via"]) == (
            "user:priya", "web")
