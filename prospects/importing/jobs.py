"""An import job's life: started, claimed by a run, resumed, swept, deleted; its error report.

The job reads the stored file as a stream and commits every IMPORT_BATCH_SIZE rows together
with `processed_rows`, so a run that dies is resumed after the last committed row by the
watchdog, and the progress bar moves as batches land. Unusable rows are refused and bad
optional cells left empty; both are listed in ImportRowError with their row number in the file.
"""

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.tenancy import scoped_iterator, tenant_scope

from ..models import ImportJob, ImportRowError
from ..queries import active_owners_by_email
from .ending import audit_end, delete_on_commit, drop_source
from .mapping import MULTI_FIELDS, import_fields
from .pipeline import Lost, Runner
from .values import check_value_mapping, found_values, value_mapping_of

logger = logging.getLogger(__name__)

MAX_RUNS = 3  # a job whose run died this many times is marked failed
STALE_AFTER = timedelta(minutes=2)  # no heartbeat for this long: the run is dead
UNSTARTED_KEPT = timedelta(days=7)  # an upload never started is forgotten after this


def _checked_mapping(job: ImportJob, mapping: dict[str, str]) -> dict[str, str]:
    """The column mapping a person chose, checked against the file and the fields; several
    columns may feed only the fields that join them (MULTI_FIELDS)."""
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError("This import has already started.")
    fields = import_fields(job.client)
    unknown_headers = set(mapping) - set(job.headers)
    if unknown_headers:
        raise ValidationError(f"The file has no column “{sorted(unknown_headers)[0]}”.")
    mapping = {h: f for h, f in mapping.items() if f}
    for target in mapping.values():
        if target not in fields:
            raise ValidationError(f"“{target}” is not a field a column can go to.")
    targets = [f for f in mapping.values() if f not in MULTI_FIELDS]
    twice = {f for f in targets if targets.count(f) > 1}
    if twice:
        field = sorted(twice)[0]
        headers = ", ".join(f"“{h}”" for h, f in mapping.items() if f == field)
        raise ValidationError(
            f"Only one column can go to {fields[field]} (here: {headers}); choose one."
        )
    if "name" not in mapping.values():
        raise ValidationError("Choose the column that holds the prospect's name.")
    return mapping


@transaction.atomic
def import_choose_columns(
    *, job: ImportJob, actor: User, mapping: dict[str, str], on_duplicate: str
) -> ImportJob:
    """Keep the columns' mapping of an upload, then start it unless a status, owner or country
    value of the file needs the values step (import_start is called there). Keeping the
    mapping imports nothing, so only the start is audited."""
    job.mapping = _checked_mapping(job, mapping)
    if on_duplicate not in ImportJob.OnDuplicate.values:
        raise ValidationError("Choose what to do with duplicates.")
    job.on_duplicate = on_duplicate
    job.save(update_fields=["mapping", "on_duplicate"])
    found = found_values(job, active_owners_by_email(job.client))
    if all(value.exact for value in found):
        import_start(
            job=job,
            actor=actor,
            mapping=job.mapping,
            on_duplicate=on_duplicate,
            value_mapping=value_mapping_of(found),
        )
    return job


@transaction.atomic
def import_start(
    *,
    job: ImportJob,
    actor: User,
    mapping: dict[str, str],
    on_duplicate: str,
    value_mapping: dict | None = None,
) -> ImportJob:
    """Validate the mappings and queue the job (the task starts once this commits).
    `value_mapping` maps the status, owner and country values of the file to ours
    ({field: {casefolded value: our value or ""}}; see values.py)."""
    mapping = _checked_mapping(job, mapping)
    if on_duplicate not in ImportJob.OnDuplicate.values:
        raise ValidationError("Choose what to do with duplicates.")
    job.mapping = mapping
    value_mapping = check_value_mapping(
        job, value_mapping or {}, active_owners_by_email(job.client)
    )
    job.value_mapping, job.on_duplicate = value_mapping, on_duplicate
    job.status = ImportJob.Status.QUEUED
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["mapping", "value_mapping", "on_duplicate", "status", "heartbeat_at"])
    transaction.on_commit(lambda: _enqueue(job.pk))
    audit.record(
        actor=actor,
        action=audit.Action.IMPORT_STARTED,
        target=job,
        changes={"on_duplicate": (None, on_duplicate)},
        counts={"rows": job.total_rows},
    )
    return job


def _enqueue(job_id: int) -> None:
    from ..tasks import prospects_import_run

    try:
        prospects_import_run.delay(job_id)
    except Exception:
        logger.warning("Could not enqueue import %s; the watchdog will start it", job_id)


def _claim(job_id: int) -> tuple[ImportJob, uuid.UUID] | None:
    # Unrestricted (the task's connection role): the job is looked up by id before its client
    # is known. Everything after this runs in tenant_scope(job.client).
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update().select_related("client").filter(pk=job_id).first()
        )
        if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            return None
        now = timezone.now()
        alive = (
            job.status == ImportJob.Status.RUNNING
            and job.heartbeat_at
            and now - job.heartbeat_at < STALE_AFTER
        )
        if alive:
            return None  # a live run holds it
        if job.runs >= MAX_RUNS:
            job.status = ImportJob.Status.FAILED
            job.failure_reason = (
                f"The import stopped {job.runs} times and was given up after row "
                f"{job.processed_rows + 1}. Rows before it were imported; see the error report."
            )
            job.finished_at = now
            drop_source(job)
            job.save()
            audit_end(job)
            return None
        token = uuid.uuid4()
        job.run_token, job.runs = token, job.runs + 1
        job.status, job.heartbeat_at = ImportJob.Status.RUNNING, now
        job.started_at = job.started_at or now
        job.save()
        return job, token


def import_run(job_id: int) -> None:
    """Run (or resume) an import job. Safe to call twice: only one run holds the job."""
    claimed = _claim(job_id)
    if claimed is None:
        return
    job, token = claimed
    runner = Runner(job, token)
    try:
        runner.run()
    except Lost:
        logger.info("Import %s was taken over by another run", job_id)
    except Exception as exc:
        logger.exception("Import %s failed", job_id)
        with transaction.atomic(), tenant_scope(job.client_id):
            failed = (
                ImportJob.objects.select_for_update().filter(pk=job_id, run_token=token).first()
            )
            if failed is not None:  # still this run's job
                failed.status, failed.finished_at = ImportJob.Status.FAILED, timezone.now()
                failed.failure_reason = (
                    f"An unexpected error stopped the import after row "
                    f"{runner.job.processed_rows + 1} ({type(exc).__name__}). "
                    "The rows before it were imported."
                )
                drop_source(failed)
                failed.save()
                audit_end(failed)


@transaction.atomic
def import_delete(*, job: ImportJob, acting_user: User) -> None:
    """Delete an import job with its error report, and its stored CSV once that commits. A job
    that is queued or running is refused: its run would go on writing."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        raise ValidationError(
            "This import is still running. Wait until it ends, then delete it.", code="running"
        )
    delete_on_commit(job.source)
    audit.record(
        actor=acting_user,
        action=audit.Action.IMPORT_DELETED,
        target=job,
        counts={"created": job.created_count, "errors": job.error_count},
    )
    job.delete()


def imports_forget_sources() -> int:
    """Periodic: delete the files of jobs that ended without forgetting them (a run killed
    between its end and the deletion) and the jobs uploaded but never started within
    UNSTARTED_KEPT. Returns how many files went."""
    ended = ImportJob.objects.filter(
        status__in=(ImportJob.Status.DONE, ImportJob.Status.FAILED)
    ).exclude(source="")
    unstarted = ImportJob.objects.filter(
        status=ImportJob.Status.UPLOADED, created_at__lt=timezone.now() - UNSTARTED_KEPT
    )
    count = 0
    for job in ended:
        with transaction.atomic():
            drop_source(job)
            job.save(update_fields=["source"])
        count += 1
    for job in unstarted:
        with transaction.atomic():
            delete_on_commit(job.source)
            job.delete()
        count += 1
    return count


def imports_resume_stale() -> int:
    """Periodic: hand jobs whose run died (no heartbeat) to a new run. Returns how many."""
    cutoff = timezone.now() - STALE_AFTER
    stale = ImportJob.objects.filter(
        status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING], heartbeat_at__lt=cutoff
    ).values_list("pk", flat=True)
    ids = list(stale[:50])
    for job_id in ids:
        _enqueue(job_id)
    return len(ids)


REPORT_HEADER = ["row", "level", "column", "value", "reason"]


def error_report_rows(job: ImportJob) -> Iterator[list]:
    """The row report, in file order: each refused row ("refused"), and each warning of an
    imported row ("warning": a cell left empty, or a number another person has too)."""
    yield REPORT_HEADER
    # Streamed after the view returned: its own transaction, restricted to the job's client.
    yield from scoped_iterator(
        job.client_id,
        (
            [row_number, level, column, value, reason]
            for row_number, level, column, value, reason in (
                ImportRowError.objects.for_client(job.client_id)
                .filter(job=job)
                .order_by("row_number", "id")
                .values_list("row_number", "level", "column", "value", "reason")
                .iterator(2000)
            )
        ),
    )
