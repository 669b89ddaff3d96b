"""What one batch of rows is at each step of the pipeline: checked, found, planned."""

from dataclasses import dataclass, field


@dataclass
class Checked:
    """One batch of records after validation: what the planner needs, nothing from the DB."""

    records: int
    # (row number, cleaned fields, its warnings as (column, value, reason))
    good: list[tuple[int, dict, list[tuple[str, str, str]]]] = field(default_factory=list)
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # refused rows, alike
    emails: set[str] = field(default_factory=set)  # the keys its duplicates are found by
    numbers: set[str] = field(default_factory=set)


@dataclass
class Found:
    """What the database holds for a batch: the prospects its rows may duplicate (by id, as
    dicts of _LOADED plus "phones", their numbers among the batch's), the prospects holding
    each number (several people can share one), and ids for its new rows."""

    rows: dict[int, dict]
    phone_owners: dict[str, list[int]]
    new_ids: list[int]


@dataclass
class Plan:
    """Everything one batch writes, decided and built (the writer only sends it)."""

    records: int  # each one exactly one of created, updated, merged, skipped, refused
    created: int = 0
    updated: int = 0  # existing prospects this run touched for the first time
    merged: int = 0  # rows into a prospect this run had already created or updated
    skipped: int = 0
    refused: int = 0
    warned: int = 0  # rows imported with at least one warning
    # the row report: (row number, level, column, value, reason)
    errors: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    changed_phones: list[tuple[int, str]] = field(default_factory=list)
    # On PostgreSQL: COPY text by table (and for the staging table of the updates), built in
    # the helper thread, so the thread that feeds the database does no per-row work.
    copies: dict[str, str] = field(default_factory=dict)
    # Elsewhere (the ORM's bulk methods): the events and row errors as tuples in
    # COPY_COLUMNS order, the prospects as dicts (their phones and ids follow their insert).
    rows: dict[str, list[tuple]] = field(default_factory=dict)
    new: list[dict] = field(default_factory=list)
    new_phones: list[tuple[dict, str]] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
