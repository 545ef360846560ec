"""The README's tour runs as written, step by step, on the shipped example files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def tour_lines() -> list[str]:
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("## A tour"):]
    block = block[block.index("```sh\n") + len("```sh\n"):]
    return block[: block.index("```")].splitlines()


def test_the_readme_tour_runs_as_written(tmp_path: Path):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("LEADCTL_CONFIG", None)
    env.pop("LEADCTL_DB", None)
    script = "set -euo pipefail\n" + "\n".join(tour_lines()) + "\n"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert b"Traceback" not in result.stderr

    def leadctl(*args: str) -> str:
        done = subprocess.run([str(bin_dir / "leadctl"), *args], cwd=tmp_path / "tour", env=env,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    assert json.loads(leadctl("leads", "show", "SL-1002", "--format", "json"))["assigned_to"] == "tom"
    assert json.loads(leadctl("leads", "show", "SL-1003", "--format", "json"))["assigned_to"] == "stephanie"
    assert json.loads(leadctl("leads", "show", "SL-1010", "--format", "json"))["assigned_to"] == "hana"
    assert json.loads(leadctl("leads", "list", "--owner", "lewis", "--format", "json")) == []
    assert len(json.loads(leadctl("leads", "list", "--format", "json"))) == 35  # 30 from CSV, 5 from JSON Lines
