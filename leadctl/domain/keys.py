"""What makes two leads the same customer: the match keys of an email and a phone number.

Emails compare trimmed and case-insensitively. Phone numbers compare in E.164
(`+491701234567`): "+49 170 1234567", "+49 (0)170 1234567", "0049 170 1234567" and, for a
team whose phone region is DE, "0170 1234567" are one number. A number that does not read
as a phone number of the region keeps the plain rule: its digits, a leading + kept.
Placeholders (`N/A`, `-`, `0`) are no key and never match each other.

The international form as most exports write it ("+44 7700 900123": a +, digits and
spaces, no trunk 0 after the country code) is E.164 as written and is taken without a
parse; every other form is read by `phonenumbers` (Google's
libphonenumber metadata), imported only when such a number first comes.
"""

from __future__ import annotations

import re

MIN_PHONE_DIGITS = 6
_NOT_DIGIT = re.compile(r"\D")
_ASCII_NON_DIGITS = {c: None for c in range(128) if not chr(c).isdigit()}  # \D, for ASCII text
_parsed: dict[tuple[str, str | None], str | None] = {}  # (text, region) -> E.164 or None


def domain_of(key: str) -> str:
    """The host of an email match key, after its first @, as the stores index it (exact: no
    suffix, so `acme.com` is never `notacme.com` nor `sales.acme.com`)."""
    return key.split("@", 1)[1].rstrip(".")


def email_key(value: str | None) -> str | None:
    """Emails compare trimmed and case-insensitively. Only something that looks like
    an address is a key: placeholders (`N/A`, `-`, `none`) never match each other."""
    key = (value or "").strip().lower()
    if "@" not in key[1:-1]:
        return None
    return key


def phone_key(value: str | None, region: str | None = None) -> str | None:
    """A phone number's match key: E.164 where it reads as one (national forms in
    `region`, e.g. "DE"), else its digits with a leading + kept. Fewer than
    MIN_PHONE_DIGITS digits (`0`, `n/a`, an extension) is no key."""
    text = (value or "").strip()
    plain = False
    if text.isascii():
        # Most phones hold only digits, spaces and a +: taken out with two plain
        # replaces (an ASCII `isdigit` is 0-9 only); any other separator the slow way.
        digits = text.replace(" ", "").replace("+", "")
        plain = digits.isdigit()
        if not plain:
            digits = text.translate(_ASCII_NON_DIGITS)
    else:
        digits = _NOT_DIGIT.sub("", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    plus = text[:1] == "+"
    if plus and plain and "0" not in digits[1:4]:
        return "+" + digits  # E.164 as written: no trunk 0 can follow the country code
    if plus or region or text[:2] == "00":
        e164 = _e164(text, region)
        if e164 is not None:
            return e164
    return "+" + digits if plus else digits


def _e164(text: str, region: str | None) -> str | None:
    key = (text, region)
    if key in _parsed:
        return _parsed[key]
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
        found = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                 if phonenumbers.is_possible_number(number) else None)
    except phonenumbers.NumberParseException:
        found = None
    if len(_parsed) > 100_000:
        _parsed.clear()
    _parsed[key] = found
    return found


def check_region(region: str) -> str:
    """A phone region as phonenumbers knows it (ISO 3166 two letters, any case), upper-cased;
    ValueError for one it does not know."""
    import phonenumbers

    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(region)
    return code
