"""Our values for the status, owner and country cells of an import: the guesses, the choices a
person maps each value found to, and the mapping applied to the cells as rows are read.

Files name these in their own words (`warm`, `follow up`, `suresh k`, `UNITED KINGDOM`), which
clean_prospect refuses; the values step maps each distinct value to one of ours once, and the
run applies that mapping (ValueMapper). Imports nothing of the package: mapping, pipeline and
jobs use it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError

from accounts.models import User

from ..models import ImportJob, Prospect
from ..validation import STATUS_BY_TEXT

VALUE_FIELDS = ("status", "owner", "country")
MAX_VALUE_CHARS = 100  # a key of the value mapping (column_stats keeps values this long)

_WORDS = re.compile(r"[^\w]+")


def _words(text: str) -> str:
    """“Follow-Up!” -> “follow up”: the spelling a guess compares."""
    return " ".join(_WORDS.sub(" ", text.casefold()).split())


def value_key(text: str) -> str:
    """The key of a cell's value in `ImportJob.value_mapping`."""
    return text.strip().casefold()


# Words CRMs and spreadsheets use for a prospect's stage, as _words() spells them.
STATUS_WORDS = {
    Prospect.Status.NEW: (
        "open", "fresh", "lead", "new lead", "not contacted", "uncontacted", "untouched",
        "pending", "prospect", "to contact", "unassigned",
    ),
    Prospect.Status.CONTACTED: (
        "follow up", "followup", "follow up needed", "called", "attempted", "attempted to contact",
        "in progress", "working", "replied", "responded", "cold", "nurture", "nurturing",
        "no response", "contact in future", "contact later", "callback", "call back",
    ),
    Prospect.Status.INTERESTED: (
        "warm", "hot", "qualified", "opportunity", "proposal", "quotation", "quote",
        "negotiation", "demo", "meeting", "meeting scheduled", "sales qualified",
        "marketing qualified", "mql", "sql", "engaged", "interest",
    ),
    Prospect.Status.CUSTOMER: (
        "won", "closed won", "closed", "converted", "client", "deal", "deal won", "order",
        "ordered", "purchased", "signed", "active customer", "existing customer",
    ),
    Prospect.Status.LOST: (
        "dead", "junk", "closed lost", "lost lead", "unqualified", "disqualified",
        "not interested", "do not contact", "dnc", "rejected", "spam", "invalid", "no interest",
        "lost quotation", "churned",
    ),
}  # fmt: skip
_STATUS_BY_WORDS = {
    **{_words(word): status for status, words in STATUS_WORDS.items() for word in words},
    **{_words(value): value for value in Prospect.Status.values},
    **{_words(label): value for value, label in Prospect.Status.choices},
}
_REGIONS = phonenumbers.SUPPORTED_REGIONS

# Country names pycountry does not know (its names are the ISO ones: "Russian Federation",
# "Türkiye", "Korea, Republic of"), as _words() spells them.
COUNTRY_ALIASES = {
    "uk": "GB", "u k": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "great britain": "GB", "britain": "GB", "united kingdom": "GB",
    "usa": "US", "u s a": "US", "u s": "US", "america": "US", "united states": "US",
    "united states of america": "US", "uae": "AE", "u a e": "AE", "emirates": "AE",
    "russia": "RU", "south korea": "KR", "korea": "KR", "republic of korea": "KR",
    "north korea": "KP", "turkey": "TR", "ivory coast": "CI", "macedonia": "MK",
    "palestine": "PS", "holland": "NL", "the netherlands": "NL", "burma": "MM",
    "cape verde": "CV", "swaziland": "SZ", "micronesia": "FM", "brunei": "BN",
    "vatican": "VA", "vatican city": "VA", "kosovo": "XK", "hong kong": "HK", "macau": "MO",
    "east timor": "TL", "czech": "CZ", "bharat": "IN", "hindustan": "IN", "ksa": "SA",
    "saudi": "SA", "deutschland": "DE", "espana": "ES", "españa": "ES",
}  # fmt: skip


def status_guess(text: str) -> str:
    """Our status for a cell's status, or "" when nothing fits."""
    return _STATUS_BY_WORDS.get(_words(text), "")


def _countries():
    """pycountry's countries, imported when first needed: importing pycountry costs every
    process ~75 ms at start-up (it reads its own package metadata)."""
    import pycountry

    return pycountry.countries


def country_guess(text: str) -> str:
    """The two-letter code for a country written as a code, a name or a common alias, if
    phone numbers know the country (clean_prospect checks against the same list)."""
    words = _words(text)
    code = COUNTRY_ALIASES.get(words)
    if code is None and words:
        try:
            code = _countries().lookup(text.strip()).alpha_2
        except LookupError:
            code = COUNTRY_ALIASES.get(words.removeprefix("the "), "")
    return code if code in _REGIONS else ""


def owner_guess(text: str, users: Iterable[User]) -> str:
    """The email of the one active user the cell names: by email, email local part, full
    name, or first name with the last name's initial (“suresh k”); "" when none or several."""
    words = _words(text)
    if not words:
        return ""
    email = text.strip().lower()
    found = set()
    for user in users:
        if user.email == email:
            return user.email
        name = _words(user.full_name)
        parts = name.split()
        local = user.email.split("@")[0]
        initials = {f"{parts[0]} {part[0]}" for part in parts[1:]} if parts else set()
        if words in (name, _words(local)) or words in initials:
            found.add(user.email)
    return found.pop() if len(found) == 1 else ""


def exact(field: str, text: str, owners_by_email: dict[str, User]) -> str:
    """Our value when clean_prospect takes the cell as it is (no mapping needed), else ""."""
    text = text.strip()
    if field == "status":
        return STATUS_BY_TEXT.get(text.lower(), "")
    if field == "owner":
        return text.lower() if text.lower() in owners_by_email else ""
    return text.upper() if text.upper() in _REGIONS else ""


def guess(field: str, text: str, owners_by_email: dict[str, User]) -> str:
    """Our value that a value of the file most likely means, or "" (no guess)."""
    if field == "status":
        return status_guess(text)
    if field == "owner":
        return owner_guess(text, owners_by_email.values())
    return country_guess(text)


def choices(field: str, owners_by_email: dict[str, User]) -> list[tuple[str, str]]:
    """Our values a file's value can be mapped to (without "leave empty")."""
    if field == "status":
        return list(Prospect.Status.choices)
    if field == "owner":
        users = sorted(owners_by_email.values(), key=lambda u: (u.full_name.casefold(), u.email))
        return [(u.email, f"{u.full_name} <{u.email}>" if u.full_name else u.email) for u in users]
    return sorted(
        ((c.alpha_2, c.name) for c in _countries() if c.alpha_2 in _REGIONS),
        key=lambda choice: choice[1],
    )


def value_choices(owners_by_email: dict[str, User]) -> dict[str, list[tuple[str, str]]]:
    return {field: choices(field, owners_by_email) for field in VALUE_FIELDS}


class ValueMapper:
    """Applies a job's value mapping to cells as rows are read (in the Runner's helper thread:
    no database access). A value the mapping lacks (the values step shows the 50 most
    frequent) is guessed like the others, once per distinct value; a value with no guess is
    passed on unchanged, so clean_prospect says what is wrong with it."""

    def __init__(self, value_mapping: dict, owners_by_email: dict[str, User]):
        self.owners = owners_by_email
        self.known = {field: dict(value_mapping.get(field) or {}) for field in VALUE_FIELDS}
        # cell text as written -> our value: most rows repeat a few values, so this one
        # lookup is all a row costs
        self.seen: dict[str, dict[str, str]] = {field: {} for field in VALUE_FIELDS}

    def __call__(self, field: str, text: str) -> str:
        seen = self.seen[field]
        mapped = seen.get(text)
        if mapped is None:
            key = value_key(text)
            mapped = self.known[field].get(key) if key else ""
            if mapped is None:
                mapped = exact(field, text, self.owners) or guess(field, text, self.owners) or text
                self.known[field][key] = mapped
            seen[text] = mapped
        return mapped


@dataclass
class FoundValue:
    """One distinct value of a status, owner or country column, as the values step shows it."""

    field: str
    header: str
    value: str
    count: int
    key: str
    initial: str  # remembered from the client's last import, else exact, else the guess
    exact: bool


def found_values(job: ImportJob, owners_by_email: dict[str, User]) -> list[FoundValue]:
    """The distinct values (the most frequent ones column_stats kept) of the job's columns
    mapped to status, owner or country; values differing only in case or spaces are one."""
    remembered = remembered_values(job, owners_by_email)
    found: dict[tuple[str, str], FoundValue] = {}
    for header in job.headers:
        field = job.mapping.get(header)
        if field not in VALUE_FIELDS:
            continue
        for value, count in (job.column_stats.get(header) or {}).get("values", []):
            key = value_key(value)[:MAX_VALUE_CHARS]
            if not key:
                continue
            if (field, key) in found:
                found[field, key].count += count
                continue
            ours = exact(field, value, owners_by_email)
            initial = remembered.get(field, {}).get(key)
            if initial is None:
                initial = ours or guess(field, value, owners_by_email)
            found[field, key] = FoundValue(field, header, value, count, key, initial, bool(ours))
    return list(found.values())


def value_mapping_of(found: list[FoundValue]) -> dict:
    """{field: {key: our value}} of the values found, as each is initially mapped."""
    mapping: dict = {}
    for value in found:
        mapping.setdefault(value.field, {})[value.key] = value.initial
    return mapping


def remembered_values(job: ImportJob, owners_by_email: dict[str, User]) -> dict:
    """The value mapping of the client's last started import, without the values that are no
    longer ours (a user who left)."""
    last = (
        ImportJob.objects.for_client(job.client_id)
        .exclude(status=ImportJob.Status.UPLOADED)
        .exclude(pk=job.pk)
        .order_by("-created_at")
        .values_list("value_mapping", flat=True)
        .first()
    ) or {}
    allowed = {
        field: {v for v, _ in choices(field, owners_by_email)} | {""} for field in VALUE_FIELDS
    }
    return {
        field: {
            key: ours for key, ours in (last.get(field) or {}).items() if ours in allowed[field]
        }
        for field in VALUE_FIELDS
    }


def check_value_mapping(job: ImportJob, value_mapping: dict, owners_by_email: dict) -> dict:
    """The value mapping a person chose, checked: only fields mapped by a column, string keys,
    each value one of ours or "" (leave empty). Raises ValidationError naming the bad value."""
    if not isinstance(value_mapping, dict):
        raise ValidationError("The value mapping must map fields to values.")
    mapped = set(job.mapping.values())
    checked = {}
    for field, values in value_mapping.items():
        if field not in VALUE_FIELDS or field not in mapped:
            raise ValidationError(
                f"No column goes to “{str(field)[:40]}”: it has no values to map."
            )
        if not isinstance(values, dict):
            raise ValidationError(f"The values of {field} must map each value to one of ours.")
        allowed = {v for v, _ in choices(field, owners_by_email)}
        checked[field] = {}
        for key, ours in values.items():
            if not isinstance(key, str) or not isinstance(ours, str) or len(key) > MAX_VALUE_CHARS:
                raise ValidationError(f"A value of {field} is not text of at most 100 characters.")
            if ours and ours not in allowed:
                raise ValidationError(_NOT_OURS[field].format(value=ours[:60], key=key[:60]))
            checked[field][value_key(key)] = ours
    return checked


_NOT_OURS = {
    "status": "“{value}” (for “{key}”) is not a status.",
    "owner": "“{value}” (for “{key}”) is not an active user of this client.",
    "country": "“{value}” (for “{key}”) is not a country code.",
}
