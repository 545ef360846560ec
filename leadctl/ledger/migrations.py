"""The ledger's migrations, written once in SQLite's words: each step is `execute(sql)` calls,
applied to a new ledger at once, or by sqlite-utils to an older one; `postgres_steps()` says
the same steps in PostgreSQL's words (tests/test_postgres.py checks that both stores end with
the same tables and columns). What each table holds is said beside its step.
"""

from __future__ import annotations

from collections.abc import Callable

MIGRATIONS = ("m001_initial", "m002_actors_history_counts", "m003_tokens", "m004_notifications",
              "m005_via_backups_conversions_queue", "m006_sign_ins_watches", "m007_history_files_sessions",
              "m008_crm_writes", "m009_crm_writes_due", "m010_rule_territory", "m011_sla_steps",
              "m012_offers", "m013_snapshots_erasure")


# The schema's steps, in order. Each takes something with `execute(sql)`: sqlite-utils'
# Database when it upgrades an older ledger, the connection itself when a new ledger is made.
_STEPS: list[tuple[str, Callable]] = []


def _step(fn: Callable) -> Callable:
    _STEPS.append((fn.__name__, fn))
    return fn


@_step
def m001_initial(db):
    db.execute(
        """CREATE TABLE leads (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            status TEXT,
            email TEXT,
            phone TEXT,
            source TEXT,
            received_at TEXT NOT NULL,
            fields TEXT NOT NULL,
            email_key TEXT,
            phone_key TEXT,
            group_name TEXT,
            assigned_to TEXT,
            method TEXT,
            reason TEXT,
            assigned_at TEXT
        )"""
    )
    db.execute("CREATE INDEX leads_assigned_to ON leads(assigned_to)")
    db.execute(
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            lead_id TEXT NOT NULL,
            at TEXT NOT NULL,
            assigned_to TEXT,
            group_name TEXT,
            method TEXT NOT NULL,
            reason TEXT,
            counted INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX events_lead ON events(lead_id)")
    db.execute(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
    )
    db.execute("CREATE TABLE rotations (group_name TEXT PRIMARY KEY, state TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE usage (
            group_name TEXT NOT NULL,
            user_id TEXT NOT NULL,
            period TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (group_name, period, user_id)
        ) WITHOUT ROWID"""
    )


@_step
def m002_actors_history_counts(db):
    # Who made each change and why, and the members a group's method passed over. A
    # passed-over list repeats for lead after lead (the same capped members), so it is
    # kept once in `passed_over_sets`; leads and events refer to it by number.
    db.execute(
        """CREATE TABLE passed_over_sets (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL UNIQUE
        )"""
    )
    db.execute("ALTER TABLE events ADD COLUMN actor TEXT")
    db.execute("ALTER TABLE events ADD COLUMN note TEXT")
    db.execute("ALTER TABLE events ADD COLUMN passed_over INTEGER")
    # The current assignment's passed-over list on the lead row, so that a batch's events
    # are copied from its lead rows inside SQLite.
    db.execute("ALTER TABLE leads ADD COLUMN passed_over INTEGER")
    # Every config write keeps the text it replaced, so any change can be undone.
    db.execute(
        """CREATE TABLE config_history (
            n INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            command TEXT NOT NULL,
            previous TEXT NOT NULL
        )"""
    )
    db.execute(
        "CREATE TRIGGER config_history_no_update BEFORE UPDATE ON config_history "
        "BEGIN SELECT RAISE(ABORT, 'config history is append-only'); END"
    )
    # Assignments counted per minute (with its UTC offset), user, group and method, kept
    # as events are written: `report` reads this small table, never a million events.
    db.execute(
        """CREATE TABLE event_counts (
            minute TEXT NOT NULL,
            utc_offset TEXT NOT NULL,
            assigned_to TEXT NOT NULL,
            group_name TEXT NOT NULL DEFAULT '',
            method TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (minute, utc_offset, assigned_to, group_name, method)
        ) WITHOUT ROWID"""
    )
    db.execute(
        "INSERT INTO event_counts SELECT substr(at, 1, 16), substr(at, 20), assigned_to,"
        " coalesce(group_name, ''), method, count(*) FROM events WHERE assigned_to IS NOT NULL"
        " GROUP BY 1, 2, 3, 4, 5"
    )


@_step
def m003_tokens(db):
    # Credentials for `leadctl serve`. A bearer token is kept only as its SHA-256 (it is
    # random and long, so no salt is needed); a signing secret must be kept itself, since
    # the server recomputes each request's HMAC with it.
    db.execute(
        """CREATE TABLE tokens (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            token_hash TEXT,
            secret TEXT,
            user_id TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )"""
    )


@_step
def m004_notifications(db):
    # The outbox: one row per message owed to a rep, written in the same transaction as
    # the assignment, so there is one for every assignment and none for a rolled-back one.
    db.execute(
        """CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            lead_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            method TEXT,
            reason TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at TEXT NOT NULL,
            claimed_until TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )"""
    )
    db.execute("CREATE INDEX notifications_due ON notifications(status, next_at)")


@_step
def m005_via_backups_conversions_queue(db):
    # Through what each change was made (`cli`, `cli, by OS account root` for an --as that is
    # not the account's own user, `api, token NAME`), beside who made it.
    db.execute("ALTER TABLE events ADD COLUMN via TEXT")
    db.execute("ALTER TABLE config_history ADD COLUMN via TEXT")
    # The absent member whose turn a backup took (leave): on the lead row for its current
    # assignment (the batch's events are copied from the rows) and on the event.
    db.execute("ALTER TABLE leads ADD COLUMN backup_for TEXT")
    db.execute("ALTER TABLE events ADD COLUMN backup_for TEXT")
    # When the current holder first changed the lead's status (their first contact; NULL until
    # then, and again when the lead changes hands): what the SLA looks at.
    db.execute("ALTER TABLE leads ADD COLUMN first_contact_at TEXT")
    # A lead converted to a contact or a deal: one row per conversion, the link both ways.
    db.execute(
        """CREATE TABLE conversions (
            lead_id TEXT NOT NULL,
            record_type TEXT NOT NULL,
            record_id TEXT NOT NULL UNIQUE,
            at TEXT NOT NULL,
            PRIMARY KEY (lead_id, record_type)
        )"""
    )
    # Leads waiting for someone to take them (a group with a queue), oldest first.
    db.execute(
        """CREATE TABLE queue (
            n INTEGER PRIMARY KEY,
            lead_id TEXT NOT NULL UNIQUE,
            group_name TEXT NOT NULL,
            received_at TEXT NOT NULL
        )"""
    )


@_step
def m006_sign_ins_watches(db):
    # One-time sign-in links for serve's web pages (`leadctl token link USER`): kept only as
    # the SHA-256 of the link's secret, with the user, when it stops working (seconds since
    # the epoch) and when it was used (once: then never again).
    db.execute(
        """CREATE TABLE sign_ins (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            next_path TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at TEXT
        )"""
    )
    # Keys the server signs with (the session cookie's), made once and shared by every
    # machine serving the same ledger.
    db.execute("CREATE TABLE keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # What `leadctl watch` knows of each source between polls (and between runs from cron):
    # the validators of its last answer (ETag, Last-Modified; a file's size and mtime), its
    # header (and a changed one seen once, taken if it holds), and the lead id of each of its rows in order (to tell a changed row from a new one).
    db.execute(
        """CREATE TABLE watches (
            source TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            header TEXT,
            pending_header TEXT,
            row_ids TEXT,
            polled_at TEXT NOT NULL
        )"""
    )


@_step
def m007_history_files_sessions(db):
    # Which config file each change was made to (`--config proposed.toml` is not the live
    # config): restore and revert refuse another file's change. NULL for older changes.
    db.execute("ALTER TABLE config_history ADD COLUMN file TEXT")
    # Sessions of serve's web pages, kept as the SHA-256 of the id the cookie carries: signing
    # out, removing or deactivating the user ends them at once (`ended_at`).
    db.execute(
        """CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            ended_at TEXT
        )"""
    )
    db.execute("CREATE INDEX sessions_user ON sessions(user_id)")


@_step
def m008_crm_writes(db):
    # The owner of each lead, to be written back to each CRM in the config: one row per change
    # of holder and CRM, queued in the same transaction as the change (`Ledger.apply`), in order
    # per lead (`n`). `owner` is the leadctl user (NULL: released); who that is in the CRM is
    # looked up when it is written. `status`: pending, sent, superseded (a newer write for the
    # lead came before it went), conflict (someone changed the owner in the CRM: `crm_owner`),
    # failed (the CRM's own message in `last_error`).
    db.execute(
        """CREATE TABLE crm_writes (
            n INTEGER PRIMARY KEY,
            crm TEXT NOT NULL,
            lead_id TEXT NOT NULL,
            owner TEXT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_at TEXT NOT NULL,
            claimed_until TEXT,
            last_error TEXT,
            crm_owner TEXT,
            written_owner_id TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )"""
    )
    # one index (each is paid for on every routed lead): a CRM's pending writes by lead (the
    # claim, and superseding), its sent ones by lead (what leadctl last wrote)
    db.execute("CREATE INDEX crm_writes_by_status ON crm_writes(crm, status, lead_id)")


@_step
def m009_crm_writes_due(db):
    # What routing pays for the CRMs, cut: a change of holder is queued once, as a row owed to
    # every CRM (`crm` '*'), whatever the number of CRMs; the first `crm push` after it fans
    # it out into one row per configured CRM (outbox.py). m008's index (a key of text, inserted
    # all over its tree) cost a routed lead two-thirds of its writes; three partial ones
    # instead: the pending writes of each CRM (and the '*' ones) in order, appended at the
    # end (the one a routed lead pays for); a CRM's pending writes by lead (what a newer write
    # supersedes) and its sent ones by lead (what leadctl last wrote), both indexed at push time.
    db.execute("DROP INDEX crm_writes_by_status")
    db.execute("CREATE INDEX crm_writes_pending ON crm_writes(crm, n) WHERE status = 'pending'")
    db.execute("CREATE INDEX crm_writes_pending_leads ON crm_writes(lead_id) WHERE status = 'pending' AND crm <> '*'")
    db.execute("CREATE INDEX crm_writes_sent ON crm_writes(crm, lead_id, n) WHERE status = 'sent'")


@_step
def m010_rule_territory(db):
    # What routed each lead, for `report --by rule|territory` and `leads show`: the number of
    # the rule it met (as the rules were numbered then; NULL: the default group, a forced
    # --group, an owner's pool) and the territory row it fell in (its name; NULL: none).
    db.execute("ALTER TABLE leads ADD COLUMN rule INTEGER")
    db.execute("ALTER TABLE leads ADD COLUMN territory TEXT")


@_step
def m011_sla_steps(db):
    # The SLA ladder's steps run: per lead and holder (its `assigned_at`), the step's number,
    # what it was, when it ran, the holder after it (`note`). The key makes a step run once.
    db.execute(
        """CREATE TABLE sla_steps (
            lead_id TEXT NOT NULL,
            assigned_at TEXT NOT NULL,
            step INTEGER NOT NULL,
            action TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT,
            PRIMARY KEY (lead_id, assigned_at, step)
        )"""
    )


@_step
def m012_offers(db):
    # A lead offered to its holder (a group with `accept_within`): until when, and when they
    # accepted it (NULL: not yet). One row per assignment; the SLA clock starts at acceptance.
    db.execute("CREATE TABLE offers (lead_id TEXT NOT NULL, assigned_at TEXT NOT NULL, holder TEXT NOT NULL,"
               " group_name TEXT NOT NULL, until TEXT NOT NULL, accepted_at TEXT, PRIMARY KEY (lead_id, assigned_at))")
    db.execute("CREATE INDEX offers_pending ON offers(until) WHERE accepted_at IS NULL")


@_step
def m013_snapshots_erasure(db):
    # Figures that read the whole history (the /reports page's), kept under a name with the
    # config they were computed under and when: `tick` refreshes them, pages read them.
    db.execute("CREATE TABLE snapshots (name TEXT PRIMARY KEY, config TEXT NOT NULL, at TEXT NOT NULL,"
               " body TEXT NOT NULL)")
    # Forgetting a lead empties the notes of its events; nothing else of an event may change.
    db.execute("DROP TRIGGER events_no_update")
    db.execute(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events WHEN NEW.note IS NOT NULL OR "
        + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ("id", "lead_id", "at", "assigned_to", "group_name", "method",
                                                           "reason", "counted", "actor", "passed_over", "via",
                                                           "backup_for"))
        + " BEGIN SELECT RAISE(ABORT, 'events are append-only (only a forgotten note is emptied)'); END"
    )
    # A lead forgotten drops its outbox messages and its owed CRM writes: found by lead.
    db.execute("CREATE INDEX notifications_lead ON notifications(lead_id)")
    db.execute("CREATE INDEX crm_writes_lead ON crm_writes(lead_id)")


# How sqlite-utils keeps its record of applied migrations; a new ledger gets the very same.
_MIGRATIONS_TABLE = (
    'CREATE TABLE "_sqlite_migrations" (\n   "id" INTEGER PRIMARY KEY,\n   "migration_set" TEXT,\n'
    '   "name" TEXT,\n   "applied_at" TEXT\n)',
    'CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"\n'
    '    ON "_sqlite_migrations" ("migration_set", "name")',
)


def _migrations():
    """The steps as a sqlite-utils migration set (what upgrades an older ledger)."""
    from sqlite_utils import Migrations

    migrations = Migrations("leadctl")
    for name, fn in _STEPS:
        migrations(name=name)(fn)
    return migrations
