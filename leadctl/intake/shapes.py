"""Webhook payload shapes: what ad platforms and form tools send, made into flat leads.

Pure functions from one decoded JSON object to ordinary text fields (`id`,
`received_at`, `email`, `phone`, `source`, and every other answer under its
own name), or a `NotALead` saying why the object carries no lead. A record
that is already flat passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .columns import is_credential  # e.g. Google's google_key: never stored with a lead

SHAPES = ("google-ads", "typeform", "facebook")
# Answer names that mean email or phone, in any case (Google's column ids, Facebook's names).
EMAIL_NAMES = frozenset({"email", "work_email", "user_email"})
PHONE_NAMES = frozenset({"phone", "phone_number", "work_phone", "user_phone"})


class NotALead(Exception):
    """An object that is recognised but carries no lead data (e.g. a change notification)."""


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _answer(fields: dict[str, str], name: str, value: object) -> None:
    """Keep one answer; the names that mean email or phone become `email` / `phone`."""
    if value is None or not name:
        return
    low = name.strip().lower()
    if low in EMAIL_NAMES and "email" not in fields:
        name = "email"
    elif low in PHONE_NAMES and "phone" not in fields:
        name = "phone"
    fields[name] = _text(value)


def _scalars(data: dict, skip: set[str]) -> dict[str, str]:
    """The object's own top-level values (not lists or objects), as text."""
    return {k: _text(v) for k, v in data.items()
            if k not in skip and not is_credential(k) and v is not None and not isinstance(v, (dict, list))}


def google_ads(data: dict) -> dict[str, str]:
    """Google Ads lead form webhook: `lead_id` and `user_column_data[{column_id, column_name, string_value}]`."""
    fields = _scalars(data, {"lead_id", "user_column_data"})
    fields["id"] = _text(data.get("lead_id", ""))
    for col in data.get("user_column_data") or ():
        if isinstance(col, dict):
            column_id = str(col.get("column_id") or "")
            name = column_id.lower() if column_id else str(col.get("column_name") or "")
            _answer(fields, name, col.get("string_value"))
    fields.setdefault("source", "google-ads")
    return fields


def typeform(data: dict) -> dict[str, str]:
    """Typeform webhook: `form_response.answers[]` named by the form's field titles, `hidden` kept."""
    form = data.get("form_response")
    if not isinstance(form, dict):
        raise NotALead("a Typeform payload without form_response")
    fields = _scalars(form, {"token", "submitted_at", "answers", "hidden", "definition", "calculated", "variables"})
    fields["id"] = _text(form.get("token") or data.get("event_id") or "")
    if form.get("submitted_at"):
        fields["received_at"] = _text(form["submitted_at"])
    titles = {}
    for f in (form.get("definition") or {}).get("fields") or ():
        if isinstance(f, dict) and f.get("id"):
            titles[f["id"]] = f.get("title") or f.get("ref") or f["id"]
    for ans in form.get("answers") or ():
        if not isinstance(ans, dict):
            continue
        kind = ans.get("type")
        field = ans.get("field") or {}
        name = titles.get(field.get("id")) or field.get("ref") or field.get("id") or str(kind)
        value = ans.get(kind)
        if kind == "email":
            name = "email"
        elif kind == "phone_number":
            name = "phone"
        elif kind == "choice" and isinstance(value, dict):
            value = value.get("label") or value.get("other")
        elif kind == "choices" and isinstance(value, dict):
            value = ", ".join(str(x) for x in value.get("labels") or ())
        _answer(fields, str(name), value)
    for name, value in (form.get("hidden") or {}).items():
        _answer(fields, str(name), value)
    fields.setdefault("source", "typeform")
    return fields


def facebook(data: dict) -> dict[str, str]:
    """Facebook lead retrieval (Graph API lead): `id`, `created_time`, `field_data[{name, values[]}]`."""
    fields = _scalars(data, {"id", "created_time", "field_data"})
    fields["id"] = _text(data.get("id", ""))
    if data.get("created_time"):
        fields["received_at"] = _text(data["created_time"])
    for item in data.get("field_data") or ():
        if isinstance(item, dict):
            values = item.get("values") or []
            value = ", ".join(_text(v) for v in values) if isinstance(values, list) else values
            _answer(fields, str(item.get("name") or ""), value)
    fields.setdefault("source", "facebook")
    return fields


FLATTEN: dict[str, Callable[[dict], dict[str, str]]] = {
    "google-ads": google_ads, "typeform": typeform, "facebook": facebook,
}


def detect(data: dict) -> str | None:
    """The shape an object has, or None for a flat record. Envelopes with no lead raise NotALead."""
    if "user_column_data" in data and "lead_id" in data:
        return "google-ads"
    if isinstance(data.get("form_response"), dict):
        return "typeform"
    if isinstance(data.get("field_data"), list):
        return "facebook"
    if data.get("object") == "page" and isinstance(data.get("entry"), list):
        ids = [str(c.get("value", {}).get("leadgen_id")) for e in data["entry"] if isinstance(e, dict)
               for c in e.get("changes") or () if isinstance(c, dict) and isinstance(c.get("value"), dict)]
        raise NotALead(
            "is a Facebook leadgen notification, which carries only a lead's id"
            + (f" ({', '.join(ids[:3])})" if ids else "")
            + ", not its data: fetch the lead from the Graph API and route that (--shape facebook)"
        )
    if "subscriptionType" in data and "objectId" in data:
        raise NotALead(
            "is a HubSpot webhook event, which carries only an object id, not the contact:"
            " export the contacts (or fetch them from the API) and route those"
        )
    return None


def flatten(data: dict, shape: str | None) -> dict | None:
    """The flat fields of a known shape, or None when `data` is a flat record already.

    `shape` forces one shape (a record of another shape raises NotALead); None detects.
    """
    found = detect(data)
    if shape is not None and found != shape:
        raise NotALead(f"is not a {shape} record (use --shape only for {shape} payloads)")
    return FLATTEN[found](data) if found else None
