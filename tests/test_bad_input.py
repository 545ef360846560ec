"""Anything a user can cause ends in one line on stderr and the contract's exit code."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli


@pytest.fixture
def team(lc):
    lc.team(users=("a", "b"))
    return lc


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02\xff\xfe garbage \x80\x81\n\x00",
    b"\xff\xfe" + "id,name\nA,Zo\u00eb\n".encode("utf-16-le")[:-3],
    b"",
    b"\n\n\n",
    b"id\n" + b"x" * 300_000 + b"\n",
    b'{"id": "a"}\n{"id": \n',
    b"id,name\n\"unterminated,quote\nB,ok\n",
])
def test_hostile_files_never_cause_a_traceback(team, data):
    path = team.write("bad.csv", data)
    result = run_cli("--config", str(team.config), "--db", str(team.db), "route", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert b"Traceback" not in result.stderr


def test_a_directory_as_input_is_a_usage_error(team):
    result = run_cli("--config", str(team.config), "--db", str(team.db), "route", str(team.folder))
    assert result.returncode == 2 and b"is a folder, not a file" in result.stderr and b"Traceback" not in result.stderr


def test_piped_stdin_routes_and_reports(team):
    result = run_cli("--config", str(team.config), "--db", str(team.db), "route",
                     input=b"id,name\nA,1\nB\nC,3\n")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "stdin: line 3: has 1 fields, the header has 2"
    assert result.stdout.decode().count('"status": "assigned"') == 2


def test_an_unwritable_ledger_folder_is_one_line(team, tmp_path):
    result = run_cli("--config", str(team.config), "--db", str(tmp_path / "no" / "such" / "dir.db"), "route",
                     input=b"id\nA\n")
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and b"cannot create ledger" in result.stderr


def test_version_and_help_work_without_a_config(tmp_path):
    assert run_cli("--version", cwd=tmp_path).stdout.startswith(b"leadctl ")
    assert run_cli("--help", cwd=tmp_path).returncode == 0
    assert not os.listdir(tmp_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_through_the_command_keep_good_rows(team, data):
    from typer.testing import CliRunner  # in-process: fast enough for many examples

    from leadctl.cli import app

    result = CliRunner().invoke(app, ["--config", str(team.config), "--db", str(team.db), "route",
                                      "--output", "jsonl", "--dry-run"], input=data)
    assert result.exit_code in (0, 1), (result.exception, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
