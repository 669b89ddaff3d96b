"""Template filters for Client Data."""

import phonenumbers
from django import template

register = template.Library()


@register.filter
def phone(number: str) -> str:
    """An E.164 number as people write it internationally: +919876543210 -> +91 98765 43210."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
