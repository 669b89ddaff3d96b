"""Generic PostgreSQL bulk helpers: COPY text, staging-table inserts and updates, queries
with server-side parameters. Nothing here knows about an app."""

import json
from collections.abc import Iterable

import psycopg
from django.db import connection
from django.db.models import Model

# A batch's lookup keys travel as one text parameter that the server splits: an array
# parameter is dumped element by element in Python, on the thread that feeds the database.
# Emails (validated), E.164 numbers and ids never contain a newline.
KEYS = "string_to_array(%s, E'\\n')"


def keys(values: Iterable) -> str:
    return "\n".join(map(str, values))


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ("[]" if value == [] else "{}")


# COPY's text format: tab-separated, \N for NULL, backslash escapes for \\, tab, newline and CR.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Iterable[tuple]) -> str:
    """Rows (tuples) as COPY text. Most lines need no escape, which a few scans of the joined
    line tell: no backslash but those of the NULLs, no newline, a tab only between cells."""
    lines = []
    for row in rows:
        cells = ["\\N" if v is None else v if v.__class__ is str else str(v) for v in row]
        line = "\t".join(cells)
        if (
            line.count("\\") != row.count(None)
            or "\n" in line
            or "\r" in line
            or line.count("\t") != len(cells) - 1
        ):
            line = "\t".join(
                c if v is None else c.translate(_COPY_ESCAPES)
                for c, v in zip(cells, row, strict=True)
            )
        lines.append(line)
    lines.append("")
    return "\n".join(lines)


def copy_text_into(table: str, columns: list[str], text: str) -> None:
    """COPY rows already in COPY text format into a table."""
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
    ):
        copy.write(text)


def insert_from_stage(table: str, columns: list[str], text: str) -> None:
    """Insert rows given as COPY text (PostgreSQL): COPY them into a temporary table, then one
    INSERT ... SELECT. PostgreSQL refuses COPY FROM into a table with row-level security for a
    role subject to it (the import runs as opsx_tenant); temporary tables have none, and the
    INSERT checks every row against the client's policy, so a row with another client's id
    fails the batch instead of landing in that client's data."""
    stage = f"{table}_import_new"
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS"
        cursor.execute(f"{create} SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608
        copy_text_into(stage, columns, text)
        # TRUNCATE, not ON COMMIT DELETE ROWS: inside a longer transaction (tests) the
        # batches would pile up; nor DELETE: nothing vacuums a temporary table.
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage}; TRUNCATE {stage}"  # noqa: S608
        )


def fetch(sql: str, params: list, *, rows: bool = True) -> list[tuple]:
    """Run a statement with server-side parameters on Django's connection (PostgreSQL).
    Django quotes parameters into the SQL text in Python, which costs milliseconds per query
    for the thousands of values of a batch; here a list travels as one (binary, %b) array."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if rows else []


def update_from_stage(model, client: Model, columns: list[str], text: str) -> None:
    """Update many rows of one client (PostgreSQL): COPY their new values (COPY text, id
    first, then `columns`) into a temporary table, then one UPDATE ... FROM it. Django's
    bulk_update builds CASE expressions that are slow at this size."""
    table = model._meta.db_table
    stage = f"{table}_import_stage"
    names = ", ".join(connection.ops.quote_name(c) for c in ["id", *columns])
    sets = ", ".join(
        f"{connection.ops.quote_name(c)} = s.{connection.ops.quote_name(c)}" for c in columns
    )
    with connection.cursor() as cursor:
        create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS"
        cursor.execute(f"{create} SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608
        copy_text_into(stage, ["id", *columns], text)
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM {stage} s"  # noqa: S608 (names from the model)
            f" WHERE {table}.id = s.id AND {table}.client_id = %s",
            [client.pk],
        )
        cursor.execute(f"TRUNCATE {stage}")  # the next call starts empty
