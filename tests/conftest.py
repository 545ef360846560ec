"""Shared fixtures: a team on disk and a way to run leadctl against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner

from leadctl.cli import app

REPO = Path(__file__).resolve().parent.parent
# Typer's test runner turns the app into a click command on every invoke (~40 ms, more
# than most commands take); the app never changes during the tests, so build it once.
_build_command = typer.testing._get_command
_COMMAND = _build_command(app)
typer.testing._get_command = lambda target: _COMMAND if target is app else _build_command(target)


class Leadctl:
    """Runs leadctl commands on one config and ledger in a temp folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.config = folder / "leadctl.toml"
        self.db = folder / "leadctl.db"
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, ok: bool | None = True):
        argv = ["--config", str(self.config), "--db", str(self.db), *args]
        result = self.runner.invoke(app, argv, input=input, catch_exceptions=False)
        if ok is True:
            assert result.exit_code == 0, (argv, result.stdout, result.stderr)
        return result

    def jsonl(self, *args: str, input: str | bytes | None = None, ok: bool | None = True) -> list[dict]:
        result = self(*args, "--output", "jsonl", input=input, ok=ok)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--format", "json").stdout)

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.folder / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def team(self, group: str = "tele-sales", users=("tom", "stephanie", "lewis", "denise"),
             method: str = "sequential", **member_options: str) -> None:
        """A group with members in order, as the default group."""
        known = {u["id"] for u in self.json("user", "list")}
        for u in users:
            if u not in known:
                self("user", "add", u)
        self("group", "add", group, "--method", method)
        for u in users:
            extra = [x for k, v in member_options.items() for x in (f"--{k}", str(v))]
            self("group", "member", "add", group, u, *extra)
        self("rule", "default", group)


@pytest.fixture
def lc(tmp_path: Path) -> Leadctl:
    tool = Leadctl(tmp_path)
    tool("init")
    return tool


def leads_csv(n: int, start: int = 1, prefix: str = "L", day: str = "2026-11-23", extra: str = "") -> str:
    """n leads a second apart from 09:00 (same day up to 54,000), with ids prefix+number."""
    lines = ["id,name,email,phone,received_at" + (",source" if extra else "")]
    for i in range(start, start + n):
        s = 9 * 3600 + i - start
        lines.append(
            f"{prefix}{i},Lead {i},lead{i}@example.com,+44 7700 {i:06d},"
            f"{day}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" + (f",{extra}" if extra else "")
        )
    return "\n".join(lines) + "\n"


def run_cli(*args: str, input: bytes | None = None, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """leadctl as a real process (python -m leadctl), for stdin pipes and concurrency."""
    return subprocess.run([sys.executable, "-m", "leadctl", *args], input=input, capture_output=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)
