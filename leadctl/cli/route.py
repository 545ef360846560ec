"""`leadctl route`: read leads, route them, report one outcome per record."""

import os
import sys
from collections import Counter, defaultdict
from operator import attrgetter
from typing import Annotated, Literal, Optional

import typer

from . import ROUTING, state
from ..errors import LeadctlError


# The options that say how records are read and routed, shared by `route` and `watch`.
GroupOpt = Annotated[Optional[str], typer.Option("--group", help="Route every record to this group, ignoring rules.")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", metavar="N", help="Seed for random groups, to repeat a run.")]
DelimiterOpt = Annotated[Optional[str], typer.Option("--delimiter", metavar="CHAR",
                         help="CSV separator: , ; | or tab. Default: detected from the header line.")]
MapOpt = Annotated[Optional[list[str]], typer.Option("--map", metavar="SOURCE=FIELD",
                   help="Rename column SOURCE to FIELD, e.g. \"Record ID=id\" (repeatable; any case).")]
MappingOpt = Annotated[Optional[str], typer.Option("--mapping", metavar="NAME",
                       help="Use a mapping saved with `leadctl intake map add`.")]
ShapeOpt = Annotated[Optional[Literal["google-ads", "typeform", "facebook"]], typer.Option("--shape",
                     help="JSON payloads of this tool (default: detected per record).")]


def reading(cfg, mapping: str | None, maps: list[str] | None, delimiter: str | None, shape: str | None) -> dict:
    """How to read the records (`intake.Options` keywords): the saved mapping, then the --map
    pairs over it, the delimiter, the payload shape, and the fields duplicates compare."""
    from ..config import mapping as saved_mapping
    from ..intake import parse_mapping
    from ..intake.sniff import parse_delimiter

    columns = saved_mapping(cfg, mapping) if mapping else {}
    columns.update(parse_mapping(maps))  # given on the command line: wins over the saved one
    return dict(delimiter=parse_delimiter(delimiter), mapping=columns, shape=shape,
                duplicate_fields=cfg.settings.duplicates)


def route(
    ctx: typer.Context,
    files: Annotated[Optional[list[str]], typer.Argument(metavar="[FILE]...",
                     help="CSV or JSON Lines files; none or - reads stdin.")] = None,
    fmt: Annotated[Optional[Literal["csv", "jsonl"]], typer.Option("--format",
                   help="Input format. Default: from the extension (.csv, .jsonl, .ndjson), else the content.")] = None,
    group: GroupOpt = None,
    output: Annotated[Optional[Literal["table", "jsonl", "csv"]], typer.Option("--output", "-o",
                      help="table: a summary per user (default on a terminal); jsonl or csv: one row per record (default otherwise).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")] = False,
    seed: SeedOpt = None,
    clock: Annotated[Literal["now", "received"], typer.Option("--clock",
                     help="now: leads are assigned now, and caps count today (default); received: replay each"
                          " record at its own received_at (backfills, simulations).")] = "now",
    delimiter: DelimiterOpt = None,
    maps: MapOpt = None,
    mapping: MappingOpt = None,
    shape: ShapeOpt = None,
    no_notify: Annotated[bool, typer.Option("--no-notify", help="Tell nobody about these leads (backfills, imports).")] = False,
) -> None:
    """Route leads to users through the groups' rules, caps and rotations.

    Each record gets exactly one outcome: assigned, unassigned (everyone capped),
    skipped (its id is already in the ledger) or rejected (reported on stderr
    with its line; exit 1). Caps count the day a lead is assigned: now, or with
    --clock received the record's own received_at.

    Example: leadctl route leads.csv --output table
    Example: leadctl route hubspot.csv --map "Record ID=id" --map "Contact owner=owner"
    Example: tail -f webhook.jsonl | leadctl route --format jsonl -o jsonl
    """
    import gc
    import random
    from datetime import datetime

    from .. import render
    from ..config import Watcher
    from ..assign.route import REJECTED, Router

    # What is loaded by now (Typer, rich, leadctl) lives as long as the process: out of the
    # collector's sight, and collections spaced for batches of thousands of short-lived rows
    # (the collector took 4% of a route's instructions, re-walking those modules).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    st = state(ctx)
    cfg = st.config()
    read_as = reading(cfg, mapping, maps, delimiter, shape)
    names = files or ["-"]
    if "-" in names and sys.stdin.isatty():
        raise LeadctlError("no input: give a FILE, or pipe leads in (e.g. cat leads.csv | leadctl route)")
    for name in names:  # any readable path is input: a file, a pipe (`<(cmd)`), /dev/stdin
        if name != "-" and not os.path.exists(name):
            raise LeadctlError(f"input file {name} not found")
        if name != "-" and os.path.isdir(name):
            raise LeadctlError(f"input {name} is a folder, not a file")
    if output is None:
        output = "table" if sys.stdout.isatty() else "jsonl"
    if dry_run:
        from ..assign.rehearsal import Rehearsal

        ledger = Rehearsal(st.ledger(cfg, create=False))  # reads the ledger, writes nothing, locks nothing
    else:
        ledger = st.ledger(cfg)
    progress = _Progress(output == "table" and sys.stderr.isatty() and not os.environ.get("CI"))
    watcher = Watcher(cfg)
    tally = _Tally(output, progress, watcher)
    router = None
    try:
        router = Router(watcher.current, ledger, clock=lambda: datetime.now().astimezone(),
                        rng=random.Random(seed), replay=clock == "received", group=group, actor=st.actor,
                        notify=not no_notify,
                        on_batch=tally.batch_done)
        for name in names:
            _route_one(router, name, fmt, tally, progress, read_as)
    except (LeadctlError, _OutputFailed) as exc:
        raise _stopped(exc, 0 if router is None or dry_run else router.recorded) from None
    finally:
        progress.stop()
        ledger.close()
    if output == "table":
        _summary(tally, dry_run)
    if dry_run:
        render.err("dry run: nothing was written to the ledger")
    if tally.totals[REJECTED]:
        raise typer.Exit(1)


class _OutputFailed(Exception):
    """stdout could not be written (a full disk, a closed file); not an input problem."""


def _stopped(exc: Exception, recorded: int) -> LeadctlError:
    """The error that ends a route part-way. With leads already committed it is not
    "nothing was changed" (exit 2) but "done in part" (exit 1), and says how many."""
    if isinstance(exc, _OutputFailed):
        message = f"cannot write the output: {exc}"
    elif isinstance(exc, LeadctlError):
        message = str(exc)
    else:
        message = f"the ledger failed: {exc}"
    if not recorded:
        return exc if isinstance(exc, LeadctlError) else LeadctlError(message, 1)
    return LeadctlError(
        f"{message}; {recorded} lead(s) were recorded in the ledger before it stopped"
        " (run the same command again: recorded leads are skipped)", 1)


def _route_one(router, name: str, fmt: str | None, tally: "_Tally", progress: "_Progress", read_as: dict) -> None:
    """Route one input (a file, or stdin for "-"); a broken file is counted as rejected."""
    import stat

    from ..intake import IntakeError, Options, format_for, read_records

    label = "stdin" if name == "-" else name
    stream = sys.stdin.buffer if name == "-" else open(name, "rb")
    size = None
    if name != "-":
        info = os.fstat(stream.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else None  # a pipe has no size to measure against
    progress.start(label, size, stream)
    try:
        live = not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)  # a pipe, socket or terminal may pause
    except (OSError, ValueError):
        live = False
    options = Options(**read_as)
    tally.reading(label, options.stats)
    try:
        records = read_records(stream, format_for(None if name == "-" else name, fmt), options)
        for outcomes in router.route_batches(records, live=live):
            tally.add_batch(label, outcomes)
        tally.reading(label, options.stats)  # warnings from the file's last batch
    except IntakeError as exc:
        tally.file_error(label, str(exc))
    except (BrokenPipeError, _OutputFailed):
        raise
    except OSError as exc:
        raise LeadctlError(f"cannot read {label}: {exc.strerror or exc}") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


_STATUS = attrgetter("status")


class _Tally:
    """Counts outcomes, writes one row per record (jsonl/csv) and reports rejections."""

    def __init__(self, output: str, progress: "_Progress", watcher=None):
        from .. import render
        from ..outcome import OUTPUT_FIELDS

        self.output = output
        self.progress = progress
        self.watcher = watcher
        self.warned: str | None = None
        self.csv = render.CsvOut(OUTPUT_FIELDS) if output == "csv" else None
        self.write = sys.stdout.write
        self.by_user: dict[str, Counter] = defaultdict(Counter)
        self.totals: Counter = Counter()
        self.reasons: Counter = Counter()
        self.blank = 0
        self.stats = None
        self.label = ""
        self.said = 0  # warnings of the current input already printed

    def reading(self, label: str, stats) -> None:
        """The input now being read (its blank rows and warnings are reported as they come)."""
        if stats is not self.stats:
            if self.stats is not None:
                self.blank += self.stats.blank
            self.stats, self.label, self.said = stats, label, 0
        self._warn()

    def _warn(self) -> None:
        if self.stats is not None:
            for message in self.stats.warnings[self.said:]:
                self.progress.print_err(f"{self.label}: warning: {message}")
            self.said = len(self.stats.warnings)

    def blank_rows(self) -> int:
        return self.blank + (self.stats.blank if self.stats else 0)

    def add_batch(self, label: str, outcomes: list) -> None:
        """A committed batch's outcomes: counted, rejections reported, rows written at once."""
        from ..outcome import Outcome

        totals = self.totals
        rejected = totals["rejected"]
        totals.update(map(_STATUS, outcomes))  # counted in C: this runs for every record
        if totals["rejected"] != rejected:
            for outcome in outcomes:
                if outcome.status == "rejected":
                    self.reasons[outcome.reason] += 1
                    self.progress.print_err(f"{label}: line {outcome.line}: {outcome.reason}")
        if self.output == "table":
            for outcome in outcomes:
                if outcome.assigned_to and outcome.status != "rejected":
                    self.by_user[outcome.assigned_to][outcome.method] += 1
        try:
            if self.output == "jsonl" and outcomes:
                self.write("\n".join(map(Outcome.json, outcomes)) + "\n")
            elif self.csv is not None:
                for outcome in outcomes:
                    self.csv.row(outcome.as_dict())
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputFailed(exc.strerror or str(exc)) from None

    def batch_done(self, records: int) -> None:
        """After each committed batch: its rows reach the reader now (a live stream's
        outcome must not wait in a buffer), and a config that stopped loading is said once."""
        self.progress.advance(records)
        self._warn()
        if self.output != "table":
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise _OutputFailed(exc.strerror or str(exc)) from None
        problem = self.watcher.problem if self.watcher else None
        if problem and problem != self.warned:
            self.warned = problem
            self.progress.print_err(f"warning: {problem}")

    def file_error(self, label: str, message: str) -> None:
        self.totals["rejected"] += 1
        self.reasons[message] += 1
        self.progress.print_err(f"{label}: {message}")


class _Progress:
    """A progress bar on stderr for people at a terminal; silent otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None
        self.stream = None

    def start(self, label: str, size: int | None, stream) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            from ..render import console

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                TimeRemainingColumn(), console=console(stderr=True), transient=True)
            self.bar.start()
        self.stream = stream
        from rich.markup import escape

        from ..render import clean

        self.task = self.bar.add_task(escape(f"routing {clean(label)}"), total=size)

    def advance(self, _records: int) -> None:
        if self.bar is not None and self.task is not None:
            try:
                position = self.stream.tell()
            except (OSError, ValueError):
                return
            self.bar.update(self.task, completed=position)

    def print_err(self, message: str) -> None:
        from ..render import clean, err

        if self.bar is not None:
            self.bar.console.print(clean(message), markup=False, highlight=False)
        else:
            err(message)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary(tally: _Tally, dry_run: bool) -> None:
    from .. import render

    by_user, totals, reasons = tally.by_user, tally.totals, tally.reasons
    methods = sorted({m for c in by_user.values() for m in c})
    rows = []
    for user in sorted(by_user, key=lambda u: (-sum(by_user[u].values()), u)):
        row = {"user": user, "assigned": sum(by_user[user].values())}
        row.update({m: by_user[user].get(m, 0) for m in methods})
        rows.append(row)
    title = ("Would assign" if dry_run else "Assigned") + f" {totals['assigned']} lead(s)"
    render.table(rows, ["user", "assigned", *methods], title=title, empty="no lead was assigned",
                 right=["assigned", *methods])
    queued = f"queued: {totals['queued']}   " if totals["queued"] else ""
    line = (f"{queued}unassigned: {totals['unassigned']}   skipped (already in the ledger): {totals['skipped']}"
            f"   rejected: {totals['rejected']}   blank rows ignored: {tally.blank_rows()}")
    render.say(line)  # part of the table output (the contract's summary), on a terminal or not
    for reason, n in reasons.most_common(3):
        render.say(f"  rejected x{n}: {reason}")


def register(app: typer.Typer) -> None:
    app.command("route", rich_help_panel=ROUTING)(route)
