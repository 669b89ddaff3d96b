import uuid
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User

from . import importing
from .models import Checklist, CustomField, ImportJob, Prospect, Visit
from .validation import clean_coordinate

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form, by field where the form has it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def custom_form_field(definition: CustomField) -> forms.Field:
    common = {"label": definition.label, "required": False}
    if definition.kind == CustomField.Kind.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—")] + [(c, c) for c in definition.choices], **common
        )
    if definition.kind == CustomField.Kind.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("yes", "Yes"), ("no", "No")], **common)
    if definition.kind == CustomField.Kind.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if definition.kind == CustomField.Kind.NUMBER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    return forms.CharField(max_length=1000, **common)


class ProspectForm(forms.Form):
    """Collects text; services.clean_prospect validates it like an import row."""

    name = forms.CharField(max_length=200)
    organisation = forms.CharField(max_length=200, required=False)
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput)
    phones = forms.CharField(
        label="Phone numbers",
        required=False,
        max_length=300,
        help_text="Separate several with “;”.",
    )
    status = forms.ChoiceField(choices=Prospect.Status.choices, initial=Prospect.Status.NEW)
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody"
    )
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.CharField(
        max_length=2, required=False, help_text="Two letters, e.g. IN, GB, US."
    )
    latitude = forms.CharField(max_length=20, required=False)
    longitude = forms.CharField(max_length=20, required=False)
    source = forms.CharField(max_length=100, required=False)
    tags = forms.CharField(max_length=500, required=False, help_text="Separate with commas.")
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=10_000
    )

    def __init__(self, *args, client, definitions: list[CustomField], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.for_client(client).active()
        self.custom_keys = []
        for definition in definitions:
            key = f"custom.{definition.key}"
            self.fields[key] = custom_form_field(definition)
            self.custom_keys.append(key)

    @classmethod
    def initial_for(cls, prospect: Prospect) -> dict:
        initial = {
            f: getattr(prospect, f) for f in cls.base_fields if f not in ("phones", "tags", "owner")
        }
        initial["owner"] = prospect.owner_id
        initial["phones"] = "; ".join(p.number for p in prospect.phones.all())
        initial["tags"] = ", ".join(prospect.tags)
        for key, value in prospect.custom.items():
            initial[f"custom.{key}"] = (
                {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
            )
        return initial

    def raw(self) -> dict:
        return dict(self.cleaned_data)


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Add a note", widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000
    )


class VisitPlanForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Who visits")
    scheduled_at = forms.DateTimeField(label="When", widget=DATETIME_WIDGET, required=False)
    checklist = forms.ModelChoiceField(
        queryset=Checklist.objects.none(), required=False, empty_label="No checklist"
    )

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.for_client(client).active()
        self.fields["checklist"].queryset = Checklist.objects.for_client(client).filter(
            is_active=True
        )


class CoordinateField(forms.CharField):
    """A latitude or longitude read by validation.clean_coordinate (as the prospect form and
    the import read them), not by Decimal() as forms.DecimalField does."""

    def __init__(self, *, limit: int, what: str, **kwargs):
        self.limit, self.what = limit, what
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> Decimal | None:
        return clean_coordinate(super().to_python(value), limit=self.limit, what=self.what)


class PositionForm(forms.Form):
    latitude = CoordinateField(limit=90, what="latitude")
    longitude = CoordinateField(limit=180, what="longitude")


class VisitReportForm(PositionForm):
    outcome = forms.ChoiceField(choices=Visit.Outcome.choices, required=False)
    report = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=20_000
    )

    def __init__(self, *args, visit: Visit, files: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_keys = []
        photos = [(str(f.public_id), f.name) for f in files if f.content_type.startswith("image/")]
        for item in visit.checklist.items if visit.checklist else []:
            key = f"answer.{item['key']}"
            label = item["label"] + (" *" if item.get("required") else "")
            if item["kind"] == Checklist.ItemKind.CHECK:
                field = forms.BooleanField(label=label, required=False)
            elif item["kind"] == Checklist.ItemKind.PHOTO:
                field = forms.ChoiceField(
                    label=label, required=False,
                    choices=[("", "— attach a photo below, then choose it —"), *photos],
                )  # fmt: skip
            else:
                field = forms.CharField(label=label, required=False, max_length=2000)
            self.fields[key] = field
            self.item_keys.append(key)

    def answers(self) -> dict:
        return {k.removeprefix("answer."): self.cleaned_data.get(k) for k in self.item_keys}


class UploadForm(forms.Form):
    file = forms.FileField()


class FolderForm(forms.Form):
    name = forms.CharField(max_length=120, label="New folder")


class PublicIdsField(forms.Field):
    """The public ids of the rows ticked in a list (checkboxes sharing one name), de-duplicated."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select prospects from the list first.",
        "invalid": "Select prospects from the list; a selection was not a prospect's id.",
        "too_many": "Select at most %(limit)s prospects at a time.",
    }

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def to_python(self, value) -> list[uuid.UUID]:
        if not value:
            return []
        values = [value] if isinstance(value, str) else value
        try:
            ids = list(dict.fromkeys(uuid.UUID(str(v)) for v in values))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if len(ids) > self.limit:
            raise ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": self.limit}
            )
        return ids


class BulkForm(forms.Form):
    """Assign an owner to, or set the status of, the prospects ticked in the list (admins)."""

    action = forms.ChoiceField(choices=[("assign", "Assign to"), ("status", "Set status")])
    owner = forms.ChoiceField(
        required=False, widget=forms.Select(attrs={"aria-label": "Assign to"})
    )
    status = forms.ChoiceField(
        choices=[("", "—"), *Prospect.Status.choices],
        required=False,
        widget=forms.Select(attrs={"aria-label": "New status"}),
    )
    selected = PublicIdsField(limit=500)  # a page shows 25; Django refuses over 1,000 fields

    def __init__(self, *args, users: list[User], **kwargs):
        """`users`: the client's active users, already loaded (the list shows them twice)."""
        super().__init__(*args, **kwargs)
        self.users = {str(u.public_id): u for u in users}
        self.fields["owner"].choices = [("", "Nobody")] + [
            (key, str(u)) for key, u in self.users.items()
        ]

    def clean_owner(self) -> User | None:
        return self.users.get(self.cleaned_data["owner"])


class CustomFieldForm(forms.Form):
    label = forms.CharField(max_length=80)
    key = forms.SlugField(
        max_length=40, help_text="Letters, digits, - and _; used as the CSV column custom.<key>."
    )
    kind = forms.ChoiceField(choices=CustomField.Kind.choices)
    choices = forms.CharField(
        required=False,
        max_length=2000,
        help_text="For a choice field: options separated by commas.",
    )
    required = forms.BooleanField(required=False)

    def clean_key(self):
        return self.cleaned_data["key"].lower()

    def clean_choices(self):
        parts = [" ".join(c.split()) for c in self.cleaned_data["choices"].split(",")]
        return [c for c in dict.fromkeys(parts) if c]


class ChecklistForm(forms.Form):
    name = forms.CharField(max_length=120)
    items = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One item per line: label | kind (check, number, text, photo) | required (optional). "
        "Example: Shelf photo | photo | required",
    )

    def clean_items(self):
        from django.utils.text import slugify

        items = []
        kinds = set(Checklist.ItemKind.values)
        for n, line in enumerate(self.cleaned_data["items"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            label = parts[0][:120]
            kind = (parts[1] if len(parts) > 1 and parts[1] else "check").lower()
            if not label:
                raise ValidationError(f"Line {n} has no label.")
            if kind not in kinds:
                raise ValidationError(
                    f"Line {n}: “{kind}” is not one of check, number, text, photo."
                )
            required = len(parts) > 2 and parts[2].lower() in ("required", "yes", "y", "true")
            items.append(
                {
                    "key": slugify(label)[:40] or f"item-{n}",
                    "label": label,
                    "kind": kind,
                    "required": required,
                }
            )
        if len(items) > 50:
            raise ValidationError("A checklist can have at most 50 items.")
        return items

    @staticmethod
    def items_text(checklist: Checklist) -> str:
        return "\n".join(
            f"{i['label']} | {i['kind']}" + (" | required" if i.get("required") else "")
            for i in checklist.items
        )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text=(
            "A CSV or text file in any encoding, an Excel workbook (.xlsx) or a vCard address "
            "book (.vcf), with a row naming the columns (vCards need none)."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.txt,.tsv,.tab,.xlsx,.vcf,text/csv,text/plain,text/vcard"}
        ),
    )


class ImportReadForm(forms.Form):
    """How to read the uploaded file again: its encoding (text files), the row naming the
    columns (posted by the row's own button; absent: detect it again), the sheet (.xlsx)."""

    encoding = forms.ChoiceField(label="Encoding", required=False)
    header_row = forms.IntegerField(min_value=1, max_value=1_000_000, required=False)
    sheet = forms.ChoiceField(label="Sheet", required=False)

    def __init__(self, *args, job: ImportJob, **kwargs):
        super().__init__(*args, **kwargs)
        encodings = dict(importing.ENCODINGS)
        encodings.setdefault(job.encoding, importing.encoding_label(job.encoding))
        self.fields["encoding"].choices = list(encodings.items())
        self.fields["encoding"].initial = job.encoding
        self.fields["sheet"].choices = [(name, name) for name in job.sheets]
        self.fields["sheet"].initial = job.sheet
        if job.format == ImportJob.Format.XLSX:
            del self.fields["encoding"]
        else:
            del self.fields["sheet"]
        if job.format == ImportJob.Format.VCF:
            del self.fields["header_row"]


class ImportMappingForm(forms.Form):
    on_duplicate = forms.ChoiceField(
        choices=ImportJob.OnDuplicate.choices,
        initial=ImportJob.OnDuplicate.UPDATE,
        widget=forms.RadioSelect,
        label="When a row has the email or phone number of an existing prospect",
    )

    def __init__(self, *args, job: ImportJob, fields: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on_duplicate"].initial = job.on_duplicate
        choices = [("", "— ignore this column —"), *fields.items()]
        self.column_fields = []
        for index, header in enumerate(job.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(choices=choices, required=False, label=header)
            self.fields[name].initial = job.mapping.get(header, "")
            self.column_fields.append(name)

    def mapping(self, job: ImportJob) -> dict[str, str]:
        return {job.headers[i]: self.cleaned_data[f"col_{i}"] for i in range(len(job.headers))}


class ImportValuesForm(forms.Form):
    """One select per distinct status, owner or country value of the file: which of ours it
    means, or "leave empty"."""

    def __init__(self, *args, found: list, choices: dict[str, list], **kwargs):
        super().__init__(*args, **kwargs)
        self.found = found
        self.rows = []
        for index, value in enumerate(found):
            name = f"value_{index}"
            self.fields[name] = forms.ChoiceField(
                choices=[("", "— leave empty —"), *choices[value.field]],
                required=False,
                label=value.value,
                initial=value.initial,
            )
            self.rows.append((value, name))

    def value_mapping(self) -> dict:
        mapping: dict = {}
        for value, name in self.rows:
            mapping.setdefault(value.field, {})[value.key] = self.cleaned_data[name]
        return mapping
