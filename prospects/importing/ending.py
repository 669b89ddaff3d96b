"""What ends a job, whichever way it ends: its audit event, its CSV forgotten."""

from django.db import transaction

from clients import audit

from ..models import ImportJob


def audit_end(job: ImportJob) -> None:
    """One event for the whole job, with its counts (never one per row). The system ends it:
    the person who started it is on the import.started event and the job."""
    done = job.status == ImportJob.Status.DONE
    audit.record(
        actor=None,
        action=audit.Action.IMPORT_FINISHED if done else audit.Action.IMPORT_FAILED,
        target=job,
        changes={"status": (None, job.status)},
        counts={
            "rows": job.processed_rows,
            "created": job.created_count,
            "updated": job.updated_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
            "warned": job.warned_count,
        },
    )


def drop_source(job: ImportJob) -> None:
    """An ended job's CSV is not needed any more (its rows are prospects or listed errors, and it
    cannot be run again): the record forgets it now and the bytes go once that commits."""
    if job.source.name:
        delete_on_commit(job.source)
        job.source = ""


def delete_on_commit(source) -> None:
    name, storage = source.name, source.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))
