"""A throwaway PostgreSQL cluster for the tests and the benchmarks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class NoPostgres(Exception):
    """This machine cannot run a cluster (the reason says why)."""


class PostgresCluster:
    """A throwaway PostgreSQL cluster of the server binaries on the PATH, in a temp folder,
    listening on a free loopback port only. initdb refuses to run as root: as root the
    cluster runs as `nobody` (uid 65534) through setpriv. `for_tests`: no fsync (a crash
    of a test cluster loses nothing anyone needs); else the server's durable defaults."""

    def __init__(self, for_tests: bool = False):
        import shutil
        import tempfile

        self.folder = None
        tools = {name: shutil.which(name) for name in ("initdb", "pg_ctl", "postgres")}
        missing = [name for name, path in tools.items() if not path]
        if missing:
            raise NoPostgres(f"no PostgreSQL server binaries on the PATH ({', '.join(missing)} missing)")
        import psycopg  # noqa: F401  (a test dependency: where the server is, its absence is a failure)
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if not setpriv:
                raise NoPostgres("running as root, and no setpriv to start PostgreSQL as an unprivileged user")
            self.as_user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]  # nobody
        self.folder = Path(tempfile.mkdtemp(prefix="leadctl-pg-"))
        if self.as_user:
            os.chmod(self.folder, 0o755)
            os.chown(self.folder, 65534, 65534)
        try:
            self._start(tools, for_tests)
        except BaseException:
            self.stop()
            raise

    def _start(self, tools: dict, for_tests: bool) -> None:
        from tests.ports import free_port

        self.pg_ctl = tools["pg_ctl"]
        self.port = free_port()
        self.data = self.folder / "data"
        env = self.env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "HOME": str(self.folder)}
        self._run([tools["initdb"], "-D", str(self.data), "-U", "leadctl", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "-N"], env)
        self.options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories="
                        " -c max_connections=200"
                        + (" -c fsync=off -c synchronous_commit=off -c full_page_writes=off" if for_tests else ""))
        self._run([tools["pg_ctl"], "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                   "-o", self.options, "start"], env)
        self.count = 0

    def _run(self, cmd: list[str], env: dict) -> None:
        done = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, env=env, timeout=120,
                              cwd=self.folder)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{cmd[0]} failed: {done.stdout}{done.stderr}{tail}")

    def url(self, database: str) -> str:
        return f"postgresql://leadctl@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A URL to an empty ledger of its own: a new schema (a new database costs 0.2 s, a
        schema 1 ms), which the URL puts first on the search path."""
        import psycopg

        self.count += 1
        name = f"t{self.count}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url("postgres") + f"?options=-csearch_path%3D{name}"

    def restart(self, down_for: float = 0.0) -> None:
        """A restart of the server, as an operator's `pg_ctl stop -m fast` then `start`: every
        connection is cut, and new ones are refused for `down_for` seconds and until it is back."""
        import time

        for action in ("stop", "start"):
            subprocess.run([*self.as_user, self.pg_ctl, "-D", str(self.data), "-l", str(self.folder / "server.log"),
                            "-m", "fast", "-w", "-t", "60", *(["-o", self.options] if action == "start" else []),
                            action], env=self.env, cwd=self.folder,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
            if action == "stop":
                time.sleep(down_for)

    def stop(self) -> None:
        import shutil

        if self.folder is None:
            return
        if getattr(self, "data", None) is not None and (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
                           capture_output=True, env=self.env, timeout=60, cwd=self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
