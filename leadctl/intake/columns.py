"""Which column names (CSV headers, JSON keys) are which of leadctl's fields.

Exports name their columns as their tool likes: "Email Address", "E-mail", "Phone
Number", "Mobile", "Lead ID", "First Name"; in German "E-Mail", "Telefon", "Quelle",
"Vorname"; in French "Courriel", "Téléphone", "Prénom"; in Spanish "Correo",
"Teléfono". A name is compared with case, spaces, `-`, `_`, `.` and accents ignored;
one that is known becomes the field's own name (`email`, `phone`, `first_name`...),
any other is kept exactly as written. A `--map` given by the user is applied first.
"""

from __future__ import annotations

import unicodedata

# Fields that mean something to leadctl's routing (the contract's list).
MEANINGFUL = frozenset({"id", "type", "status", "email", "phone", "source", "owner", "created_by", "received_at"})

# field -> the names it is known by, already in compared form (see `compared`).
KNOWN = {
    "id": ("id", "leadid", "recordid"),
    "type": ("type", "recordtype"),
    "status": ("status", "leadstatus"),
    "email": ("email", "emailaddress", "mail", "emailadresse", "mailadresse", "courriel", "adressecourriel",
              "adresseemail", "correo", "correoelectronico"),
    "phone": ("phone", "phonenumber", "telephone", "telephonenumber", "tel", "mobile", "mobilephone",
              "mobilenumber", "cell", "cellphone", "telefon", "telefonnummer", "handy", "mobil", "mobilnummer",
              "numerodetelephone", "portable", "telefono", "movil", "celular"),
    "source": ("source", "leadsource", "originalsource", "quelle", "herkunft", "origine", "fuente", "origen",
               "platform"),  # HubSpot's "Original Source"; Facebook Ads Manager's `platform` (fb, ig)
    "owner": ("owner",),
    "created_by": ("createdby",),
    "received_at": ("receivedat", "createdate", "createdtime", "createdat", "createddate", "datecreated",
                    "erstelltam", "eingegangenam"),  # HubSpot "Create Date", Facebook `created_time`
    "name": ("name", "fullname", "nomcomplet", "nombrecompleto"),
    "first_name": ("firstname", "givenname", "forename", "vorname", "prenom", "nombre"),
    "last_name": ("lastname", "surname", "familyname", "nachname", "nom", "apellido", "apellidos"),
    "company": ("company", "companyname", "organization", "organisation", "firma", "unternehmen", "societe",
                "entreprise", "empresa"),
}
# Credentials a sender puts in a body to prove itself (Google Ads' `google_key`, an API key,
# a token): removed from every record, whatever its shape, before anything is kept or shown.
CREDENTIALS = frozenset({"googlekey", "accesstoken", "apikey", "token", "bearertoken", "authorization",
                         "password", "secret", "clientsecret", "xhubsignature256", "signature"})
_BY_NAME = {alias: fld for fld, aliases in KNOWN.items() for alias in aliases}
_IGNORED = str.maketrans("", "", " -_.\t")
_cache: dict[str, str] = {}


def compared(name: str) -> str:
    """A column name as it is compared: lower case, without spaces, `-`, `_`, `.` or accents."""
    text = name.strip().lower().translate(_IGNORED)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def field_for(name: str) -> str:
    """The field a column name stands for: a known field's own name, else the name as written."""
    found = _cache.get(name)
    if found is None:
        if len(_cache) > 10_000:
            _cache.clear()
        found = _cache[name] = _BY_NAME.get(compared(name), name)
    return found


# Parts of a name that make it a credential wherever they stand in it (x-api-key, auth_token,
# api_secret, refreshToken, private_key, PASSWD), once compared (no case, spaces, - _ or .).
_CREDENTIAL_PARTS = ("token", "secret", "password", "passwd", "passphrase", "apikey", "privatekey", "accesskey",
                     "signingkey", "googlekey", "signature", "authorization")


_credential_cache: dict[str, bool] = {}


def is_credential(name: str) -> bool:
    """A column or key that carries a credential (see CREDENTIALS and _CREDENTIAL_PARTS), in any
    spelling: it is never kept with a lead, shown or logged. (Remembered per name, as
    `field_for` is: every JSON lead asks it of each of its keys.)"""
    found = _credential_cache.get(name)
    if found is None:
        if len(_credential_cache) > 10_000:
            _credential_cache.clear()
        text = compared(name)
        found = _credential_cache[name] = (text in CREDENTIALS or text == "pwd"
                                           or any(part in text for part in _CREDENTIAL_PARTS))
    return found


def examples(fld: str) -> str:
    """A few names a field is known by, for messages."""
    words = {"email": "Email, Email Address, E-Mail, Courriel, Correo",
             "phone": "Phone, Phone Number, Mobile, Telefon, Téléphone, Teléfono"}
    return words.get(fld, fld)
