"""Places in words into codes: a country written as an ISO code (alpha-2 or -3) or its
English name, any case (pycountry's list of countries, a well-kept one); a state by its code,
its ISO code or its name (for the countries pycountry lists subdivisions of; Germany's Länder
by their English names too); a zip as compared. Territories (`territories.py`) match codes.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Germany's Länder by their English names (pycountry names them in German)
_GERMAN_STATES = {"bavaria": "BY", "hesse": "HE", "lower saxony": "NI", "north rhine-westphalia": "NW",
                  "north rhine westphalia": "NW", "rhineland-palatinate": "RP", "rhineland palatinate": "RP",
                  "saxony": "SN", "saxony-anhalt": "ST", "saxony anhalt": "ST", "thuringia": "TH",
                  "mecklenburg-western pomerania": "MV", "mecklenburg-vorpommern": "MV"}


@lru_cache(maxsize=4096)
def country_code(text: str, check: bool = False) -> str | None:
    """ISO alpha-2 of a country written as a code (alpha-2 or -3) or its English name; None.
    Two letters are taken as a code as they are unless `check` (a lead's unknown code then
    simply falls in no territory: the table's own codes were checked when it was imported)."""
    text = text.strip()
    if not text:
        return None
    if not check and len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    import pycountry

    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        pass
    common = {"uk": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "england": "GB", "great britain": "GB"}
    return common.get(text.lower())


@lru_cache(maxsize=8192)
def state_code(country: str, text: str) -> str:
    """A state's code within its country (`CA`, `BY`, `NSW`) from its code, its ISO code
    (`US-CA`) or its name, any case; as written (upper case) when it is none of them."""
    text = text.strip()
    if not text:
        return ""
    wanted = text.upper()
    if wanted.startswith(country + "-"):
        wanted = wanted[len(country) + 1:]
    if len(wanted) <= 3 and wanted.isascii() and wanted.isalnum() and not (country == "DE" and wanted.lower() in _GERMAN_STATES):
        return wanted  # a code already (its subdivisions are read only for names)
    return _states(country).get(wanted.lower()) or _states(country).get(text.lower()) or wanted


@lru_cache(maxsize=512)
def _states(country: str) -> dict[str, str]:
    """{a state's code or name, in lower case: its code} for one country (pycountry's
    subdivisions; Germany's Länder by their English names too)."""
    import pycountry

    out = {}
    for sub in pycountry.subdivisions.get(country_code=country) or ():
        code = sub.code.split("-", 1)[1]
        out[code.lower()] = out[sub.name.lower()] = code
    if country == "DE":
        out.update(_GERMAN_STATES)
    return out


def place_state(low: dict[str, str]) -> str | None:
    """A lead's state, whichever of the names a form gives it (names in lower case)."""
    return low.get("state") or low.get("region") or low.get("province")


def zip_text(text: str) -> str:
    """A zip as compared: upper case, no spaces (`sw1a 1aa` is `SW1A1AA`); a US ZIP+4
    (`94105-1234`) is its five digits."""
    z = text.upper() if " " not in text and "\t" not in text else re.sub(r"\s+", "", text).upper()
    return z[:5] if _ZIP4.match(z) else z


_ZIP4 = re.compile(r"^\d{5}-\d{4}$")
