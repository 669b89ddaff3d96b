"""HexCM staff write, preview and publish policy versions in Django admin; a published
version is read-only there for good."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from privacy.models import Notice, NoticeDelivery, PolicyVersion
from tests.factories import UserFactory

LIST = reverse("admin:privacy_policyversion_changelist")
ADD = reverse("admin:privacy_policyversion_add")


def change_url(version):
    return reverse("admin:privacy_policyversion_change", args=[version.pk])


def form(**overrides):
    data = {
        "label": "2",
        "effective_on": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "material": "on",
        "summary": "Logs are kept 30 days.",
        "body": "## Logs\n\nWe keep them *30 days*.\n\n<script>alert(1)</script>",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


def test_staff_add_a_draft_and_see_its_preview_rendered_safely(staff_client):
    response = staff_client.post(ADD, form())
    assert response.status_code == 302, response.content.decode()[:2000]
    version = PolicyVersion.objects.get(label="2")
    assert version.published_at is None and version.material
    html = staff_client.get(change_url(version)).content.decode()
    assert '<div class="policy-preview"><h2>Logs</h2>' in html
    assert "<em>30 days</em>" in html
    assert "<script>alert(1)</script>" not in html
    assert 'name="_save"' in html  # a draft is still editable


def test_a_draft_is_edited(staff_client, sam):
    version = PolicyVersion.objects.create(
        label="2", effective_on=datetime.date(2030, 1, 1), body="Old"
    )
    response = staff_client.post(
        change_url(version), form(effective_on="2030-01-01", body="New", material=None)
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.body == "New" and not version.material


def test_a_bad_label_or_date_is_refused_on_the_form(staff_client):
    response = staff_client.post(ADD, form(label="../../etc", effective_on="31/02/2030"))
    assert response.status_code == 200  # the admin's own form page, with the errors
    html = response.content.decode()
    assert "Use letters, digits, dots, dashes or underscores" in html
    assert "Enter a valid date." in html
    assert not PolicyVersion.objects.filter(body__contains="Logs").exists()


def test_publish_action_publishes_a_draft_and_mails_users(
    staff_client, personas, django_capture_on_commit_callbacks
):
    version = PolicyVersion.objects.create(
        label="2",
        effective_on=timezone.localdate() + datetime.timedelta(days=30),
        body="## New",
        summary="Support may look with your consent only.",
        material=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            LIST, {"action": "publish", "_selected_action": [version.pk]}, follow=True
        )
    assert "Version 2 is published. Every active user will be mailed a notice." in (
        response.content.decode()
    )
    version.refresh_from_db()
    assert version.published_at is not None and version.notified_at is not None
    assert NoticeDelivery.objects.filter(notice__policy_version=version).count() == 4


def test_save_and_publish_from_the_draft_page(staff_client, django_capture_on_commit_callbacks):
    version = PolicyVersion.objects.create(
        label="2", effective_on=datetime.date(2030, 1, 1), body="Old", material=True
    )
    page = staff_client.get(change_url(version)).content.decode()
    assert 'name="_publish"' in page
    # refused (no summary): the edit is kept, the reason shown, nothing published
    response = staff_client.post(
        change_url(version),
        form(effective_on="2030-01-01", body="Newer", summary="", _publish="1"),
        follow=True,
    )
    assert "write the summary of what changes" in response.content.decode()
    version.refresh_from_db()
    assert version.body == "Newer" and version.published_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            change_url(version), form(effective_on="2030-01-01", _publish="1"), follow=True
        )
    assert "Version 2 is published." in response.content.decode()
    version.refresh_from_db()
    assert version.published_at is not None and version.summary == "Logs are kept 30 days."
    assert 'name="_publish"' not in staff_client.get(change_url(version)).content.decode()


def test_publish_action_explains_a_refusal(staff_client):
    version = PolicyVersion.objects.create(
        label="2",
        effective_on=timezone.localdate(),
        body="## Now",
        summary="Now.",
        material=True,
    )
    response = staff_client.post(
        LIST, {"action": "publish", "_selected_action": [version.pk]}, follow=True
    )
    assert "must take effect on a later day than today" in response.content.decode()
    assert PolicyVersion.objects.get(pk=version.pk).published_at is None


def test_a_published_version_is_read_only_and_cannot_be_deleted(staff_client):
    seed = PolicyVersion.objects.get(label="1")
    page = staff_client.get(change_url(seed))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="body"' not in html
    assert '<div class="policy-preview">' in html and "Who we are" in html
    # a forged POST changes nothing
    response = staff_client.post(change_url(seed), form(label="1", body="Rewritten"))
    assert response.status_code == 403
    delete = reverse("admin:privacy_policyversion_delete", args=[seed.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    staff_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [seed.pk], "post": "yes"}
    )
    seed.refresh_from_db()
    assert seed.body.startswith("This is a summary") and seed.published_at is not None


def test_a_client_user_cannot_open_the_policy_admin(client, personas):
    client.force_login(personas.alice)
    assert client.get(LIST, follow=True).status_code == 403


@pytest.mark.parametrize("rows", [1, 30])
def test_the_list_runs_a_constant_number_of_queries(
    staff_client, rows, django_assert_max_num_queries
):
    users = UserFactory.create_batch(3)
    for i in range(rows):
        version = PolicyVersion.objects.create(
            label=f"v{i}",
            effective_on=datetime.date(2023, 1, 1) + datetime.timedelta(days=i),
            body="x",
            material=True,
            published_at=timezone.now(),
        )
        notice = Notice.objects.create(policy_version=version, title="x", body="x")
        for user in users:
            NoticeDelivery.objects.create(notice=notice, user=user, delivered_at=timezone.now())
    staff_client.get(LIST)
    # user (session from the cache), savepoint, MFA check, count, filtered count, the page
    # with its notice counts, release: none per row
    with django_assert_max_num_queries(7):
        response = staff_client.get(LIST)
    html = response.content.decode()
    assert html.count('class="field-notices_sent">3<') == rows
