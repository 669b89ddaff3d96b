"""Reading an import's CSV: the UTF-8 check, the delimiter, the records after the header row."""

import codecs
import csv
import io
from collections.abc import Iterator

from django.core.exceptions import ValidationError

MAX_FIELD_CHARS = 100_000  # a longer cell makes its row an error, not the whole file

csv.field_size_limit(MAX_FIELD_CHARS)


def open_text(fileobj) -> io.TextIOBase:
    fileobj.seek(0)
    return io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="", errors="strict")


def iter_records(fileobj, delimiter: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """(row number, cells or None, error) for every record after the header."""
    text = open_text(fileobj)
    try:
        yield from _records(csv.reader(text, delimiter=delimiter))
    finally:
        if not text.closed:
            text.detach()  # leave the underlying file open for the caller


def _records(reader) -> Iterator[tuple[int, list[str] | None, str]]:
    try:
        next(reader)
    except (StopIteration, csv.Error):
        return
    row_number = 1
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = f"A cell is longer than {MAX_FIELD_CHARS:,} characters."
            yield row_number, None, f"This row could not be read: {reason}"
            continue
        yield row_number, cells, ""


def check_text(fileobj) -> None:
    """UTF-8 text without NUL bytes (binary data), read once in 1 MB chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    fileobj.seek(0)
    offset = 0
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        if (nul := chunk.find(b"\x00")) >= 0:
            raise ValidationError(
                "This is not a CSV file (it contains binary data: a NUL byte at position "
                f"{offset + nul:,})."
            )
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"The file is not UTF-8 text (a byte at position {offset + exc.start:,} cannot be "
                "read). In Excel choose “Save as → CSV UTF-8”, then upload it again."
            ) from None
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ValidationError(
            "The file ends in the middle of a character; it is not UTF-8."
        ) from None


def sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
