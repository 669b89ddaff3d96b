"""The guard against highly sensitive data in free text.

OpsX asks its users not to store payment card numbers, national identity numbers and the like.
Free text (notes, visit reports, custom text fields) is checked for three kinds and refused with
a message naming what was found. Each check is strict enough that ordinary text (phone numbers,
order numbers, dates) passes: card numbers must pass the Luhn check, Aadhaar numbers the
Verhoeff check, SSNs the issuance rules.
"""

import re

from django.core.exceptions import ValidationError

# 13 to 19 digits, optionally grouped by single spaces or dashes, not inside a longer number.
_CARD = re.compile(r"(?<![\d+])(?:\d[ -]?){12,18}\d(?!\d)")
# 12 digits, optionally grouped 4-4-4; Aadhaar numbers never start with 0 or 1.
_AADHAAR = re.compile(r"(?<![\d+])[2-9]\d{3}([ -]?)\d{4}\1\d{4}(?!\d)")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")

_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]

KINDS = {
    "card": "a payment card number",
    "aadhaar": "an Aadhaar number",
    "ssn": "a US Social Security number",
}


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def verhoeff_valid(digits: str) -> bool:
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_sensitive(text: str) -> str | None:
    """The kind of sensitive number found in `text` ("card", "aadhaar", "ssn"), or None."""
    if not text or not any(ch.isdigit() for ch in text):
        return None
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1:
            return "card"
    for match in _AADHAAR.finditer(text):
        if verhoeff_valid(re.sub(r"\D", "", match.group())):
            return "aadhaar"
    for match in _SSN.finditer(text):
        if _ssn_valid(*match.groups()):
            return "ssn"
    return None


def check_text(text: str, *, field: str = "This text") -> None:
    """Raise ValidationError naming the kind of sensitive data found in `text`."""
    kind = find_sensitive(text)
    if kind:
        raise ValidationError(
            f"{field} seems to contain {KINDS[kind]}. OpsX must not hold such data: "
            "remove it and save again.",
            code=f"sensitive_{kind}",
        )
