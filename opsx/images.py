"""Images staff upload for public pages (a testimonial's photo, a blog post's cover): checked,
re-encoded without their metadata, stored under a random name, and served by a view.

An upload is decoded and written again, which drops EXIF data (a camera's GPS position
included) and anything hidden after the image, so only real images of FORMATS reach storage.
Stored names carry no extension: the served type is read from the bytes (`content_type`).
"""

import io
import logging

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import FileExtensionValidator
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = ["jpg", "jpeg", "png", "webp"]


def extension_validator(what: str) -> FileExtensionValidator:
    """The name's check, for a form field: a short message before the content is read."""
    return FileExtensionValidator(
        EXTENSIONS, message=f"The {what} must be a JPEG, PNG or WebP image (.jpg, .png or .webp)."
    )


def clean(upload, *, what: str = "image", name: str = "image") -> ContentFile:
    """The uploaded image decoded and written again, or ValidationError with what is wrong
    (`what` names it in the messages: "photo", "cover image"): at most 5 MB, a real JPEG, PNG
    or WebP image of at most 40 megapixels."""
    subject = f"The {what}"
    if upload.size > MAX_BYTES:
        raise ValidationError(
            f"{subject} is {upload.size / 1024 / 1024:.1f} MB; it may be at most 5 MB.",
            code="photo_size",
        )
    refused = ValidationError(
        f"{subject} must be a JPEG, PNG or WebP image; this file is not one.", code="photo_type"
    )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            kind = probe.format
            if kind not in FORMATS:
                raise refused
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError(
                    f"{subject} is too large in pixels; use one under 40 megapixels.",
                    code="photo_pixels",
                )
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image = ImageOps.exif_transpose(image)
            if kind == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format=kind, **({"quality": 90} if kind != "PNG" else {}))
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise refused from None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue(), name=name)


def content_type(head: bytes) -> str | None:
    """The type of a stored image from its first bytes (stored names have no extension)."""
    if head.startswith(b"\xff\xd8\xff"):
        return FORMATS["JPEG"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["PNG"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FORMATS["WEBP"]
    return None


def response(image: FieldFile | None) -> FileResponse:
    """The stored image's bytes inline, typed from its content; 404 when there is none."""
    if not image:
        raise Http404("No image.")
    try:
        content = image.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("The image is missing from storage.") from None
    kind = content_type(content.read(12))
    content.seek(0)
    if kind is None:
        content.close()
        raise Http404("No image.")
    return FileResponse(content, content_type=kind)


def delete_on_commit(name: str) -> None:
    """Delete a stored file once the current transaction commits (never before: a rollback
    would leave a row naming a file that is gone)."""

    def delete():
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not delete the stored image %s", name)

    if name:
        transaction.on_commit(delete)
