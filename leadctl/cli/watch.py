"""`leadctl watch`: keep a growing source (a published Google Sheet, a CSV or JSON Lines URL,
a local file) routed."""

from typing import Annotated, Literal, Optional

import typer

from . import ROUTING, state
from .route import DelimiterOpt, GroupOpt, MapOpt, MappingOpt, SeedOpt, ShapeOpt, reading


def watch(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE",
                      help="An http(s) URL (a Google Sheet's published CSV link, or its address: made into"
                           " its CSV export) or a file that grows.")],
    every: Annotated[str, typer.Option("--every", metavar="DURATION",
                     help="Time between polls: 30s, 1m, 5m… (default 1m); after a failure it doubles, up to 16x.")] = "1m",
    once: Annotated[bool, typer.Option("--once", help="Poll once and exit (for cron): exit 1 when the source failed"
                                                      " or a row was rejected.")] = False,
    fmt: Annotated[Optional[Literal["csv", "jsonl"]], typer.Option("--format",
                   help="Input format. Default: from a file's extension, else the content.")] = None,
    group: GroupOpt = None,
    output: Annotated[Optional[Literal["table", "jsonl", "csv"]], typer.Option("--output", "-o",
                      help="table: a line per poll (default on a terminal); jsonl or csv: a row per new record.")] = None,
    seed: SeedOpt = None,
    clock: Annotated[Literal["now", "received"], typer.Option("--clock",
                     help="now: leads are assigned when polled (default); received: at their own received_at.")] = "now",
    delimiter: DelimiterOpt = None,
    maps: MapOpt = None,
    mapping: MappingOpt = None,
    shape: ShapeOpt = None,
    no_notify: Annotated[bool, typer.Option("--no-notify", help="Tell nobody about these leads.")] = False,
) -> None:
    """Keep a source that grows routed: each poll routes the rows not yet in the ledger.

    A row's identity is its `id`, else the id `route` derives from its content; a row
    routed before is never routed again, also when it is edited in place. Unchanged
    sources cost one conditional request (ETag / Last-Modified) or one look at a file.
    What goes wrong with the source is one line on stderr, and the next poll tries
    again, waiting longer each time it fails; Ctrl-C or SIGTERM ends the watch after
    the batch in flight.

    Example: leadctl watch "https://docs.google.com/spreadsheets/d/e/2PACX-.../pub?output=csv" --every 1m
    Example: leadctl watch exports/today.csv --once
    """
    import random
    import signal
    import sys
    import threading
    from datetime import datetime

    from .. import render
    from ..config import Watcher, duration_seconds
    from ..intake import Options
    from ..assign.route import Router
    from ..intake.watch import SourceError, Watch, iterate

    st = state(ctx)
    cfg = st.config()
    seconds = duration_seconds(every, "--every")
    read_as = reading(cfg, mapping, maps, delimiter, shape)
    if output is None:
        output = "table" if sys.stdout.isatty() else "jsonl"
    watcher = Watcher(cfg)
    ledger = st.ledger(cfg)
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    failed = rejected = False
    try:
        router = Router(watcher.current, ledger, clock=lambda: datetime.now().astimezone(), rng=random.Random(seed),
                        replay=clock == "received", group=group, actor=st.actor, notify=not no_notify)
        options = lambda: Options(**{**read_as, "duplicate_fields": watcher.current().settings.duplicates})  # noqa: E731
        w = Watch(source, router, ledger, options, fmt)
        name = w.name
        show = _Shower(output, name)

        def poll_once():
            return w.poll(datetime.now().astimezone(), stop.is_set)

        polls = [_one(poll_once, SourceError)] if once else iterate(poll_once, seconds, stop.wait)
        for result in polls:
            if isinstance(result, SourceError):
                failed = True
                render.err(f"watch {name}: {result}" + ("" if once else "; trying again later"))
                continue
            rejected |= show.poll(result)
    finally:
        ledger.close()
    if once and (failed or rejected):
        raise typer.Exit(1)


def _one(poll_once, error_type):
    try:
        return poll_once()
    except error_type as exc:
        return exc


class _Shower:
    """What a poll did: a row per new record (jsonl, csv) or a line per poll (table), rejections
    and unreadable rows on stderr with their line."""

    def __init__(self, output: str, name: str):
        from .. import render
        from ..outcome import OUTPUT_FIELDS

        self.output, self.name = output, name
        self.warned: set[str] = set()  # a warning about the source is said once, not every poll
        self.csv = render.CsvOut(OUTPUT_FIELDS) if output == "csv" else None

    def poll(self, p) -> bool:
        import sys
        from collections import Counter
        from datetime import datetime

        from .. import render

        for warning in p.warnings:
            if warning.startswith("no id column"):  # watch knows an edited row by its place
                warning = ("no id column: rows are known by their content and their place, so an edited row is not"
                           " routed again; give an id column (--map 'COLUMN=id') if rows are moved and edited at once")
            if warning not in self.warned:
                self.warned.add(warning)
                render.err(f"watch {self.name}: {warning}")
        for bad in p.bad:
            render.err(f"watch {self.name}: line {bad.line}: {bad.reason}")
        rejected = False
        for o in p.outcomes:
            if o.status == "rejected":
                rejected = True
                render.err(f"watch {self.name}: line {o.line}: {o.reason}")
            if self.output == "jsonl":
                render.jsonl_out([o.json()])
            elif self.csv is not None:
                self.csv.row(o.as_dict())
        sys.stdout.flush()
        if self.output == "table":
            stamp = datetime.now().astimezone().strftime("%H:%M:%S")
            if p.unchanged:
                render.say(f"{stamp} {self.name}: unchanged")
            else:
                counts = Counter(o.status for o in p.outcomes)
                owners = Counter(o.assigned_to for o in p.outcomes if o.assigned_to)
                said = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing new"
                who = ", ".join(f"{u} {n}" for u, n in sorted(owners.items()))
                extra = f"; {p.changed} edited row(s) not routed again" if p.changed else ""
                render.say(f"{stamp} {self.name}: {said}" + (f" ({who})" if who else "")
                           + f"; {p.known} known{extra}")
        elif p.changed:
            render.err(f"watch {self.name}: {p.changed} row(s) routed before were edited; not routed again")
        return rejected or bool(p.bad)


def register(app: typer.Typer) -> None:
    app.command("watch", rich_help_panel=ROUTING)(watch)
