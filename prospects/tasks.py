from celery import shared_task

from . import files, importing, tombstones


@shared_task(acks_late=True)
def prospects_import_run(job_id: int) -> None:
    """Run or resume one CSV import (idempotent: a live run keeps the job)."""
    importing.import_run(job_id)


@shared_task
def prospects_import_watchdog() -> int:
    """Resume imports whose run died (worker killed or restarted)."""
    return importing.imports_resume_stale()


@shared_task
def prospects_files_sweep() -> int:
    """Delete the CSV files of ended or abandoned imports, then stored bytes that no record
    names (left by a rolled-back upload)."""
    return importing.imports_forget_sources() + files.files_sweep_orphans()


@shared_task
def prospects_tombstones_expire() -> int:
    """Delete the sync tombstones past PROSPECTS_TOMBSTONE_DAYS (and a day), in batches."""
    return tombstones.tombstones_expire()
