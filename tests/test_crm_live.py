"""Opt-in: each vendor's calls against a real sandbox, when its variables are set; skipped (and
saying so) otherwise. Nothing here runs in CI. For each vendor set LEADCTL_LIVE_<VENDOR>_TOKEN,
LEADCTL_LIVE_<VENDOR>_RECORD (a record in the sandbox whose owner may be rewritten: it is set
to the owner it already has) and, for Salesforce, LEADCTL_LIVE_SALESFORCE_URL (the instance)."""

from __future__ import annotations

import os

import pytest

from leadctl.config import Crm
from leadctl.crm import VENDORS

KINDS = ("hubspot", "salesforce", "pipedrive", "sell")


@pytest.mark.parametrize("kind", KINDS)
def test_the_vendors_own_api_answers_as_the_adapter_expects(kind):
    token = os.environ.get(f"LEADCTL_LIVE_{kind.upper()}_TOKEN")
    record = os.environ.get(f"LEADCTL_LIVE_{kind.upper()}_RECORD")
    url = os.environ.get(f"LEADCTL_LIVE_{kind.upper()}_URL", "")
    if not token or not record or (kind == "salesforce" and not url):
        pytest.skip(f"no {kind} sandbox: set LEADCTL_LIVE_{kind.upper()}_TOKEN and _RECORD"
                    + (" and _URL" if kind == "salesforce" else "") + " to run it")
    crm = Crm("live", kind, base_url=url)
    vendor = VENDORS[kind]
    listed = vendor.owners(crm, token)
    assert listed and all(owner_id for owner_id, _ in listed)
    current = vendor.read_owner(crm, token, record)
    if current is not None:
        vendor.write_owner(crm, token, record, current)  # the same owner again: a write the sandbox accepts
        assert vendor.read_owner(crm, token, record) == current
