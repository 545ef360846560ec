"""Benchmark: notifications for N assignments delivered to a local SMTP server, per second.

Run:  python benchmarks/notify_bench.py [--n 10000]     (needs aiosmtpd: pip install -e '.[test]')

Routes N leads to a 10-member group with [notify] pointing at an aiosmtpd server on a free
loopback port (the queueing happens in the route's own transactions), then times one whole
`leadctl notify send` that delivers them all over one SMTP session.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    received = [0]

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received[0] += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    folder = Path(tempfile.mkdtemp(prefix="leadctl-notify-bench-"))
    try:
        users = [f"rep{i:02d}" for i in range(10)]
        lines = ['[settings]\ntimezone = "UTC"\n',
                 f'[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_from = "leads@example.com"\n'
                 'smtp_security = "none"\n']
        lines += [f'[users.{u}]\nemail = "{u}@example.com"\n' for u in users]
        lines.append('[groups.sales]\n')
        lines += [f'[[groups.sales.members]]\nuser = "{u}"\n' for u in users]
        lines.append('[routing]\ndefault_group = "sales"\n')
        cfg = folder / "bench.toml"
        cfg.write_text("\n".join(lines))
        leads = folder / "leads.jsonl"
        leads.write_text("".join(json.dumps({"id": f"N{i:06d}", "name": f"Lead {i}", "email": f"l{i}@example.com"})
                                 + "\n" for i in range(args.n)))
        base = [sys.executable, "-m", "leadctl", "--config", str(cfg), "--db", str(folder / "l.db")]
        t = time.perf_counter()
        subprocess.run([*base, "route", str(leads), "-o", "jsonl"], stdout=subprocess.DEVNULL, check=True)
        route_s = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([*base, "notify", "send"], check=True)
        send_s = time.perf_counter() - t
        print(f"route {args.n:,} leads with notifications queued: {route_s:.2f} s;"
              f" notify send: {received[0]:,} emails in {send_s:.2f} s = {received[0] / send_s:,.0f} per second")
    finally:
        smtp.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
