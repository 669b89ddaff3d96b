"""The steps of an import as a person takes them through the pages, shared by the import tests:
upload a file, post the column mapping, post the values step."""

import io

from django.urls import reverse

from prospects.models import ImportJob


def upload(client, content: str | bytes, name: str = "contacts.csv") -> ImportJob:
    """Upload `content` through the page; the job it made (the upload must be accepted)."""
    f = io.BytesIO(content.encode() if isinstance(content, str) else content)
    f.name = name
    response = client.post(reverse("prospects:import_new"), {"file": f})
    assert response.status_code == 302, response.content.decode()[:3000]
    return ImportJob.objects.latest("created_at")


def columns_form(job: ImportJob, mapping: dict | None = None, on_duplicate="update") -> dict:
    """The mapping page's form: each column to `mapping`'s field (the job's guess if None)."""
    form = {"on_duplicate": on_duplicate}
    for i, header in enumerate(job.headers):
        form[f"col_{i}"] = (job.mapping if mapping is None else mapping).get(header, "")
    return form


def values_form(response) -> dict:
    """The values page's selects as posted unchanged: name -> the preselected value."""
    form = response.context["form"]
    return {name: form[name].value() or "" for _, name in form.rows}


def map_columns(client, job: ImportJob, mapping=None, on_duplicate="update"):
    """Post the mapping page; the response must be a redirect (to the values step or the job)."""
    response = client.post(
        reverse("prospects:import_map", args=[job.public_id]),
        columns_form(job, mapping, on_duplicate),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return response
