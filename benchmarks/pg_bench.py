"""Benchmark: the ledger on PostgreSQL against SQLite, and routers on several "machines".

Run:  python benchmarks/pg_bench.py [--n 100000] [--per-router 25000] [--repeat 3] [--url URL]

Prints, best of --repeat (wall time, whole process):
  route N leads into SQLite and into PostgreSQL (a 10-member sequential group with caps,
  the same input and config as route_bench.py);
  1, 2 and 4 routers at once on PostgreSQL, each its own process and connection (as a router
  on its own machine would be), half of them routing into group `east` and half into `west`
  (groups that share no member), each router --per-router leads: aggregate leads/s.
With no --url a throwaway cluster is started here (the server's durable defaults: fsync on),
as the tests do; with --url each run gets a new database made on that server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from route_bench import USERS, make_config, make_csv  # noqa: E402


def leadctl() -> list[str]:
    return [sys.executable, "-m", "leadctl"]


def timed(cmds: list[list[str]]) -> float:
    """Wall time of the commands run all at once (each must succeed)."""
    start = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cmds]
    for p, c in zip(procs, cmds):
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(c)} failed ({p.returncode}): {err.decode()[:500]}")
    return time.perf_counter() - start


class Server:
    def __init__(self, url: str | None):
        self.cluster = None
        self.base = url
        self.count = 0
        if url is None:
            from tests.pg_cluster import PostgresCluster

            self.cluster = PostgresCluster(for_tests=False)
            self.base = self.cluster.url("postgres")

    def new_database(self) -> str:
        import psycopg

        self.count += 1
        name = f"bench_{os.getpid()}_{self.count}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return self.base.rsplit("/", 1)[0] + "/" + name

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.base) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


def two_group_config(folder: Path, per_router: int) -> Path:
    """Groups east (rep00-rep04) and west (rep05-rep09), sequential, caps that fill part-way."""
    cap = max(per_router // 4, 1)
    lines = ['[settings]\ntimezone = "UTC"\n']
    for u in USERS:
        lines.append(f'[users.{u}]\nname = "{u}"\n')
    for group, members in (("east", USERS[:5]), ("west", USERS[5:])):
        lines.append(f'[groups.{group}]\nmethod = "sequential"\n')
        for i, u in enumerate(members):
            daily = 0 if i == 0 else cap
            lines.append(f'[[groups.{group}.members]]\nuser = "{u}"\ndaily = {daily}\nmonthly = {daily * 20}\n')
    path = folder / "two-groups.toml"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="leads for the SQLite/PostgreSQL comparison")
    parser.add_argument("--per-router", type=int, default=25_000, help="leads each parallel router routes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="an existing server (postgresql://USER@HOST:PORT/DB to connect to)")
    args = parser.parse_args()
    server = Server(args.url)
    try:
        with tempfile.TemporaryDirectory(prefix="leadctl-pgbench-") as tmp:
            folder = Path(tmp)
            print(f"machine: {os.cpu_count()} cores; PostgreSQL {server.version()}"
                  f" ({'throwaway local cluster, fsync on' if server.cluster else args.url.rsplit('@', 1)[-1]});"
                  f" best of {args.repeat}, whole process, wall time")
            csv_path = folder / "leads.csv"
            make_csv(csv_path, args.n)
            config = make_config(folder, args.n)
            route = ["route", str(csv_path), "--output", "jsonl"]
            lite = pg = float("inf")
            for i in range(args.repeat):
                db = folder / f"lite-{i}.db"
                lite = min(lite, timed([[*leadctl(), "--config", str(config), "--db", str(db), *route]]))
                pg = min(pg, timed([[*leadctl(), "--config", str(config), "--db", server.new_database(), *route]]))
            print(f"route {args.n:,} leads   SQLite {lite:6.2f} s ({args.n / lite:>7,.0f} leads/s)"
                  f"   PostgreSQL {pg:6.2f} s ({args.n / pg:>7,.0f} leads/s, {pg / lite:.2f}x)")

            per = args.per_router
            config = two_group_config(folder, per)
            files = []
            for r in range(4):
                path = folder / f"router-{r}.csv"
                make_csv(path, per, prefix=f"R{r}-")
                files.append(path)
            for shared in (False, True):
                print(f"parallel routers on PostgreSQL, {per:,} leads each, "
                      + ("all into east (one group: they take turns at its lock):" if shared
                         else "half into east and half into west (disjoint groups):"))
                base = None
                for k in (1, 2, 4):
                    best = float("inf")
                    for _ in range(args.repeat):
                        url = server.new_database()
                        cmds = [[*leadctl(), "--config", str(config), "--db", url, "route", str(files[r]),
                                 "--group", "east" if shared or r % 2 == 0 else "west", "--output", "jsonl"]
                                for r in range(k)]
                        best = min(best, timed(cmds))
                    rate = k * per / best
                    base = base or rate
                    print(f"  {k} router(s): {k * per:>7,} leads in {best:6.2f} s = {rate:>7,.0f} leads/s"
                          f" ({rate / base:.2f}x one router)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
