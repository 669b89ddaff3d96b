"""The phone fast path (validation._fast_e164) answers exactly as phonenumbers does, or defers."""

import contextlib
import random

import phonenumbers
import pytest
from django.core.exceptions import ValidationError

from prospects import validation
from prospects.validation import _fast_e164


def _library(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _spellings(number: phonenumbers.PhoneNumber, rng: random.Random) -> list[str]:
    """The ways people type a number: every library format, compacted, spaced, with the
    international prefix 00, with the country code but no plus, with stray trunk zeros."""
    cc, nsn = str(number.country_code), phonenumbers.national_significant_number(number)
    formats = [
        phonenumbers.format_number(number, f)
        for f in (
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
        )
    ]
    digits = [f"+{cc}{nsn}", f"00{cc}{nsn}", f"{cc}{nsn}", nsn, f"0{nsn}", f"+{cc}0{nsn}"]
    spelled = formats + digits
    for text in list(spelled):
        cut = rng.randrange(1, max(2, len(text) - 1))
        sep = rng.choice([" ", "-", ".", "  ", " - "])
        spelled.append(text[:cut] + sep + text[cut:])
        spelled.append(f"({text[:3]}) {text[3:]}")
    return spelled


def _example_numbers():
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield region, number


def test_the_fast_path_agrees_with_phonenumbers_for_every_region():
    rng = random.Random(2026)
    examples = list(_example_numbers())
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    checked = answered = 0
    for home, number in examples:
        for raw in _spellings(number, rng):
            # read with the number's own region, a random one and India (the default)
            for region in {home, rng.choice(regions), "IN"}:
                fast = _fast_e164(raw, region)
                checked += 1
                if fast is not None:
                    answered += 1
                    assert fast == _library(raw, region), (raw, region)
    assert checked > 20_000
    assert answered > checked // 4  # it does take the common shapes


def test_random_digit_strings_agree_too():
    rng = random.Random(7)
    for _ in range(20_000):
        raw = rng.choice(["", "+", "0", "00"]) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(3, 16))
        )
        region = rng.choice(["IN", "GB", "US", "DE", "IT", "BR", "AR", "MX", "AU", "SG"])
        fast = _fast_e164(raw, region)
        if fast is not None:
            assert fast == _library(raw, region), (raw, region)


@pytest.mark.parametrize(
    "raw", ["+91 98765 43210", "9876543210", "+91-98765-43210", "098765 43210", "(098765) 43210"]
)
def test_the_shapes_of_an_indian_import_take_the_fast_path(raw):
    assert _fast_e164(raw, "IN") == "+919876543210" == _library(raw, "IN")


@pytest.mark.parametrize(
    "raw", ["+91 98765 43210 ext. 12", "tel:+91-98765-43210", "+91 98765 4321O", "12345"]
)
def test_other_shapes_are_left_to_phonenumbers(raw, monkeypatch):
    assert _fast_e164(raw, "IN") is None
    calls = []
    real = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", lambda *a, **k: calls.append(a) or real(*a, **k))
    with contextlib.suppress(ValidationError):  # valid or not, it is the library's answer
        validation.normalise_phone(raw, "IN")
    assert calls


def _library_valid(country_code: int, national: str) -> bool:
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    return phonenumbers.is_valid_number(number)


def test_the_validity_check_agrees_with_phonenumbers_on_valid_and_invalid_numbers():
    """_is_valid() answers is_valid_number() itself: for an example of every number type of
    every region and calling code, each with digits changed, dropped and added, and for
    random digits under every calling code."""
    rng = random.Random(11)
    numbers = set()
    regions = [*sorted(phonenumbers.SUPPORTED_REGIONS), "001"]
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            numbers.add((code, phonenumbers.national_significant_number(number)))
    for region in regions[:-1]:
        for kind in range(12):  # every PhoneNumberType with examples
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                numbers.add((number.country_code, phonenumbers.national_significant_number(number)))
    examples = sorted(numbers)
    for code, nsn in examples:
        for _ in range(6):
            i = rng.randrange(len(nsn))
            numbers.add((code, nsn[:i] + rng.choice("0123456789") + nsn[i + 1 :]))
        numbers.add((code, nsn[:-1]))
        numbers.add((code, nsn + rng.choice("0123456789")))
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for _ in range(150):
            length = rng.randint(4, 14)
            numbers.add(
                (code, rng.choice("123456789") + "".join(rng.choices("0123456789", k=length)))
            )
    numbers = {(code, nsn) for code, nsn in numbers if nsn and nsn[0] != "0"}
    valid = 0
    for code, nsn in sorted(numbers):
        expected = _library_valid(code, nsn)
        assert validation._is_valid(code, nsn) == expected, (code, nsn)
        valid += expected
    assert len(numbers) > 40_000
    assert valid > len(examples)  # both answers are well represented
