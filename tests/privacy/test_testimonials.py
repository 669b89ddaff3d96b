"""Testimonial consent: staff draft a testimonial in admin and ask the person by email; the
person approves or declines through signed links; only approved testimonials are published,
and a withdrawal (the link in the approval mail, or a removal request) takes it off the site
at once, photo included."""

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clients.models import AuditEvent
from opsx import mail, suppression
from opsx.models import OutboundMessage, Suppression
from privacy import models as pm
from privacy import testimonials
from privacy.models import PrivacyRequest
from tests.conftest import body_of

from .requests_helpers import confirmed_visitor_request

Status = pm.Testimonial.Status
LIST = reverse("admin:privacy_testimonial_changelist")
ADD = reverse("admin:privacy_testimonial_add")
PAGE = reverse("testimonials")
QUOTE = "OpsX halved the time our engineers spend on paperwork."


def change_url(t):
    return reverse("admin:privacy_testimonial_change", args=[t.pk])


def image_bytes(fmt="PNG", size=(16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def upload(data=None, name="me.png", content_type="image/png"):
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type)


def form(**overrides):
    data = {
        "quote": QUOTE,
        "person_name": "Petra Person",
        "person_email": "Petra@Customer.example",
        "company": "Customer Ltd",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def staff_client(sam):
    """Sam in Django admin; `client` stays an anonymous visitor (the person, the public)."""
    staff = Client()
    staff.force_login(sam)
    return staff


@pytest.fixture
def settings_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def add_in_admin(staff_client, **overrides) -> pm.Testimonial:
    data = form(**overrides)
    data.setdefault("photo", upload())
    response = staff_client.post(ADD, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return pm.Testimonial.objects.get(person_name=" ".join(data["person_name"].split()))


def ask(staff_client, t: pm.Testimonial, **overrides):
    """The change page's "Save and request consent" button."""
    response = staff_client.post(change_url(t), {**form(**overrides), "_request_consent": "1"})
    assert response.status_code == 302, response.content.decode()[:3000]
    t.refresh_from_db()
    return response


def last_mail(template_words: str, to="petra@customer.example") -> OutboundMessage:
    mails = OutboundMessage.objects.filter(to_email=to, subject__contains=template_words)
    return mails.order_by("-created_at").first()


def link(message: OutboundMessage, kind: str) -> str:
    """The path of the message's link of `kind` (approve, decline, withdraw)."""
    pattern = {
        "approve": r"https?://\S+/testimonials/consent/\S+/approve/",
        "decline": r"https?://\S+/testimonials/consent/\S+/decline/",
        "withdraw": r"https?://\S+/testimonials/withdraw/\S+/",
    }[kind]
    match = re.search(pattern, message.body_text)
    assert match, f"no {kind} link in {message.body_text!r}"
    return urlsplit(match.group(0)).path


def approved(staff_client, client, **overrides) -> pm.Testimonial:
    t = add_in_admin(staff_client, **overrides)
    ask(staff_client, t, **overrides)
    approve = link(last_mail("May OpsX publish"), "approve")
    assert client.post(approve).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.APPROVED
    return t


def published(staff_client, client) -> pm.Testimonial:
    t = approved(staff_client, client)
    response = staff_client.post(
        LIST, {"action": "publish", "_selected_action": [t.pk]}, follow=True
    )
    assert "is published" in response.content.decode()
    t.refresh_from_db()
    assert t.published_at is not None
    return t


# --- admin ------------------------------------------------------------------------------


def test_staff_open_the_list_add_and_change_pages(staff_client, settings_media):
    assert staff_client.get(ADD).status_code == 200
    t = add_in_admin(staff_client)
    assert t.status == Status.DRAFT and t.person_email == "petra@customer.example"
    response = staff_client.get(LIST)
    assert response.status_code == 200 and "Petra Person" in response.content.decode()
    html = staff_client.get(change_url(t)).content.decode()
    assert 'name="_request_consent"' in html and 'name="_publish"' not in html
    assert AuditEvent.objects.filter(action="testimonial.saved", target_id=t.public_id).exists()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_admin_list_and_public_page_take_constant_queries(
    rows, staff_client, client, settings_media, django_assert_max_num_queries
):
    now = timezone.now()
    pm.Testimonial.objects.bulk_create(
        pm.Testimonial(
            quote=f"Quote {i}",
            person_name=f"Person {i}",
            person_email=f"p{i}@x.example",
            status=Status.APPROVED,
            consented_at=now,
            published_at=now - timedelta(minutes=i),
            photo=f"testimonials/x/{i}",
        )
        for i in range(rows)
    )
    # The session, the user, the two-factor check, the page's count and rows (with the
    # filter's), and the admin's own bookkeeping: a fixed number whatever the rows.
    with django_assert_max_num_queries(12):
        assert staff_client.get(LIST).status_code == 200
    # The request's savepoint (ATOMIC_REQUESTS), the published ones newest first, its release.
    with django_assert_max_num_queries(3):
        response = client.get(PAGE)
    assert response.status_code == 200
    assert response.content.decode().count('class="testimonial-photo"') == rows


# --- the consent request and its links ---------------------------------------------------


def test_the_consent_request_mail_shows_the_exact_text_and_has_working_links(
    staff_client, client, settings_media
):
    t = add_in_admin(staff_client)
    ask(staff_client, t)
    assert t.status == Status.REQUESTED and t.requested_at is not None
    message = last_mail("May OpsX publish")
    assert message.category == OutboundMessage.Category.CONSENT  # no opt-out blocks it
    assert message.expires_at is not None  # never sent once its links are dead
    assert f'"{QUOTE}"' in message.body_text
    assert "Petra Person, Customer Ltd" in message.body_text
    approve, decline = link(message, "approve"), link(message, "decline")
    for path in (approve, decline):
        page = client.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert QUOTE in html and "Approve: you may publish it" in html and "Decline" in html
    # The person sees the photo they are asked about, through their link only.
    photo = re.search(r'src="(/testimonials/consent/[^"]+/photo/)"', html).group(1)
    response = client.get(photo)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert client.get(reverse("privacy:testimonial_photo", args=[t.public_id])).status_code == 404

    assert client.post(approve).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.APPROVED and t.consented_at is not None
    assert t.consent_means.startswith("email link (consent request of ")
    assert "approved" in client.get(approve).content.decode()  # the page says it is done
    assert client.post(approve).status_code == 302  # a second click changes nothing
    assert AuditEvent.objects.filter(action="testimonial.approved").count() == 1
    confirmation = last_mail("You approved")
    assert link(confirmation, "withdraw")
    assert confirmation.expires_at is None  # the withdrawal link has no end


def test_decline_is_recorded_and_the_testimonial_cannot_be_published(
    staff_client, client, settings_media
):
    t = add_in_admin(staff_client)
    ask(staff_client, t)
    decline = link(last_mail("May OpsX publish"), "decline")
    assert client.post(decline).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.DECLINED and t.declined_at and t.consented_at is None
    response = staff_client.post(
        LIST, {"action": "publish", "_selected_action": [t.pk]}, follow=True
    )
    assert "only a testimonial its person approved can be published" in response.content.decode()
    t.refresh_from_db()
    assert t.published_at is None
    # Nor asked again as is: the text must change first.
    response = staff_client.post(
        LIST, {"action": "request_consent", "_selected_action": [t.pk]}, follow=True
    )
    assert "change it before asking again" in response.content.decode()
    # The approve link of the same mail no longer works.
    approve = link(last_mail("May OpsX publish"), "approve")
    response = client.post(approve)
    assert response.status_code == 410 and "no longer open" in response.content.decode()


def test_a_draft_cannot_be_published_by_the_service_the_admin_or_the_database(
    staff_client, sam, settings_media
):
    t = add_in_admin(staff_client)
    with pytest.raises(ValidationError, match="only a testimonial its person"):
        testimonials.testimonial_publish(t, sam)
    response = staff_client.post(
        LIST, {"action": "publish", "_selected_action": [t.pk]}, follow=True
    )
    assert "this one is “Draft”" in response.content.decode()
    with pytest.raises(IntegrityError), transaction.atomic():
        pm.Testimonial.objects.filter(pk=t.pk).update(published_at=timezone.now())
    assert not AuditEvent.objects.filter(action="testimonial.published").exists()


def test_approve_then_publish_shows_it_on_the_public_page_with_its_photo(
    staff_client, client, settings_media
):
    t = published(staff_client, client)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert QUOTE in html and "Petra Person, Customer Ltd" in html
    photo_url = reverse("privacy:testimonial_photo", args=[t.public_id])
    assert f'src="{photo_url}"' in html
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert b"".join(photo.streaming_content).startswith(b"\x89PNG")
    assert "no-cache" in response["Cache-Control"] and "no-cache" in photo["Cache-Control"]
    assert AuditEvent.objects.filter(action="testimonial.published", actor__isnull=False).exists()


def test_editing_the_text_voids_consent_and_the_links_already_sent(
    staff_client, client, settings_media
):
    t = published(staff_client, client)
    old = last_mail("May OpsX publish")
    approve, decline = link(old, "approve"), link(old, "decline")
    response = staff_client.post(change_url(t), form(quote="OpsX is fine, I suppose."))
    assert response.status_code == 302
    t.refresh_from_db()
    assert (t.status, t.published_at, t.consented_at, t.consent_means) == (
        Status.DRAFT,
        None,
        None,
        "",
    )
    assert QUOTE not in client.get(PAGE).content.decode()
    for path in (approve, decline):
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 410
            assert "was changed or removed since" in response.content.decode()
    t.refresh_from_db()
    assert t.status == Status.DRAFT
    # Asked again, the new links show the new words and work.
    ask(staff_client, t, quote="OpsX is fine, I suppose.")
    new = last_mail("May OpsX publish")
    assert "OpsX is fine, I suppose." in client.get(link(new, "approve")).content.decode()


def test_editing_while_the_request_is_open_makes_its_links_stale(
    staff_client, client, settings_media
):
    t = add_in_admin(staff_client)
    ask(staff_client, t)
    approve = link(last_mail("May OpsX publish"), "approve")
    staff_client.post(change_url(t), form(company="Another Company"))
    t.refresh_from_db()
    assert t.status == Status.DRAFT
    assert client.post(approve).status_code == 410
    t.refresh_from_db()
    assert t.status == Status.DRAFT and t.consented_at is None


def test_the_withdraw_link_takes_it_off_the_site_at_once(
    staff_client, client, settings_media, django_capture_on_commit_callbacks
):
    t = published(staff_client, client)
    photo_name = t.photo.name
    photo_url = reverse("privacy:testimonial_photo", args=[t.public_id])
    withdraw = link(last_mail("You approved"), "withdraw")
    assert client.get(photo_url).status_code == 200
    page = client.get(withdraw)
    assert page.status_code == 200 and "Withdraw my consent" in page.content.decode()
    t.refresh_from_db()
    assert t.status == Status.APPROVED  # a GET (a mail scanner) changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(withdraw).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.WITHDRAWN and t.withdrawn_at and t.published_at is None
    assert QUOTE not in client.get(PAGE).content.decode()
    assert client.get(photo_url).status_code == 404
    assert not default_storage.exists(photo_name)
    assert "Your consent is withdrawn" in client.get(withdraw).content.decode()
    # Staff can neither publish nor ask again, and the admin shows it read-only.
    with pytest.raises(ValidationError):
        testimonials.testimonial_publish(t, None)
    html = staff_client.get(change_url(t)).content.decode()
    assert 'name="_save"' not in html


def test_a_removal_request_withdraws_the_persons_testimonials(staff_client, client, settings_media):
    t = published(staff_client, client)
    other = add_in_admin(staff_client, person_name="Otto Other", person_email="otto@x.example")
    pr = confirmed_visitor_request(
        kind=PrivacyRequest.Kind.REMOVAL,
        removal_target=PrivacyRequest.RemovalTarget.TESTIMONIAL,
        email="petra@customer.example",
        name="Petra Person",
        details="Please take my quote down.",
    )
    act = reverse("admin:privacy_privacyrequest_act", args=[pr.pk, "withdraw_testimonials"])
    assert (
        "withdraw_testimonials"
        in staff_client.get(
            reverse("admin:privacy_privacyrequest_change", args=[pr.pk])
        ).content.decode()
    )
    assert staff_client.post(act).status_code == 302
    t.refresh_from_db()
    other.refresh_from_db()
    assert t.status == Status.WITHDRAWN and t.published_at is None
    assert other.status == Status.DRAFT
    assert QUOTE not in client.get(PAGE).content.decode()
    # Nothing left: the action says so rather than pretending.
    response = staff_client.post(act)
    assert response.status_code == 400 and "No testimonial" in response.content.decode()
    assert testimonials.withdraw_for_address("PETRA@customer.example ", None) == 0


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "x" * 5000,
        # a real withdrawal token is no consent token (one salt per purpose)
        "WITHDRAW",
    ],
)
def test_a_tampered_link_gets_a_clear_page(token, staff_client, client, settings_media):
    t = add_in_admin(staff_client)
    if token == "WITHDRAW":
        token = testimonials.withdraw_token(t)
    real = testimonials.consent_token(t)
    for path in (
        reverse("privacy:testimonial_consent", args=[token, "approve"]),
        reverse("privacy:testimonial_consent", args=[real[:-3] + "abc", "approve"]),
        reverse("privacy:testimonial_consent_photo", args=[token]),
        reverse("privacy:testimonial_withdraw", args=[real]),
    ):
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 400, path
            assert "This link cannot be used" in response.content.decode()
    assert (
        client.get(reverse("privacy:testimonial_consent", args=[real, "maybe"])).status_code == 404
    )
    t.refresh_from_db()
    assert t.status == Status.DRAFT


def test_an_expired_link_gets_a_clear_page(staff_client, client, settings, settings_media):
    t = add_in_admin(staff_client)
    ask(staff_client, t)
    approve = link(last_mail("May OpsX publish"), "approve")
    later = timezone.now() + timedelta(days=settings.TESTIMONIAL_LINK_MAX_AGE_DAYS, hours=1)
    with time_machine.travel(later):
        response = client.post(approve)
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    t.refresh_from_db()
    assert t.status == Status.REQUESTED


def test_hostile_input_is_escaped_and_cannot_inject_headers(
    staff_client, client, settings_media, smtp_server, django_capture_on_commit_callbacks
):
    hostile = {
        "quote": '<script>alert("q")</script> & "quotes"',
        "person_name": "a\r\nBcc: x@evil.example",
        "company": "<b>Evil</b>",
    }
    t = add_in_admin(staff_client, **hostile)
    assert t.person_name == "a Bcc: x@evil.example"  # the line break is gone before any mail
    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client, t, **hostile)
    (received,) = smtp_server.messages
    assert received["Bcc"] is None and received["To"] == "petra@customer.example"
    assert received["Subject"] == "May OpsX publish your testimonial?"
    body = body_of(received)
    assert '<script>alert("q")</script> & "quotes"' in body  # plain text: as written
    token = re.search(r"/testimonials/consent/(\S+)/approve/", body).group(1)
    html = client.get(reverse("privacy:testimonial_consent", args=[token, "approve"])).content
    html = html.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt;" in html
    client.post(reverse("privacy:testimonial_consent", args=[token, "approve"]))
    testimonials.testimonial_publish(t, None)
    page = client.get(PAGE).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


@pytest.mark.parametrize(
    "photo, message",
    [
        (upload(b"just some text, not an image", name="me.png"), "Upload a valid image"),
        (upload(image_bytes("GIF"), name="me.gif", content_type="image/gif"), "JPEG, PNG or WebP"),
        # a GIF by its content, whatever its name says
        (upload(image_bytes("GIF"), name="me.png"), "this file is not one"),
        (upload(image_bytes() + b"\0" * (5 * 1024 * 1024), name="big.png"), "at most 5 MB"),
    ],
    ids=["text", "gif", "gif-named-png", "too-big"],
)
def test_a_photo_that_is_not_a_small_jpeg_png_or_webp_is_refused(
    photo, message, staff_client, settings_media
):
    response = staff_client.post(ADD, {**form(), "photo": photo})
    assert response.status_code == 200  # the form again, with the reason
    assert message in response.content.decode()
    assert not pm.Testimonial.objects.exists()


@pytest.mark.parametrize("fmt, content_type", [("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_jpeg_and_webp_photos_are_kept_without_their_metadata(
    fmt, content_type, staff_client, client, settings_media
):
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # the camera's make: any EXIF tag
    Image.new("RGB", (16, 16)).save(out, format=fmt, exif=exif)
    assert b"SecretCam" in out.getvalue()
    name = f"me.{fmt.lower()}"
    t = add_in_admin(staff_client, photo=upload(out.getvalue(), name, content_type))
    with t.photo.open("rb") as stored:
        data = stored.read()
    assert b"SecretCam" not in data
    assert testimonials.photo_content_type(data[:12]) == content_type


def test_an_address_that_bounced_or_complained_is_not_asked(staff_client, settings_media):
    t = add_in_admin(staff_client)
    suppression.suppress(
        "petra@customer.example", reason=Suppression.Reason.COMPLAINT, scope=Suppression.Scope.ALL
    )
    response = staff_client.post(
        LIST, {"action": "request_consent", "_selected_action": [t.pk]}, follow=True
    )
    assert "bounced or was reported as spam" in response.content.decode()
    t.refresh_from_db()
    assert t.status == Status.DRAFT
    assert not OutboundMessage.objects.filter(to_email="petra@customer.example").exists()


def test_an_address_suppressed_after_the_request_was_queued_is_not_mailed(
    staff_client, settings_media, django_capture_on_commit_callbacks
):
    t = add_in_admin(staff_client)
    with django_capture_on_commit_callbacks(execute=False):
        ask(staff_client, t)
    message = last_mail("")
    assert message.status == OutboundMessage.Status.PENDING
    suppression.suppress(
        "petra@customer.example",
        reason=Suppression.Reason.HARD_BOUNCE,
        scope=Suppression.Scope.ALL,
    )
    assert mail.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SUPPRESSED


def test_huge_input_is_refused_on_the_form_and_by_the_service(staff_client, sam, settings_media):
    response = staff_client.post(
        ADD, {**form(quote="x" * 5000, person_name="y" * 500, person_email="not an address")}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ensure this value has at most 2000 characters" in html
    assert "Enter a valid email address." in html
    assert not pm.Testimonial.objects.exists()
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        testimonials.testimonial_save(
            testimonial=pm.Testimonial(
                quote="x" * 5000, person_name="P", person_email="p@x.example"
            ),
            actor=sam,
        )
