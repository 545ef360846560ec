"""Benchmark: routing with many rules, against routing with one.

Run:  python benchmarks/rules_bench.py [--n 20000] [--rules 200] [--territories 10000]

Prints the cost of `leadctl route` of N leads (instructions a lead under valgrind when there
is one, else CPU seconds; start-up included) with
  one rule      `source=partner` to one group, the rest to the default group
  many rules    --rules rules, as a team splitting by country and size writes them: of each
                20, 17 `country=XX` with `employees>=N` (or `<N`), 2 on text no index can
                narrow (`email$=@corpN.com`, or `--any` of `source^=partner-N` and
                `company~acmeN`) and 1 a regex on the email; a lead's country is one of ~250,
                so most leads try every unindexed rule before one takes them (or none does);
                then a last rule `--territories` with a table of --territories rows (exact
                zips, zip prefixes, zip ranges, states and countries, to groups and users),
                which takes the leads no rule took; the table imported as an admin would
                (`territory import`, which makes its index), the config read once before
                (by that import: a config this large is then read from its cached copy)
and their ratio: what the rules and the table cost routing.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
def _countries() -> list[str]:
    import pycountry

    return sorted(c.alpha_2 for c in pycountry.countries)[:240]


COUNTRIES = _countries()
STATES = ["CA", "NY", "TX", "WA", "FL", "IL"]


def territory_table(rows: int) -> str:
    """`rows` rows over the countries: per country exact zips, prefixes, ranges, states and the
    country itself, to the four groups and the eight users."""
    rnd = random.Random(rows)
    out = ["territory,country,state,zip,target,priority"]
    targets = [f"g{g}" for g in range(4)] + [f"rep{i}" for i in range(8)]
    for i in range(rows):
        country = COUNTRIES[i % len(COUNTRIES)]
        kind = i // len(COUNTRIES) % 5
        zip_ = state = ""
        if kind == 0:
            zip_ = f"{rnd.randrange(100000):05d}"
        elif kind == 1:
            zip_ = f"{rnd.randrange(1000):03d}*"
        elif kind == 2:
            lo = rnd.randrange(90000)
            zip_ = f"{lo:05d}-{lo + rnd.randrange(1, 5000):05d}"
        elif kind == 3:
            state = STATES[i % len(STATES)]
        out.append(f"t{i},{country},{state},{zip_},{rnd.choice(targets)},{rnd.randrange(3)}")
    return "\n".join(out) + "\n"


def config(rules: int, territories: int = 0) -> str:
    lines = ['[settings]\ntimezone = "UTC"\n']
    users = [f"rep{i}" for i in range(8)]
    lines += [f'[users.{u}]\nname = "{u}"\n' for u in users]
    for g in range(4):
        lines.append(f'[groups.g{g}]\nmethod = "sequential"\n')
        lines += [f'[[groups.g{g}.members]]\nuser = "{u}"\n' for u in users[g * 2:g * 2 + 2]]
    lines.append('[routing]\ndefault_group = "g0"\n')
    if rules == 1:
        lines.append('[[routing.rules]]\ngroup = "g1"\nwhen = {source = "partner"}\n')
    for i in range(rules if rules > 1 else 0):
        group = f"g{1 + i % 3}"
        country = COUNTRIES[i % len(COUNTRIES)]
        if i % 20 == 7:
            when = f'{{field = "email", op = "ends_with", value = "@corp{i}.com"}}'
        elif i % 20 == 17:
            when = f'{{any = [{{field = "source", op = "starts_with", value = "partner-{i}"}},' \
                   f' {{field = "company", op = "contains", value = "acme{i}"}}]}}'
        elif i % 20 == 13:
            when = f'{{field = "email", op = "regex", value = "^sales[0-9]*@corp{i}\\\\.(com|io)$"}}'
        else:
            op = "gte" if i % 2 else "lt"
            when = f'{{all = [{{field = "country", op = "eq", value = "{country}"}},' \
                   f' {{field = "employees", op = "{op}", value = {100 + i}}}]}}'
        lines.append(f'[[routing.rules]]\ngroup = "{group}"\nwhen = {when}\n')
    if territories:
        lines.insert(0, 'ledger = "leadctl.db"\n')
        lines.append('[[routing.rules]]\nterritories = true\nwhen = {field = "country", op = "exists"}\n')
        lines[lines.index('[routing]\ndefault_group = "g0"\n')] = \
            '[routing]\ndefault_group = "g0"\nterritories = "territories.csv"\n'
    return "\n".join(lines)


def leads(n: int) -> bytes:
    rnd = random.Random(n)
    rows = ["id,email,source,company,country,state,zip,employees"]
    for i in range(n):
        rows.append(f"L{i},lead{i}@corp{rnd.randrange(300)}.com,{rnd.choice(['web', 'partner', 'ads'])},"
                    f"Acme{rnd.randrange(400)} Ltd,{rnd.choice(COUNTRIES)},{rnd.choice(STATES)},"
                    f"{rnd.randrange(100000):05d},{rnd.randrange(2000)}")
    return ("\n".join(rows) + "\n").encode()


def cost(rules: int, n: int, valgrind: bool, territories: int = 0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = [sys.executable, "-m", "leadctl", "--config", str(folder / "leadctl.toml")]
        subprocess.run([*base, "init", "--yes"], capture_output=True, cwd=folder, check=True)
        (folder / "leadctl.toml").write_text(config(rules, territories))
        if territories:  # imported as an admin would (which checks it, and makes its index)
            (folder / "rows.csv").write_text(territory_table(territories))
            subprocess.run([*base, "territory", "import", "rows.csv", "--replace"], capture_output=True, cwd=folder,
                           check=True)
        command = [*base, "route", "--format", "csv", "--no-notify", "-o", "jsonl"]
        if valgrind:
            command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.out", *command]
        start = time.process_time()
        done = subprocess.run(command, input=leads(n), capture_output=True, cwd=folder,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
        if done.returncode:
            raise SystemExit(done.stderr.decode()[-2000:])
        if valgrind:
            return int(re.search(rb"Collected : (\d+)", done.stderr).group(1)) / n
        return (time.process_time() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--territories", type=int, default=10_000)
    args = parser.parse_args()
    valgrind = shutil.which("valgrind") is not None
    one, many = cost(1, args.n, valgrind), cost(args.rules, args.n, valgrind, args.territories)
    unit = "instructions" if valgrind else "CPU µs"
    scale = 1 if valgrind else 1e6
    print(f"route {args.n:,} leads ({unit} a lead, start-up included):")
    print(f"  one rule           {one * scale:,.0f}")
    print(f"  {args.rules} rules, {args.territories:,} territory rows  {many * scale:,.0f}")
    print(f"  ratio              {many / one:.3f}x")


if __name__ == "__main__":
    main()
