"""Phone numbers shown on pages: international format, computed once per number and process."""

import phonenumbers
import pytest

from prospects.templatetags.prospect_tags import format_phone, phone

NUMBERS = [
    "+919876543210",
    "+442079460958",
    "+12025550123",
    "+33142685300",
    "+61299999999",
    "+999123",  # no such country code: shown as stored
    "12345",  # not E.164: shown as stored
    "",
]


def _library(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@pytest.mark.parametrize("number", NUMBERS)
def test_the_cached_formatter_and_the_filter_print_what_the_library_prints(number):
    format_phone.cache_clear()
    assert format_phone(number) == _library(number) == phone(number)
    assert format_phone(number) == _library(number)  # the cached answer, the same


def test_a_number_is_formatted_once_per_process():
    format_phone.cache_clear()
    for _ in range(3):
        for number in NUMBERS:
            format_phone(number)
    info = format_phone.cache_info()
    assert (info.misses, info.hits) == (len(NUMBERS), 2 * len(NUMBERS))
    assert info.maxsize is not None  # bounded: a long-running worker does not grow forever
