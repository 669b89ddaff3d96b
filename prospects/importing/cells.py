"""What people write in a cell, read the way they meant it: invisible characters and odd spaces,
placeholders for "nothing", emails and phones with their decorations, decimal commas, and
whether two names may be one person. Pure functions on text, used by the Runner (pipeline)
and the planner; they import nothing of the package (only prospects.validation).
"""

import itertools
import re

from ..validation import INVISIBLE

# Placeholders for an empty cell, compared casefolded. "NA" is one too, except in a country
# column, where it is Namibia (the Runner keeps it there).
EMPTY_WORDS = frozenset(
    {"n/a", "na", "n.a.", "-", "--", "---", "—", "\u2013", "nil", "none", "null", "#n/a", "(none)"}
)


def normalise(text: str, *, keep_na: bool = False) -> str:
    """The cell as the person meant it: zero-width characters gone, odd spaces as spaces,
    a placeholder for "nothing" as "". Plain ASCII cells (nearly all) take the short path."""
    if not text.isascii():
        text = text.translate(INVISIBLE)
    if text and len(text) <= 12:
        word = text.strip().casefold()
        if word in EMPTY_WORDS and not (keep_na and word == "na"):
            return ""
    return text


# Every way of writing the ASCII placeholders in upper and lower case ("N/A", "n/a", "Null"...),
# so a row is checked against them in one set operation.
_SPELLINGS = frozenset(
    "".join(chars)
    for word in EMPTY_WORDS
    if word.isascii()
    for chars in itertools.product(*({c.lower(), c.upper()} for c in word))
)


def normalise_row(cells: list[str], keep_na: set[int]) -> list[str]:
    """normalise() of every cell (keep_na: the indexes of country columns). A row of plain
    ASCII with no placeholder and no cell starting or ending with a space, nearly every
    row, is checked in a few scans in C instead of a Python loop over its cells."""
    joined = "\x1f".join(cells)
    if (
        joined.isascii()
        and _SPELLINGS.isdisjoint(cells)
        and joined[:1] != " "
        and joined[-1:] != " "
        and "\x1f " not in joined
        and " \x1f" not in joined
    ):
        return cells
    return [normalise(c, keep_na=i in keep_na) for i, c in enumerate(cells)]


# --- emails ----------------------------------------------------------------------------

_EMAIL_SPLIT = re.compile(r"[,;\s]+")
_ANGLED = re.compile(r"<([^<>]*)>")


def split_emails(text: str) -> list[str]:
    """The addresses in an email cell, in order: `Name <a@b>`, `mailto:a@b`, several
    separated by commas, semicolons or spaces."""
    angled = _ANGLED.findall(text)
    if angled:
        parts = [p for a in angled for p in _EMAIL_SPLIT.split(a)]
    else:
        parts = _EMAIL_SPLIT.split(text)
    emails = []
    for part in parts:
        part = part.strip().strip("\"'()[]")
        if part[:7].lower() == "mailto:":
            part = part[7:].split("?", 1)[0]
        if part and part not in emails:
            emails.append(part)
    return emails


# --- phones ----------------------------------------------------------------------------

# What people put around a number: a type word before it ("mobile:", "Tel.", "M:") and a
# remark in brackets ("(WhatsApp)", "[home]").
_LABEL = re.compile(
    r"^\s*(?:(?:tel|telephone|phone|ph|mob|mobile|cell|cellphone|whatsapp|wa|work|home|office|"
    r"fax|landline|direct|m|t|w|h|o)\b\.?\s*[:.\-]?\s*)+",
    re.IGNORECASE,
)
_REMARK = re.compile(r"\s*[(\[]\s*[a-z][a-z .\-/]*[)\]]\s*", re.IGNORECASE)
_EXTENSION = re.compile(
    r"\s*(?:,\s*)?(?:(?<![a-z])(?:ext|extn|extension|x)\.?\s*:?|#)\s*(\d{1,6})\s*$", re.IGNORECASE
)
# What Excel shows for a long number in a General cell, and writes into a CSV: 9.84501E+09
SCIENTIFIC = re.compile(r"^\s*[+-]?\d[.,]\d+\s*[eE]\s*\+?\d+\s*$")
_SPLIT_PHONES = re.compile(r"\s*[;/|]\s*")  # and commas, but not in 9,84501E+09
EXCEL_LOST_DIGITS = (
    "“{value}” is a number Excel turned into scientific notation, which lost its last digits; "
    "format the column as Text in Excel before saving the CSV, or upload the .xlsx file itself."
)


def split_phones(text: str) -> list[str]:
    """The numbers of a phone cell as written, without their labels and remarks; an
    extension stays at the end as "ext. 12". A number in scientific notation is kept whole
    (its comma is a decimal comma, not a separator) for the caller to refuse."""
    numbers = []
    for piece in _SPLIT_PHONES.split(text.strip()):
        for part in [piece] if SCIENTIFIC.match(piece) else piece.split(","):
            if SCIENTIFIC.match(part):
                numbers.append(part.strip())
                continue
            part = _LABEL.sub("", _REMARK.sub(" ", part)).strip()
            extension = _EXTENSION.search(part)
            if extension and extension.start() > 0:
                part = f"{part[: extension.start()].strip()} ext. {extension[1]}"
            if part:
                numbers.append(part)
    return numbers


def extension_of(number: str) -> tuple[str, str]:
    """(the number, its extension or "") of a number as split_phones gives it."""
    head, sep, extension = number.rpartition(" ext. ")
    return (head, extension) if sep else (number, "")


# --- numbers ---------------------------------------------------------------------------

_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
_EUROPEAN = re.compile(r"^\s*[+-]?\d{1,3}(?:\.\d{3})*(?:,\d+)?\s*$|^\s*[+-]?\d+(?:,\d+)?\s*$")


def decimal_comma(text: str) -> str:
    """ "12,9716" as "12.9716" (a coordinate never has a thousands separator)."""
    return text.replace(",", ".") if "," in text and _DECIMAL_COMMA.match(text) else text


def european_number(text: str) -> str:
    """ "1.234,5" as "1234.5": in a file separated by semicolons, numbers use decimal commas."""
    if "," in text and _EUROPEAN.match(text):
        return text.replace(".", "").replace(",", ".")
    return text


# --- where a field's value came from ---------------------------------------------------


def sources_of(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """field -> the header of the column that feeds it, or the headers joined with " + " when
    several do (as the report names them)."""
    sources: dict[str, list[str]] = {}
    for header in headers:
        if mapping.get(header):
            sources.setdefault(mapping[header], []).append(header)
    return {field: " + ".join(names) for field, names in sources.items()}


# --- names -----------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _words(name: str) -> list[str]:
    return _WORD.findall(name.casefold())


def names_agree(a: str, b: str) -> bool:
    """Whether two names may be the same person: equal, or every word of one found in the
    other (a one-letter word matches a word with that initial: "Ravi K" and "Ravi Kumar")."""
    first, second = _words(a), _words(b)
    if not first or not second:
        return False
    if first == second:
        return True
    shorter, longer = sorted((first, second), key=len)
    return all(any(_same_word(w, v) for v in longer) for w in shorter)


def _same_word(w: str, v: str) -> bool:
    # an initial is a letter: "Person 1" and "Person 10" are two people
    return (
        w == v
        or (len(w) == 1 and w.isalpha() and v.startswith(w))
        or (len(v) == 1 and v.isalpha() and w.startswith(v))
    )
