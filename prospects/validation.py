"""Cleaning of prospect data from any source (web form, CSV row, API body).

One lean function instead of a Django form per row, so a 100,000-row import validates in
seconds; the web forms call it too, so every way in applies the same rules and messages.
"""

import datetime
import functools
import re
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from . import sensitive
from .models import CustomField, Prospect

_email_validator = EmailValidator()
_SPLIT_PHONES = re.compile(r"\s*[;,/|]\s*")
_SPLIT_TAGS = re.compile(r"\s*[,;]\s*")
STATUS_BY_TEXT = {
    **{value: value for value in Prospect.Status.values},
    **{label.lower(): value for value, label in Prospect.Status.choices},
}
TRUE_WORDS = {"yes", "y", "true", "1", "x", "on"}
FALSE_WORDS = {"no", "n", "false", "0", "off", ""}

LIMITS = {
    "name": 200,
    "organisation": 200,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "state": 100,
    "postal_code": 20,
    "source": 100,
    "notes": 10_000,
}


# Characters nobody sees: zero-width ones go (an email copied from a web page or a chat
# carried a U+200B inside), the odd spaces become plain spaces. Every text is cleaned of
# them, whichever way it came in.
INVISIBLE = str.maketrans(
    {
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad"),
        **dict.fromkeys(
            "\u00a0\u202f\u2007\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u205f\u3000", " "
        ),
    }
)


def visible(value):
    """A text (or a list of texts) without invisible characters; other values as they are.
    ASCII text, nearly all of it, is returned at once."""
    if isinstance(value, str):
        return value if value.isascii() else value.translate(INVISIBLE)
    if isinstance(value, list):
        return [visible(v) for v in value]
    return value


class Errors(dict):
    """field -> message (or ValidationError, to keep its code: an import refuses a row for
    sensitive data and not for other bad cells); `raise_if_any()` makes one ValidationError."""

    def raise_if_any(self):
        if self:
            raise ValidationError({field: [message] for field, message in self.items()})


def is_email(text: str) -> bool:
    """Whether the text is one valid email address (as clean_prospect checks it)."""
    try:
        _email_validator(text.lower())
    except ValidationError:
        return False
    return True


def normalise_phone(raw: str, region: str | None = None) -> str:
    """E.164 of a phone number typed any usual way, or ValidationError."""
    region = (region or settings.DEFAULT_PHONE_REGION).upper()
    fast = _fast_e164(raw, region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            f"“{raw[:40]}” is not a valid phone number. Write it with its country code, "
            "e.g. +91 98765 43210.",
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- the common shapes, four times faster ---------------------------------------------
# An import checks a number per row, and phonenumbers.parse() spends most of its time on
# shapes a CSV rarely holds (letters, extensions, RFC 3966 links, carrier codes). Numbers
# written with digits and the usual separators take the same steps here, with the library's
# own metadata, and _is_valid() (the library's is_valid_number(), one expression per region
# and length) decides. Any other shape, and any number this path does not find valid, goes
# to phonenumbers.parse(), so the answer is always the library's
# (tests/prospects/test_phone_fast_path.py compares the two, and _is_valid with the library).

_SIMPLE_CHARS = frozenset("0123456789+ ().-")
_SEPARATORS = str.maketrans("", "", " ().-")


@functools.cache
def _rules(metadata_key: tuple) -> tuple | None:
    """(country code, national prefix pattern, has a transform rule, IDD pattern) of a region
    (("region", "IN")) or of a country calling code's main region (("code", 44))."""
    kind, value = metadata_key
    if kind == "region":
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(value, None)
    else:
        main = phonenumbers.region_code_for_country_code(value)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(value, main)
    if metadata is None:
        return None
    npfp = metadata.national_prefix_for_parsing
    idd = metadata.international_prefix
    return (
        metadata.country_code,
        re.compile(npfp) if npfp else None,
        bool(metadata.national_prefix_transform_rule),
        re.compile(idd) if idd else None,
    )


def _fast_e164(raw: str, region: str) -> str | None:
    """The E.164 form phonenumbers would give, or None to ask phonenumbers itself."""
    if not _SIMPLE_CHARS.issuperset(raw):
        return None
    compact = raw.translate(_SEPARATORS)
    if compact[:1] == "+":
        digits = compact[1:]
        if len(digits) < 3 or not digits.isdigit() or digits[0] == "0":
            return None
        for size in (1, 2, 3):
            if int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        rules = _rules(("code", int(digits[:size])))
        national = digits[size:]
    else:
        rules = _rules(("region", region))
        if rules is None or not compact.isdigit():
            return None
        idd = rules[3]
        if (idd is not None and idd.match(compact)) or compact.startswith(str(rules[0])):
            return None  # an international prefix, or maybe the country code without "+"
        national = compact
    if rules is None:
        return None
    country_code, national_prefix, transforms, _ = rules
    match = national_prefix.match(national) if national_prefix is not None else None
    if match:
        if transforms or match.groups():
            return None  # carrier codes and rewritten prefixes: the library's job
        national = national[match.end() :]  # kept only if the result is valid (below)
    if not national or national[0] == "0":
        return None  # Italian-style leading zeros
    if not _is_valid(country_code, national):
        return None
    return f"+{country_code}{national}"


# phonenumbers.is_valid_number() finds a number's region, then tries the region's number types
# one pattern at a time (about ten regular expressions, compiled through a cache, per number).
# A number is valid when it matches the region's general pattern and one of the type patterns;
# which one only matters for its type. _is_valid() asks the same with one expression per
# region and length: the type patterns that admit that length, as alternatives.

_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip


def _admits(desc, length: int) -> bool:
    # as phonenumbers' _is_number_matching_desc: no lengths listed means any length
    return desc is not None and (not desc.possible_length or length in desc.possible_length)


@functools.cache
def _pattern(metadata_id: tuple, length: int) -> tuple[re.Pattern, re.Pattern] | None:
    """(general pattern, type patterns as one) of a region's numbers of `length` digits."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(*metadata_id)
    general = metadata.general_desc
    if not _admits(general, length) or not general.national_number_pattern:
        return None
    names = _TYPES[:-1] if metadata.same_mobile_and_fixed_line_pattern else _TYPES
    types = [getattr(metadata, name) for name in names]
    alternatives = [
        f"(?:{desc.national_number_pattern})"
        for desc in types
        if _admits(desc, length) and desc.national_number_pattern
    ]
    if not alternatives:
        return None
    return (re.compile(general.national_number_pattern), re.compile("|".join(alternatives)))


def _valid_for(metadata_id: tuple, national: str) -> bool:
    patterns = _pattern(metadata_id, len(national))
    return (
        patterns is not None
        and patterns[0].fullmatch(national) is not None
        and patterns[1].fullmatch(national) is not None
    )


@functools.cache
def _regions(country_code: int) -> tuple:
    """(metadata id, leading digits pattern or None) of each region of a calling code, in the
    library's order."""
    regions = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata_id = (country_code, region)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(*metadata_id)
        if metadata is None:
            continue
        leading = metadata.leading_digits
        regions.append((metadata_id, re.compile(leading) if leading else None))
    return tuple(regions)


def _is_valid(country_code: int, national: str) -> bool:
    """phonenumbers.is_valid_number() of +<country_code><national> (no leading zero)."""
    regions = _regions(country_code)
    if len(regions) == 1:
        return _valid_for(regions[0][0], national)
    for metadata_id, leading in regions:  # the library's region_code_for_number()
        if leading is not None:
            if leading.match(national):
                return _valid_for(metadata_id, national)
        elif _valid_for(metadata_id, national):
            return True
    return False


def clean_phones(raw: str | list[str], region: str | None = None) -> list[str]:
    parts = raw if isinstance(raw, list) else _SPLIT_PHONES.split(raw.strip())
    numbers = []
    for part in parts:
        if part.strip():
            number = normalise_phone(part.strip(), region)
            if number not in numbers:
                numbers.append(number)
    return numbers


def clean_tags(raw: str | list[str]) -> list[str]:
    parts = raw if isinstance(raw, list) else _SPLIT_TAGS.split(raw)
    tags = []
    for part in parts:
        tag = " ".join(part.split()).lower()
        if len(tag) > 40:
            raise ValidationError(f"The tag “{tag[:40]}…” is longer than 40 characters.")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > 30:
        raise ValidationError("A prospect can have at most 30 tags.")
    return tags


# --- numbers from outside ----------------------------------------------------------
# Decimal(), float() and int() accept more than people write (NaN, Infinity, "1_000", digits
# of any script) and Decimal keeps any exponent: int(Decimal("1e3000000")) builds a
# 3,000,001-digit integer and holds the worker for a minute. Every number that comes from a
# form, a query string, a CSV cell or the browser goes through parse_number(), which decides
# from the text's shape and size alone before anything converts it.

MAX_NUMBER_CHARS = 60  # longer text is refused unread (the regex below stays cheap)
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?",
    re.ASCII,  # \d is 0-9 only: Decimal("١٢٣") would be 123
)
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+", re.ASCII)


def parse_number(
    raw,
    *,
    what: str = "This value",
    max_digits: int = 15,
    max_exponent: int = 15,
    thousands: bool = False,
) -> Decimal:
    """The Decimal written in `raw` (text from outside, or an int/float/Decimal), or
    ValidationError with a message for the person who wrote it.

    Accepted: optional sign, digits 0-9 with an optional decimal point, an optional exponent
    (1.5e3); with `thousands`, commas between groups of three digits (1,000.5). Refused: NaN,
    Infinity, 0x10, 1_000, other scripts' digits, more than `max_digits` significant digits,
    and a value whose leading digit is beyond 10**±max_exponent (1e5000, -1e-999999). The
    checks read the text only, so the result is safe to pass to int(), float() or quantize().
    """
    if isinstance(raw, bool):
        raise ValidationError(f"{what} must be a number, not yes/no.", code="invalid_number")
    if isinstance(raw, int) and abs(raw).bit_length() > 4 * MAX_NUMBER_CHARS:
        raise _too_many_digits(what, max_digits)  # str() of an int over 4,300 digits raises
    text = str(raw).strip()
    too_long = len(text) > MAX_NUMBER_CHARS
    if too_long and text.isascii() and text.lstrip("+-").replace(".", "").isdigit():
        raise _too_many_digits(what, max_digits, text)
    if thousands and "," in text and not too_long:
        unsigned = text.lstrip("+-")
        head = re.split(r"[.eE]", unsigned, maxsplit=1)[0]
        if "," in unsigned[len(head) :] or not _GROUPED.fullmatch(head):
            raise ValidationError(
                f"{what} must be a number such as 1234.5 or 1,234.5 (commas only between "
                f"groups of three digits), not “{text[:40]}”.",
                code="invalid_number",
            )
        text = text.replace(",", "")
    match = None if too_long else _NUMBER.fullmatch(text)
    if match is None or not (match["int"] or match["frac"]):
        hint = ""
        if any(ch.isdigit() and not ch.isascii() for ch in text[:MAX_NUMBER_CHARS]):
            hint = " Write it with the digits 0-9."
        raise ValidationError(
            f"{what} must be a number such as 1234.5 or -0.25, not “{text[:40]}”.{hint}",
            code="invalid_number",
        )
    digits = (match["int"] + (match["frac"] or "")).lstrip("0")
    if not digits:
        return Decimal(0)
    exponent = int(match["exp"] or 0) - len(match["frac"] or "")
    leading = len(digits) - 1 + exponent  # the power of ten of the first significant digit
    if len(digits.rstrip("0")) > max_digits or abs(leading) > max_exponent:
        raise _too_many_digits(what, max_digits, text)
    return Decimal(f"{match['sign']}{digits}E{exponent}")


def _too_many_digits(what: str, max_digits: int, text: str = "") -> ValidationError:
    shown = text if len(text) <= 40 else f"{text[:40]}…"
    return ValidationError(
        f"{what} must be a number with at most {max_digits} digits, such as 1234.5"
        + (f"; “{shown}” is too long, too large or too small." if shown else "."),
        code="number_too_large",
    )


def clean_coordinate(raw, *, limit: int, what: str) -> Decimal | None:
    if raw in (None, ""):
        return None
    # 20 digits: a position copied with every digit a double holds (17) still fits
    value = parse_number(raw, what=f"The {what}", max_digits=20, max_exponent=20)
    if abs(value) > limit:
        raise ValidationError(f"The {what} must be between -{limit} and {limit}.")
    return value.quantize(Decimal("0.000001"))


def clean_custom_value(definition: CustomField, raw):
    """The stored (JSON) form of one custom field value, or ValidationError."""
    label = definition.label
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if definition.required:
            raise ValidationError(f"{label} is required.", code="required")
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    kind = definition.kind
    if kind == CustomField.Kind.TEXT:
        text = str(text)
        if len(text) > 1000:
            raise ValidationError(f"{label} must be at most 1000 characters.")
        sensitive.check_text(text, field=label)
        return text
    if kind == CustomField.Kind.NUMBER:
        number = parse_number(text, what=label, thousands=True)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomField.Kind.DATE:
        if isinstance(text, datetime.date):
            return text.isoformat()
        try:
            return datetime.date.fromisoformat(str(text)).isoformat()
        except ValueError:
            raise ValidationError(
                f"{label} must be a date as YYYY-MM-DD, not “{str(text)[:40]}”."
            ) from None
    if kind == CustomField.Kind.BOOLEAN:
        if isinstance(text, bool):
            return text
        word = str(text).lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(f"{label} must be yes or no, not “{str(text)[:40]}”.")
    if kind == CustomField.Kind.CHOICE:
        by_lower = {choice.lower(): choice for choice in definition.choices}
        choice = by_lower.get(str(text).lower())
        if choice is None:
            options = ", ".join(definition.choices)
            raise ValidationError(f"{label} must be one of: {options}.")
        return choice
    raise ValidationError(f"{label} has an unknown kind.")  # pragma: no cover


def clean_prospect(
    raw: dict,
    *,
    definitions: list[CustomField],
    owners_by_email: dict | None = None,
    partial: bool = False,
) -> dict:
    """Validate and normalise one prospect's fields.

    `raw` maps field names (and "custom.<key>") to strings or already typed values; only
    the keys present are cleaned when `partial`. Raises ValidationError keyed by field.
    """
    errors = Errors()
    data: dict = {}
    try:  # one scan in C for the usual row of texts; anything else the long way
        plain = "".join(raw.values()).isascii()
    except TypeError:
        plain = False
    if not plain:
        raw = {field: visible(value) for field, value in raw.items()}

    for field, limit in LIMITS.items():
        if field not in raw:
            continue
        value = (
            " ".join(str(raw[field] or "").split())
            if field != "notes"
            else str(raw[field] or "").strip()
        )
        if len(value) > limit:
            errors[field] = f"At most {limit} characters (this has {len(value)})."
        else:
            data[field] = value
    if (not partial or "name" in raw) and not data.get("name") and "name" not in errors:
        errors["name"] = "A prospect needs a name."
    if data.get("notes"):
        try:
            sensitive.check_text(data["notes"], field="The notes")
        except ValidationError as exc:
            errors["notes"] = exc.error_list[0]

    if "email" in raw:
        email = str(raw["email"] or "").strip().lower()
        if email:
            try:
                _email_validator(email)
            except ValidationError:
                errors["email"] = f"“{email[:60]}” is not a valid email address."
        data["email"] = email

    if "country" in raw:
        country = str(raw["country"] or "").strip().upper()
        if country and country not in phonenumbers.SUPPORTED_REGIONS:
            errors["country"] = (
                f"“{country[:20]}” is not a two-letter country code such as IN or GB."
            )
        data["country"] = country

    if "phones" in raw:
        try:
            data["phones"] = clean_phones(raw["phones"] or "", data.get("country") or None)
        except ValidationError as exc:
            errors["phones"] = exc.messages[0]

    for field, limit in (("latitude", 90), ("longitude", 180)):
        if field in raw:
            try:
                data[field] = clean_coordinate(raw[field], limit=limit, what=field)
            except ValidationError as exc:
                errors[field] = exc.messages[0]

    if "status" in raw:
        text = str(raw["status"] or "").strip().lower()
        if not text:
            data["status"] = Prospect.Status.NEW
        elif text in STATUS_BY_TEXT:
            data["status"] = STATUS_BY_TEXT[text]
        else:
            errors["status"] = (
                f"Unknown status “{text[:30]}”; use one of: {', '.join(Prospect.Status.values)}."
            )

    if "tags" in raw:
        try:
            data["tags"] = clean_tags(raw["tags"] or "")
        except ValidationError as exc:
            errors["tags"] = exc.messages[0]

    if "owner" in raw:
        owner = raw["owner"]
        if isinstance(owner, str):
            email = owner.strip().lower()
            owner = None
            if email:
                owner = (owners_by_email or {}).get(email)
                if owner is None:
                    errors["owner"] = f"No active user of this client has the email “{email[:60]}”."
        data["owner"] = owner

    custom = {}
    for definition in definitions:
        key = f"custom.{definition.key}"
        if key not in raw and (partial or not definition.required):
            continue
        try:
            value = clean_custom_value(definition, raw.get(key))
        except ValidationError as exc:
            errors[key] = exc.error_list[0]
        else:
            if value is not None:
                custom[definition.key] = value
            elif key in raw:
                custom[definition.key] = None  # cleared
    if custom:
        data["custom"] = custom

    errors.raise_if_any()
    return data
