"""Import of prospects from CSV, Excel and vCard files: upload, map columns and values, run in
a Celery job that resumes.

One module per concern, each importing only those before it (tests/prospects/
test_import_layout.py keeps it so): excel (.xlsx rows), vcard (.vcf rows) <- reading (the
file's format, encoding, header row, rows, column statistics) <- mapping (upload, re-read,
fields, the columns' guess); values (the file's status, owner and country values mapped to
ours) and cells (what people write in a cell: placeholders, emails, phones, decimal commas,
names that agree) import none of the package; batches (the data passed along) <- writer (the
columns, ProspectWriter) <- planner (uses cells) <- pipeline (the two-thread Runner; uses
values and cells) <- jobs (start, claim, run, sweeps, delete). ending (a job's audit event and
its file forgotten) is shared by pipeline and jobs; the generic PostgreSQL COPY helpers are in
opsx/bulk.py. The rest of the project uses the names below.
"""

from .jobs import (
    UNSTARTED_KEPT,
    error_report_rows,
    import_choose_columns,
    import_delete,
    import_run,
    import_start,
    imports_forget_sources,
    imports_resume_stale,
)
from .mapping import (
    BASE_FIELDS,
    SourceMissing,
    empty_columns,
    guess_mapping,
    import_fields,
    import_reread,
    import_rows_shown,
    import_source_readable,
    import_upload,
)
from .planner import ImportPlanner
from .reading import DELIMITERS, ENCODINGS, encoding_label
from .values import found_values, value_choices
from .writer import ProspectWriter

__all__ = [
    "BASE_FIELDS",
    "DELIMITERS",
    "ENCODINGS",
    "UNSTARTED_KEPT",
    "ImportPlanner",
    "ProspectWriter",
    "SourceMissing",
    "empty_columns",
    "encoding_label",
    "error_report_rows",
    "found_values",
    "guess_mapping",
    "import_choose_columns",
    "import_delete",
    "import_fields",
    "import_reread",
    "import_rows_shown",
    "import_run",
    "import_source_readable",
    "import_start",
    "import_upload",
    "imports_forget_sources",
    "imports_resume_stale",
    "value_choices",
]
