"""The house's rules, checked on the source: where the store lives, what the pure domain may
import, the one write path for a lead's holder and status, and modules a person can read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "leadctl"
# What the ledger writes for a change of hands or a status: called only by `assign.changes.apply`.
WRITES = ("set_owners", "set_owner", "insert_routed", "insert_leads", "insert_events", "save_usage",
          "save_rotations", "enqueue", "dequeue", "queue_notifications", "queue_alerts", "set_status",
          "add_conversion")
MAX_LINES = 400


def sources(*roots: Path):
    for root in roots:
        yield from sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    """The modules `path` imports, absolute (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def test_sqlite3_and_the_raw_connection_stay_inside_the_ledger():
    for path in sources(PACKAGE, REPO / "tests"):
        if path.is_relative_to(PACKAGE / "ledger"):
            continue
        text = path.read_text()
        if path.is_relative_to(PACKAGE):
            assert "sqlite3" not in imported(path), f"{path.relative_to(REPO)} imports sqlite3"
        assert not re.search(r"\b(ledger|writer|lite|pg|new|again|reference|source|target)\.conn\b", text), \
            f"{path.relative_to(REPO)} uses a ledger's raw connection (use the ledger's methods, or .sql())"


def test_the_pure_domain_imports_no_io_and_no_use_case():
    banned = ("leadctl.ledger", "leadctl.cli", "leadctl.serve", "leadctl.assign", "leadctl.intake", "leadctl.notify",
              "leadctl.render", "sqlite3", "psycopg", "urllib", "socket", "subprocess", "uvicorn", "starlette")
    for path in sources(PACKAGE / "domain"):
        for name in imported(path):
            assert not name.startswith(banned), f"{path.relative_to(REPO)} imports {name}"


def test_one_write_path_for_holders_and_statuses():
    allowed = {PACKAGE / "assign" / "rehearsal.py"}  # (it folds a batch into memory)
    for path in sources(PACKAGE):
        if path in allowed or path.is_relative_to(PACKAGE / "ledger"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES
                    and not (isinstance(node.func.value, ast.Name) and node.func.value.id in ("manual",))):
                assert False, f"{path.relative_to(REPO)}:{node.lineno} writes with ledger.{node.func.attr}()" \
                              " (decide into a Changes and let assign.changes.apply write it)"


def test_modules_a_person_can_read():
    long = {str(p.relative_to(REPO)): n for p in sources(PACKAGE) if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
