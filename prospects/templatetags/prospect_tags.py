"""Template filters for Client Data."""

import functools

import phonenumbers
from django import template

register = template.Library()


# Parsing and formatting costs about 18 µs a number; the list shows 25 rows a page and the same
# numbers come back page after page, so each process keeps the strings it has made. Bounded:
# 8,192 entries of two short strings each are well under a megabyte.
@functools.lru_cache(maxsize=8192)
def format_phone(number: str) -> str:
    """An E.164 number as people write it internationally: +919876543210 -> +91 98765 43210."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter
def phone(number: str) -> str:
    return format_phone(number)
