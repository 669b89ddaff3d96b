"""CSV import of prospects: upload, map columns, run in a Celery job that resumes.

One module per concern, each importing only those before it (tests/prospects/
test_import_layout.py keeps it so): reading (the CSV) <- mapping (upload, fields) ;
batches (the data passed along) <- writer (the columns, ProspectWriter) <- planner <- pipeline
(the two-thread Runner) <- jobs (start, claim, run, sweeps, delete). cells (what people write
in a cell: placeholders, emails, phones, decimal commas, names that agree) imports none of
them and serves planner and pipeline; ending (a job's audit event and its CSV forgotten) is
shared by pipeline and jobs; the generic PostgreSQL COPY helpers are in
opsx/bulk.py. The rest of the project uses the names below.
"""

from .jobs import (
    UNSTARTED_KEPT,
    error_report_rows,
    import_delete,
    import_run,
    import_start,
    imports_forget_sources,
    imports_resume_stale,
)
from .mapping import (
    BASE_FIELDS,
    SourceMissing,
    guess_mapping,
    import_fields,
    import_preview,
    import_source_readable,
    import_upload,
)
from .planner import ImportPlanner
from .writer import ProspectWriter

__all__ = [
    "BASE_FIELDS",
    "UNSTARTED_KEPT",
    "ImportPlanner",
    "ProspectWriter",
    "SourceMissing",
    "error_report_rows",
    "guess_mapping",
    "import_delete",
    "import_fields",
    "import_preview",
    "import_run",
    "import_source_readable",
    "import_start",
    "import_upload",
    "imports_forget_sources",
    "imports_resume_stale",
]
