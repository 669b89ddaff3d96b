"""vCard address books (.vcf, versions 2.1, 3.0 and 4.0 as Android and iOS export them) as rows
of fixed columns, one per card: the file is split into cards as it streams and each card is
parsed on its own with vobject, so a card it cannot parse is one error row, not a failed file.

Imported by reading only; imports nothing of the package.
"""

import codecs
import io
from collections.abc import Iterator

HEADERS = (
    "Full name", "Given name", "Middle name", "Family name", "Organisation", "Title", "Email",
    "Mobile phone", "Work phone", "Home phone", "Other phone", "Street", "City", "Region",
    "Postal code", "Country", "Note", "Categories",
)  # fmt: skip
_COLUMN = {name: index for index, name in enumerate(HEADERS)}
_JOIN = "; "  # several emails or numbers of one kind in one cell
# A number's kind from its TYPE parameters or iOS's X-ABLabel ("_$!<Mobile>!$_", "WhatsApp").
_PHONE_KINDS = (
    ("Mobile phone", ("cell", "mobile", "iphone", "whatsapp")),
    ("Work phone", ("work",)),
    ("Home phone", ("home",)),
)


def looks_like_vcard(fileobj, lower_name: str) -> bool:
    fileobj.seek(0)
    head = fileobj.read(4096)
    fileobj.seek(0)
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    text = head.replace(b"\x00", b"").lstrip().upper()  # UTF-16 text, once NULs are gone
    return text.startswith(b"BEGIN:VCARD") or (
        lower_name.endswith(".vcf") and b"BEGIN:VCARD" in text
    )


def _cards(fileobj, encoding: str) -> Iterator[str]:
    """The text of each card, BEGIN:VCARD to END:VCARD, as the file streams."""
    fileobj.seek(0)
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    text = io.TextIOWrapper(fileobj, encoding=codec, errors="replace", newline=None)
    try:
        lines: list[str] | None = None
        for line in text:
            word = line.strip().upper()
            if word == "BEGIN:VCARD":
                lines = [line]
            elif lines is not None:
                lines.append(line)
                if word == "END:VCARD":
                    yield "".join(lines)
                    lines = None
        if lines:
            yield "".join(lines)  # a last card without its END: vobject says what is wrong
    finally:
        if not text.closed:
            text.detach()


def count_cards(fileobj, encoding: str) -> int:
    """The cards of the file, found without parsing them (vobject parses ~1,000 a second)."""
    return sum(1 for _ in _cards(fileobj, encoding))


def rows(fileobj, encoding: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """(card number from 1, cells or None, error) for every card."""
    import vobject  # only when an address book is read

    for number, card in enumerate(_cards(fileobj, encoding), 1):
        try:
            parsed = vobject.readOne(card, allowQP=True)
            cells = card_cells(parsed)
        except Exception as exc:  # vobject raises many kinds for a broken card
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            yield number, None, f"This contact card could not be read: {reason}"
            continue
        yield number, cells, ""


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(p for p in (_text(v) for v in value) if p)
    return " ".join(str(value or "").split())


def _types(line, label: str) -> set[str]:
    kinds = {label.casefold()} if label else set()
    for value in [*line.params.get("TYPE", []), *getattr(line, "singletonparams", [])]:
        kinds.update(part.strip().casefold() for part in value.split(","))
    return kinds


def _phone_column(kinds: set[str]) -> str:
    for column, names in _PHONE_KINDS:
        if any(name in kind for kind in kinds for name in names):
            return column
    return "Other phone"


def card_cells(card) -> list[str]:
    cells = [""] * len(HEADERS)
    labels = {
        line.group: line.value.removeprefix("_$!<").removesuffix(">!$_")
        for line in card.getChildren()
        if line.name == "X-ABLABEL" and line.group
    }
    found: dict[str, list[str]] = {
        "Email": [],
        **{c: [] for c, _ in _PHONE_KINDS},
        "Other phone": [],
    }
    address = None
    for line in card.getChildren():
        name = line.name
        if name == "FN":
            cells[_COLUMN["Full name"]] = _text(line.value)
        elif name == "N":
            parts = line.value
            cells[_COLUMN["Given name"]] = _text(parts.given)
            cells[_COLUMN["Middle name"]] = _text(parts.additional)
            cells[_COLUMN["Family name"]] = _text(parts.family)
        elif name == "ORG":
            cells[_COLUMN["Organisation"]] = _text(line.value)
        elif name == "TITLE":
            cells[_COLUMN["Title"]] = _text(line.value)
        elif name == "EMAIL" and _text(line.value):
            found["Email"].append(_text(line.value).removeprefix("mailto:"))
        elif name == "TEL" and _text(line.value):
            kinds = _types(line, labels.get(line.group, ""))
            found[_phone_column(kinds)].append(_text(line.value).removeprefix("tel:"))
        elif name == "ADR" and address is None:
            address = line.value
        elif name == "NOTE":
            cells[_COLUMN["Note"]] = str(line.value or "").strip()
        elif name == "CATEGORIES":
            cells[_COLUMN["Categories"]] = _text(line.value)
    for column, values in found.items():
        cells[_COLUMN[column]] = _JOIN.join(dict.fromkeys(values))
    if address is not None:
        street = [p for p in (address.box, address.extended, address.street) if p]
        cells[_COLUMN["Street"]] = ", ".join(
            s.strip() for p in street for s in _text_lines(p).split("\n") if s.strip()
        )
        cells[_COLUMN["City"]] = _text(address.city)
        cells[_COLUMN["Region"]] = _text(address.region)
        cells[_COLUMN["Postal code"]] = _text(address.code)
        cells[_COLUMN["Country"]] = _text(address.country)
    if not cells[_COLUMN["Full name"]]:
        cells[_COLUMN["Full name"]] = " ".join(
            p
            for p in (cells[_COLUMN[c]] for c in ("Given name", "Middle name", "Family name"))
            if p
        )
    return cells


def _text_lines(value) -> str:
    """A street keeps its line breaks (joined with ", " above), unlike other text."""
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value if v)
    return str(value or "")
