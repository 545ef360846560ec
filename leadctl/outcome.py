"""What routing says of each record: its `Outcome` (the contract's output fields), written as
JSON Lines directly, and the id a record without one gets from its content. The JSON is
exactly `json.dumps(..., ensure_ascii=False)`'s, with the C encoder built once (it runs once
per record)."""

from __future__ import annotations

import json
from dataclasses import dataclass

ASSIGNED, UNASSIGNED, SKIPPED, REJECTED = "assigned", "unassigned", "skipped", "rejected"
QUEUED = "queued"  # nobody could take it now; it waits in its group's queue for `drain`
OUTPUT_FIELDS = ("line", "lead_id", "status", "assigned_to", "group", "method", "reason")


def _encoders():
    """JSON for a string and for a lead's fields, exactly as `JSONEncoder(ensure_ascii=False)`
    writes them, but with the C encoder built once instead of once per call."""
    from json import encoder

    text = encoder.encode_basestring  # the C function where there is one
    if encoder.c_make_encoder is None:  # no C accelerator (e.g. PyPy): the plain way
        return text, json.JSONEncoder(ensure_ascii=False).encode
    make = encoder.c_make_encoder(None, None, text, None, ": ", ", ", False, False, True)
    return text, lambda fields: "".join(make(fields, 0))


_json_text, _to_json = _encoders()


def _json_str(value: str | None) -> str:
    return "null" if value is None else _json_text(value)


_TAILS: dict[tuple, str] = {}  # an outcome line's end, by (status, owner, group, method, reason)


@dataclass(slots=True)
class Outcome:
    line: int
    lead_id: str | None
    status: str
    assigned_to: str | None = None
    group: str | None = None
    method: str | None = None
    reason: str | None = None

    def json(self) -> str:
        """The JSON Lines form of `as_dict()`, built directly (it is written once per record);
        the part after the lead id repeats for lead after lead, so it is made once."""
        tail_key = (self.status, self.assigned_to, self.group, self.method, self.reason)
        tail = _TAILS.get(tail_key)
        if tail is None:
            if len(_TAILS) > 10_000:
                _TAILS.clear()
            tail = _TAILS[tail_key] = (
                f', "status": "{self.status}", "assigned_to": {_json_str(self.assigned_to)},'
                f' "group": {_json_str(self.group)}, "method": {_json_str(self.method)},'
                f' "reason": {_json_str(self.reason)}}}'
            )
        lead_id = self.lead_id  # `_json_str`, written out: this runs once per record
        return f'{{"line": {self.line}, "lead_id": {"null" if lead_id is None else _json_text(lead_id)}{tail}'

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in OUTPUT_FIELDS}



def _sorted_encoder():
    """`json.dumps(fields, sort_keys=True, ensure_ascii=False)`, exactly, with the C encoder made
    once (a sheet without ids has every one of its rows' ids derived at every poll)."""
    from json import encoder

    if encoder.c_make_encoder is None:
        return lambda fields: json.dumps(fields, sort_keys=True, ensure_ascii=False)
    make = encoder.c_make_encoder(None, None, encoder.encode_basestring, None, ": ", ", ", True, False, True)
    return lambda fields: "".join(make(fields, 0))


_sorted_json = _sorted_encoder()


def derived_id(fields: dict[str, str]) -> str:
    """A stable id for a record that has none: the same content, the same id."""
    import hashlib  # here: most inputs carry their ids, and importing it costs every run 2 ms

    blob = _sorted_json(fields).encode("utf-8", "surrogatepass")
    return "auto-" + hashlib.sha256(blob).hexdigest()[:20]
