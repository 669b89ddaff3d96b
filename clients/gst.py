"""Indian GST for invoices: the state codes, GSTIN validation (format and check character) and
the split of the tax: CGST + SGST within HexCM's state, IGST across states.

A GSTIN is 15 characters: the 2-digit state code, the holder's 10-character PAN, the entity
number (1-9, A-Z), the letter Z, and a check character computed over the first 14 with the
mod-36 Luhn variant GSTN publishes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

RATE = Decimal("0.18")  # software services (SAC 998314): 18%, or 9% + 9%
STATES = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}
_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SHAPE = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
CENT = Decimal("0.01")


def check_character(first14: str) -> str:
    total = 0
    for i, char in enumerate(first14):
        product = _CHARS.index(char) * (2 if i % 2 else 1)
        total += product // 36 + product % 36
    return _CHARS[(36 - total % 36) % 36]


def normalise_gstin(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def validate_gstin(value: str, *, state: str | None = None) -> str:
    """The GSTIN in its canonical form, or ValidationError saying what is wrong with it."""
    gstin = normalise_gstin(value)
    if len(gstin) != 15:
        raise ValidationError(
            f"A GSTIN has 15 characters; this one has {len(gstin)}.", code="gstin_length"
        )
    if not _SHAPE.match(gstin):
        raise ValidationError(
            "This is not a GSTIN: it should be a 2-digit state code, a 10-character PAN, a "
            "digit or letter, Z, and a check character (like 29ABCDE1234F1Z5).",
            code="gstin_shape",
        )
    if gstin[:2] not in STATES:
        raise ValidationError(f"{gstin[:2]} is not a GST state code.", code="gstin_state")
    if check_character(gstin[:14]) != gstin[14]:
        raise ValidationError(
            "This GSTIN's last character does not match the rest: check it for a typing mistake.",
            code="gstin_checksum",
        )
    if state and gstin[:2] != state:
        raise ValidationError(
            f"This GSTIN is registered in {STATES[gstin[:2]]}, not in {STATES.get(state, state)}"
            ": choose the state it belongs to.",
            code="gstin_other_state",
        )
    return gstin


@dataclass(frozen=True)
class Tax:
    cgst: Decimal = Decimal(0)
    sgst: Decimal = Decimal(0)
    igst: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.cgst + self.sgst + self.igst


def tax_for(subtotal: Decimal, *, buyer_country: str, buyer_state: str, seller_state: str) -> Tax:
    """GST on a subtotal: none outside India (an export of services), CGST and SGST at half the
    rate each within the seller's state, IGST at the full rate from one state to another."""
    if buyer_country != "IN":
        return Tax()
    if buyer_state == seller_state:
        half = (subtotal * RATE / 2).quantize(CENT, rounding=ROUND_HALF_UP)
        return Tax(cgst=half, sgst=half)
    return Tax(igst=(subtotal * RATE).quantize(CENT, rounding=ROUND_HALF_UP))
