"""Reading an import's file, whatever it is: its format (CSV or text, .xlsx, .vcf), a CSV's
encoding and delimiter, the row that names the columns, the column names, and the data rows.

Imports excel and vcard (each turns its format into rows of text cells); mapping and pipeline
import this module. Every reader numbers rows as the person sees them in the file and never
yields a blank row, so a job's processed_rows counts rows read and a resumed run skips exactly
those.
"""

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from charset_normalizer import from_bytes
from django.core.exceptions import ValidationError

from .excel import (
    OLD_OR_LOCKED,
    SAVE_AS_XLSX,
    check_zip,
    count_rows,
    first_filled_sheet,
    kept,
    sheet_names,
)
from .excel import rows as excel_rows
from .vcard import HEADERS as VCARD_HEADERS
from .vcard import count_cards, looks_like_vcard
from .vcard import rows as vcard_rows

MAX_FIELD_CHARS = 100_000  # a longer cell makes its row an error, not the whole file
SAMPLE_BYTES = 64 * 1024  # what the encoding, the delimiter and the header row are guessed from
HEADER_SEARCH_ROWS = 30  # the header is looked for among the file's first rows
STATS_VALUES = 50  # distinct values kept per column for the mapping pages
STATS_COUNTED = 1000  # distinct values counted per column before new ones are only noted
STATS_VALUE_CHARS = 100
# A workbook or an address book is read this far at upload for the column statistics (a
# second or two); its other rows are counted without being read. A CSV is read whole (fast).
SURVEY_ROWS = 10_000
MAX_COLUMNS = 200

csv.field_size_limit(MAX_FIELD_CHARS)

# The encodings offered on the mapping page (Python codec names, as codecs.lookup spells them).
ENCODINGS = {
    "utf-8": "Unicode (UTF-8)",
    "utf-16": "Unicode (UTF-16, Excel “Unicode Text”)",
    "cp1252": "Western European (Windows-1252)",
    "iso8859-1": "Western European (ISO-8859-1, Latin-1)",
    "iso8859-15": "Western European (ISO-8859-15)",
    "mac-roman": "Western European (Mac OS Roman)",
    "cp850": "Western European (DOS 850)",
    "cp1250": "Central European (Windows-1250)",
    "iso8859-2": "Central European (ISO-8859-2)",
    "cp1251": "Cyrillic (Windows-1251)",
    "koi8-r": "Cyrillic (KOI8-R)",
    "cp1253": "Greek (Windows-1253)",
    "cp1254": "Turkish (Windows-1254)",
    "cp1255": "Hebrew (Windows-1255)",
    "cp1256": "Arabic (Windows-1256)",
    "cp874": "Thai (Windows-874)",
    "shift_jis": "Japanese (Shift JIS)",
    "gb18030": "Chinese Simplified (GB18030)",
    "big5": "Chinese Traditional (Big5)",
    "euc_kr": "Korean (EUC-KR)",
}
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_BOMS = [  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
# Excel saves "CSV" in the Windows code page of its language: when several code pages read the
# sample as the same text, the detector names any of them; Windows-1252 is the usual one.
_WESTERN_FIRST = "cp1252"
_SAVE_AS_UTF8 = "In Excel choose “Save as → CSV UTF-8”, then upload it again."


def encoding_label(encoding: str) -> str:
    return ENCODINGS.get(encoding, encoding)


def canonical_encoding(name: str) -> str:
    """The codec's own name ("latin_1" -> "iso8859-1"); ValidationError for an unknown one."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValidationError(f"“{name}” is not an encoding OpsX knows.") from None


def _codec(encoding: str) -> str:
    # A UTF-8 file may or may not start with a byte order mark; never keep it as text.
    return "utf-8-sig" if encoding == "utf-8" else encoding


# --- format ------------------------------------------------------------------------------


def detect_format(fileobj, name: str) -> str:
    """ "xlsx", "vcf" or "csv", from the content first (a renamed file is still read right);
    ValidationError for the formats people try that are not read (.xls, .ods, .numbers,
    password-protected workbooks, PDF)."""
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    lower = (name or "").lower()
    if head.startswith(b"PK\x03\x04"):
        return check_zip(fileobj, lower)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # an OLE2 compound file
        raise ValidationError(OLD_OR_LOCKED)
    if head.startswith(b"%PDF"):
        raise ValidationError("This is a PDF, not a table: export the data as CSV or .xlsx.")
    if lower.endswith((".xls", ".xlsb", ".ods", ".numbers")):
        raise ValidationError(SAVE_AS_XLSX)
    if looks_like_vcard(fileobj, lower):
        return "vcf"
    return "csv"


# --- encoding -----------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text file from its first bytes: a byte order mark, else UTF-8 if the
    sample is valid UTF-8, else UTF-16 without a mark (every other byte NUL), else what
    charset-normalizer finds most likely (Windows-1252 among equals)."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # a cut last char is fine
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    if len(sample) >= 4 and b"\x00" in sample:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
        return "utf-8"  # binary data: the check that follows says so, with its position
    matches = list(from_bytes(sample))
    if not matches:
        return _WESTERN_FIRST
    least_chaos = min(m.chaos for m in matches)
    likely = [m for m in matches if m.chaos <= least_chaos + 0.01]
    most_coherent = max(m.coherence for m in likely)
    likely = [m for m in likely if m.coherence >= most_coherent - 0.1]
    # could_be_from_charset: the code pages that decode the sample to the very same text
    for match in likely:
        if _WESTERN_FIRST in map(
            canonical_encoding, [match.encoding, *match.could_be_from_charset]
        ):
            return _WESTERN_FIRST
    return canonical_encoding(likely[0].encoding)


def check_text(fileobj, encoding: str, *, chosen: bool) -> None:
    """The whole file reads as text in `encoding`, in 1 MB chunks: no NUL (binary data), no
    byte the encoding cannot read. `chosen`: the person picked the encoding (the message
    tells them to pick another) rather than OpsX detecting it."""
    wide = encoding.startswith(("utf-16", "utf-32"))
    decoder = codecs.getincrementaldecoder(_codec(encoding))()
    fileobj.seek(0)
    offset = chars = 0
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        if not wide and (nul := chunk.find(b"\x00")) >= 0:
            raise ValidationError(
                "This is not a CSV file (it contains binary data: a NUL byte at position "
                f"{offset + nul:,})."
            )
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the bytes the decoder held back from the chunk before, then this one
            position = offset - (len(exc.object) - len(chunk)) + exc.start
            message = _undecodable(encoding, position, exc.object[exc.start], chosen)
            raise ValidationError(message) from None
        if wide and (nul := text.find("\x00")) >= 0:
            raise ValidationError(
                "This is not a CSV file (it contains binary data: a NUL character at character "
                f"{chars + nul:,})."
            )
        offset, chars = offset + len(chunk), chars + len(text)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ValidationError(
            f"The file ends in the middle of a character; it is not {encoding_label(encoding)}."
        ) from None


def _undecodable(encoding: str, position: int, byte: int, chosen: bool) -> str:
    text = (
        f"The byte at position {position:,} (0x{byte:02X}) cannot be read as "
        f"{encoding_label(encoding)}"
    )
    if chosen:
        return f"{text}: the file is in another encoding. Choose another one."
    return f"{text}, and OpsX could not tell the file's encoding. {_SAVE_AS_UTF8}"


def settle_encoding(fileobj) -> str:
    """The detected encoding, checked on the whole file. When the start of the file reads but a
    later byte does not (an ASCII start, accents further down), the encoding is detected again
    from the bytes around that one; ValidationError if that fails too."""
    fileobj.seek(0)
    encoding = detect_encoding(fileobj.read(SAMPLE_BYTES))
    try:
        check_text(fileobj, encoding, chosen=False)
    except ValidationError as first:
        position = _failed_position(fileobj, encoding)
        if position is None:
            raise
        fileobj.seek(max(0, position - 1024))
        retry = detect_encoding(fileobj.read(SAMPLE_BYTES))
        if retry == encoding:
            raise first from None
        check_text(fileobj, retry, chosen=False)
        encoding = retry
    return encoding


def _failed_position(fileobj, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(_codec(encoding))()
    fileobj.seek(0)
    offset = 0
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            return offset + exc.start
        offset += len(chunk)
    return None


def open_text(fileobj, encoding: str) -> io.TextIOWrapper:
    fileobj.seek(0)
    return io.TextIOWrapper(fileobj, encoding=_codec(encoding), newline="", errors="strict")


# --- CSV records ---------------------------------------------------------------------------


def _csv_records(fileobj, encoding: str, delimiter: str) -> Iterator[tuple[int, list | None, str]]:
    """(record number from 1, cells or None, error) for every record of the file, blank ones
    included. newline="" lets the csv module see CR, LF and CRLF line ends alike (old Mac
    files end lines with CR only)."""
    text = open_text(fileobj, encoding)
    reader = csv.reader(text, delimiter=delimiter)
    number = 0
    try:
        while True:
            try:
                for cells in reader:  # the loop is entered again after a bad record
                    number += 1
                    yield number, cells, ""
                return
            except csv.Error as exc:
                number += 1
                reason = str(exc)
                if "field larger than field limit" in reason:
                    reason = f"A cell is longer than {MAX_FIELD_CHARS:,} characters."
                yield number, None, f"This row could not be read: {reason}"
    finally:
        if not text.closed:
            text.detach()  # leave the underlying file open for the caller


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits most of the sample's first records into the same number of
    cells (more than one); title lines and notes above the header do not spoil it."""
    best, best_score = ",", 0
    for delimiter in DELIMITERS:
        try:
            widths = [
                len(r)
                for r in islice(
                    csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), 200
                )
            ]
        except csv.Error:
            continue
        common = Counter(w for w in widths if w > 1).most_common(1)
        if common and common[0][1] > best_score:
            best, best_score = delimiter, common[0][1]
    return best


def _sample_text(fileobj, encoding: str) -> str:
    fileobj.seek(0)
    raw = fileobj.read(SAMPLE_BYTES)
    text = codecs.getincrementaldecoder(_codec(encoding))(errors="replace").decode(raw)
    if len(raw) == SAMPLE_BYTES:  # cut at the last line end: no half record
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut > 0 else text
    return text


# --- every format -------------------------------------------------------------------------


def raw_rows(job, fileobj) -> Iterator[tuple[int, list[str] | None, str]]:
    """Every row of the file (or of the job's sheet) from the first, blank ones included."""
    if job.format == "xlsx":
        return excel_rows(fileobj, job.sheet)
    if job.format == "vcf":
        return vcard_rows(fileobj, job.encoding)
    return _csv_records(fileobj, job.encoding, job.delimiter)


@contextmanager
def kept_workbook(fileobj, file_format: str):
    """Within the block, the reads of a workbook share one opening of it (excel.kept); any
    other format is read as it is."""
    if file_format == "xlsx":
        with kept(fileobj):
            yield
    else:
        yield


def _blank(cells: list[str]) -> bool:
    return not "".join(cells).strip()


def open_records(job, fileobj) -> Iterator[tuple[int, list[str] | None, str]]:
    """(row number, cells or None, error) for the data rows after job.header_row, never a
    blank one; trailing blank cells beyond the header are dropped (Excel writes them). Runs
    once per row of every import: kept to a few C-level calls per row."""
    width = len(job.headers)
    records = raw_rows(job, fileobj)
    if job.header_row:
        for number, _, _ in records:
            if number >= job.header_row:
                break
    for record in records:
        cells = record[1]
        if cells is not None:
            if not "".join(cells).strip():
                continue
            if len(cells) > width and not "".join(cells[width:]).strip():
                record = (record[0], cells[:width], record[2])
        yield record


def first_rows(job, fileobj, count: int) -> list[tuple[int, list[str]]]:
    """The file's first `count` rows with their numbers, as they are (for picking the header)."""
    return [
        (n, cells if cells is not None else [error])
        for n, cells, error in islice(raw_rows(job, fileobj), count)
    ]


def detect_header_row(rows: Iterable[tuple[int, list[str] | None, str]]) -> int:
    """The first row with two filled cells or more (the first non-blank row if none has): the
    lines above a header, a report's title or LinkedIn's "Notes:", fill one cell each. A data
    row wider than the header does not move it (that row is refused, as before). 0: no row."""
    candidates = [
        (n, sum(1 for c in cells if c.strip()))
        for n, cells, _ in islice(rows, HEADER_SEARCH_ROWS)
        if cells is not None and not _blank(cells)
    ]
    if not candidates:
        return 0
    needed = min(2, max(filled for _, filled in candidates))
    return next(n for n, filled in candidates if filled >= needed)


def header_names(cells: list[str]) -> list[str]:
    """Unique display names: spaces collapsed, a blank one "Column N", a repeated one
    "Phone (2)"; trailing blank cells beyond the last named column are not columns."""
    names = [" ".join(c.split()) for c in cells]
    while names and not names[-1]:
        names.pop()
    seen: set[str] = set()
    unique = []
    for index, name in enumerate(names, 1):
        base = name or f"Column {index}"
        candidate, k = base, 1
        while candidate.casefold() in seen:
            k += 1
            candidate = f"{base} ({k})"
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


def survey(
    records: Iterable[tuple[int, list[str] | None, str]], headers: list[str]
) -> tuple[int, dict]:
    """(data rows, column statistics) in one pass with bounded memory: per column the rows
    with a value and the most frequent values (at most STATS_COUNTED distinct ones counted)."""
    width = len(headers)
    filled = [0] * width
    counters: list[Counter] = [Counter() for _ in range(width)]
    more = [False] * width
    total = 0
    for _, cells, _ in records:
        total += 1
        if cells is None:
            continue
        for index, cell in enumerate(cells[:width]):
            value = cell.strip()
            if not value:
                continue
            filled[index] += 1
            value = value[:STATS_VALUE_CHARS]
            counter = counters[index]
            if value in counter or len(counter) < STATS_COUNTED:
                counter[value] += 1
            else:
                more[index] = True
    stats = {}
    for index, header in enumerate(headers):
        counter = counters[index]
        stats[header] = {
            "filled": filled[index],
            "values": [[v, n] for v, n in counter.most_common(STATS_VALUES)],
            "more": more[index] or len(counter) > STATS_VALUES,
        }
    return total, stats


def read_layout(job, fileobj, *, encoding=None, header_row=None, sheet=None) -> None:
    """Set how the job's file is read and what it holds: encoding and delimiter (CSV), the
    sheets and the sheet read (.xlsx), header_row (detected unless given), headers,
    total_rows and column_stats. ValidationError with the reason when it cannot be read."""
    with kept_workbook(fileobj, job.format):  # the steps below read it several times
        _read_layout(job, fileobj, encoding, header_row, sheet)


def _read_layout(job, fileobj, encoding, header_row, sheet) -> None:
    if job.format == "xlsx":
        job.sheets = sheet_names(fileobj)
        if sheet and sheet not in job.sheets:
            raise ValidationError(f"The workbook has no sheet “{sheet}”.")
        job.sheet = sheet or first_filled_sheet(fileobj, job.sheets)
    elif encoding:
        job.encoding = canonical_encoding(encoding)
        check_text(fileobj, job.encoding, chosen=True)
    else:
        job.encoding = settle_encoding(fileobj)
    if job.format == "csv":
        job.delimiter = sniff_delimiter(_sample_text(fileobj, job.encoding))
    if job.format == "vcf":
        job.header_row, job.headers = 0, list(VCARD_HEADERS)
    else:
        _read_header(job, fileobj, header_row)
    records = open_records(job, fileobj)
    sample = records if job.format == "csv" else islice(records, SURVEY_ROWS)
    job.surveyed_rows, job.column_stats = survey(sample, job.headers)
    job.total_rows = job.surveyed_rows
    if job.format != "csv" and next(records, None) is not None:
        job.total_rows = max(_count_all(job, fileobj), SURVEY_ROWS + 1)
    if job.total_rows == 0:
        raise ValidationError(
            "The file has no contacts."
            if job.format == "vcf"
            else f"The file has a header row (row {job.header_row}) but no data rows below it."
        )


def _count_all(job, fileobj) -> int:
    """The data rows of a workbook or address book too large to read at upload, counted (a
    row of only empty cells counts here; the import reads and skips it)."""
    if job.format == "vcf":
        return count_cards(fileobj, job.encoding)
    above = sum(1 for _, cells in first_rows(job, fileobj, job.header_row) if not _blank(cells))
    return count_rows(fileobj, job.sheet) - above


def _read_header(job, fileobj, header_row: int | None) -> None:
    if header_row is None:
        header_row = detect_header_row(raw_rows(job, fileobj))
        if header_row == 0:
            raise ValidationError("The file has no row naming the columns (Name, Email, Phone, …).")
    cells = next((c for n, c, _ in raw_rows(job, fileobj) if n == header_row), None)
    if cells is None:
        raise ValidationError(f"Row {header_row} of the file cannot be read as column names.")
    headers = header_names(cells)
    if not headers:
        raise ValidationError(f"Row {header_row} is empty; choose the row that names the columns.")
    if len(headers) > MAX_COLUMNS:
        raise ValidationError(
            f"The file has {len(headers)} columns; at most {MAX_COLUMNS} are read."
        )
    job.header_row, job.headers = header_row, headers
