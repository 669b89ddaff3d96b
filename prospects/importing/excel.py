"""Excel workbooks (.xlsx) as rows of text cells, streamed with openpyxl's read-only mode so a
100,000-row sheet never sits in memory; cells come out as the person sees them in Excel.

Imported by reading only; imports nothing of the package.
"""

import datetime
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError

SAVE_AS_XLSX = (
    "OpsX reads Excel workbooks (.xlsx), CSV and vCard files, not this format: open it and "
    "save it as “Excel Workbook (.xlsx)” or “CSV UTF-8”, then upload it again."
)
OLD_OR_LOCKED = (
    "This is an old Excel workbook (.xls) or a password-protected one, which OpsX cannot read: "
    "open it in Excel, remove the password if it has one, and save it as “Excel Workbook "
    "(.xlsx)” or “CSV UTF-8”, then upload it again."
)
# A workbook is a zip: a small upload can unpack to gigabytes (its shared strings are read
# into memory whole), so a workbook larger than this once unpacked is refused.
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
DAMAGED = (
    "This Excel file cannot be read (it is damaged or not really a workbook): open it in "
    "Excel and save it again as .xlsx, or as “CSV UTF-8”."
)


def check_zip(fileobj, lower_name: str) -> str:
    """A zip file is read as a workbook when it holds xl/workbook.xml; an OpenDocument or
    Numbers file, or any other zip, gets a message saying what to do."""
    try:
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError(DAMAGED) from None
    finally:
        fileobj.seek(0)
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" in names:
        if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
            raise ValidationError(
                "This workbook is larger than 1 GB once unpacked; save it as “CSV UTF-8” or "
                "split it."
            )
        return "xlsx"
    if "mimetype" in names or any(n.startswith("Index/") for n in names):
        raise ValidationError(SAVE_AS_XLSX)  # .ods, .numbers
    if lower_name.endswith(".xlsx"):
        raise ValidationError(DAMAGED)
    raise ValidationError("This is a zip archive, not a table: upload the CSV or .xlsx inside it.")


_held: dict[int, object] = {}  # id(file) -> its workbook, while kept() holds it open


def _rows_let_go(iterparse):
    """openpyxl's streaming sheet reader (xml.etree's iterparse) clears each row it has read
    but leaves it, empty, in the parsed tree: ~80 bytes a row held until the sheet is done
    (8 MB per 100,000 rows, tested). This iterparse also takes each finished row out of its
    parent, so a sheet of any length is read in flat memory; the events are openpyxl's own."""

    def iterparse_letting_rows_go(source, events=None, parser=None):
        from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG

        if events not in (None, ("end",)):  # not the sheet reader's call: as it was
            yield from iterparse(source, events, parser)
            return
        data = None
        for event, element in iterparse(source, ("start", "end"), parser):
            if event == "start":
                if element.tag == DATA_TAG:
                    data = element
                continue
            yield event, element
            if data is not None and element.tag == ROW_TAG:
                data.remove(element)  # the only child left: the rows before it went

    iterparse_letting_rows_go.lets_rows_go = True
    return iterparse_letting_rows_go


def _load(fileobj):
    import openpyxl  # only when a workbook is read: it is slow to import
    import openpyxl.reader.excel
    import openpyxl.worksheet._reader as sheet_reader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    if not getattr(sheet_reader.iterparse, "lets_rows_go", False):
        sheet_reader.iterparse = _rows_let_go(sheet_reader.iterparse)

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self):
            # openpyxl reads a sheet's stored size as it opens the workbook; a sheet without
            # one (some tools write none) is parsed whole for it, seconds per 100,000 rows,
            # each time. The rows are read with reset_dimensions() anyway (rows() below).
            pass

    # openpyxl has no option for it: its reader builds the sheets from this module name.
    openpyxl.reader.excel.ReadOnlyWorksheet = Sheet
    fileobj.seek(0)
    try:
        return openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise ValidationError(DAMAGED) from None
    finally:
        openpyxl.reader.excel.ReadOnlyWorksheet = ReadOnlyWorksheet


@contextmanager
def kept(fileobj):
    """Within the block every read of this file shares one opened workbook: opening one reads
    its shared strings, a second or more for a large sheet (reading.read_layout reads the file
    several times)."""
    workbook = _load(fileobj)
    _held[id(fileobj)] = workbook
    try:
        yield
    finally:
        del _held[id(fileobj)]
        workbook.close()


@contextmanager
def _open(fileobj):
    held = _held.get(id(fileobj))
    if held is not None:
        yield held
        return
    workbook = _load(fileobj)
    try:
        yield workbook
    finally:
        workbook.close()


def sheet_names(fileobj) -> list[str]:
    with _open(fileobj) as workbook:
        return [sheet.title for sheet in workbook.worksheets]  # not the chart sheets


def first_filled_sheet(fileobj, names: list[str]) -> str:
    """The first sheet with a non-blank cell (workbooks often start with an empty sheet)."""
    for name in names:
        for _, cells, _ in rows(fileobj, name):
            if cells and any(c.strip() for c in cells):
                return name
    raise ValidationError("Every sheet of this workbook is empty.")


def rows(fileobj, sheet: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """(Excel row number, cells, "") for every row of the sheet, blank ones included."""
    with _open(fileobj) as workbook:
        try:
            worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
            # The stored dimensions may be wrong (some tools write A1): read what is there.
            worksheet.reset_dimensions()
            for number, row in enumerate(worksheet.iter_rows(min_row=1), 1):
                yield number, [cell_text(c.value, getattr(c, "number_format", "")) for c in row], ""
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
            raise ValidationError(DAMAGED) from exc


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*(?<!/)>")  # a row with cells, not <row .../>


def count_rows(fileobj, sheet: str) -> int:
    """The rows of a sheet that hold cells, counted in its XML without reading them (openpyxl
    takes seconds per 10,000 rows; this reads the unpacked XML at a few hundred MB/s)."""
    with _open(fileobj) as workbook:
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        path = worksheet._worksheet_path  # openpyxl keeps no public name for the sheet's part
    fileobj.seek(0)
    count, tail = 0, b""
    try:
        with zipfile.ZipFile(fileobj) as archive, archive.open(path) as xml:
            for chunk in iter(lambda: xml.read(1024 * 1024), b""):
                text = tail + chunk
                cut = text.rfind(b"<")  # a tag cut by the chunk's end is counted next time
                count += len(_ROW_TAG.findall(text, 0, cut))
                tail = text[cut:]
        count += len(_ROW_TAG.findall(tail))
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(DAMAGED) from exc
    return count


def cell_text(value, number_format: str | None) -> str:
    """A cell as Excel shows it: a phone stored as a number is 9845012345 (not 9.8E+09 nor
    9845012345.0), dates are ISO, booleans yes/no, percentages 12%."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            return f"{number(value * 100)}%"
        return number(value)
    return str(value)


def number(value: int | float) -> str:
    """Without float noise (15 significant digits, as Excel shows) and never in E notation for
    whole numbers such as phone numbers."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = f"{value:.15g}"
    if "e" in text:  # a tiny or huge fraction: plain digits
        text = f"{value:.15f}".rstrip("0").rstrip(".")
    return text
