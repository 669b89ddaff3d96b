"""One of each kind of Client Data object of a client, for tests that visit every URL."""

from django.core.files.uploadedfile import SimpleUploadedFile

from prospects import files, importing, services
from prospects.models import Checklist, CustomField
from tests.factories import ProspectFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CUSTOM_FIELDS = [
    ("region", "text", []),
    ("visits", "number", []),
    ("since", "date", []),
    ("vip", "boolean", []),
    ("tier", "choice", ["gold", "silver"]),
]


def client_objects(client, actor, *, label: str) -> dict:
    """A prospect ("<label>'s prospect") with a visit on a checklist, a folder ("<label> folder")
    holding a file, an import waiting for its mapping, and a custom field of each kind."""
    for key, kind, choices in CUSTOM_FIELDS:
        CustomField.objects.create(client=client, key=key, label=key, kind=kind, choices=choices)
    prospect = ProspectFactory(client=client, name=f"{label}'s prospect")
    checklist = Checklist.objects.create(
        client=client,
        name=f"{label} list",
        items=[
            {"key": "done", "label": "Done", "kind": "check"},
            {"key": "count", "label": "Count", "kind": "number"},
            {"key": "shelf", "label": "Shelf", "kind": "photo", "required": True},
        ],
    )
    visit = services.visit_plan(
        prospect=prospect, actor=actor, user=actor, scheduled_at=None, checklist=checklist
    )
    folder = files.folder_create(client=client, actor=actor, name=f"{label} folder", parent=None)
    stored = files.file_store(
        client=client, actor=actor, upload=SimpleUploadedFile(f"{label}.png", PNG), folder=folder
    )
    upload = SimpleUploadedFile(f"{label}.csv", b"Name,Phone\nA person,98765 43210\n")
    job = importing.import_upload(client=client, actor=actor, upload=upload)
    return {
        "prospect": prospect,
        "visit": visit,
        "folder": folder,
        "file": stored,
        "checklist": checklist,
        "job": job,
        "key": "region",
    }
