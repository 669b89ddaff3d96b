"""A client admin closes the account: deletion is scheduled after the grace period, every
admin is told; any admin (or staff) may cancel in the grace period."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clients.models import AuditEvent
from opsx.models import OutboundMessage
from privacy import closure as services
from privacy.models import ClientClosure
from tests.conftest import body_of
from tests.factories import AdminFactory, ClientFactory, StaffFactory


@pytest.fixture
def second_admin(personas):
    return AdminFactory(client=personas.client_a, email="ann@acme.example", full_name="Ann Two")


@pytest.mark.django_db
def test_a_closure_is_scheduled_after_the_grace_period_and_every_admin_is_mailed(
    personas, second_admin, settings
):
    settings.CLIENT_CLOSURE_GRACE_DAYS = 30
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    assert closure.status == ClientClosure.Status.SCHEDULED
    assert closure.requested_by == personas.alice
    expected = timezone.now() + timedelta(days=30)
    assert abs((closure.delete_after - expected).total_seconds()) < 60
    mails = OutboundMessage.objects.filter(subject__contains="will be deleted")
    assert sorted(m.to_email for m in mails) == ["alice@acme.example", "ann@acme.example"]
    assert {m.category for m in mails} == {"account"}
    assert closure.delete_after.strftime("%Y") in mails[0].body_text
    assert "/app/admin-tasks/close-account/" in mails[0].body_text
    assert AuditEvent.objects.filter(
        action="client.closure_requested", client=personas.client_a, actor=personas.alice
    ).exists()


@pytest.mark.django_db
def test_a_second_closure_is_refused_while_one_is_open(personas):
    services.closure_request(client=personas.client_a, actor=personas.alice)
    with pytest.raises(ValidationError, match="already being closed"):
        services.closure_request(client=personas.client_a, actor=personas.alice)
    assert ClientClosure.objects.filter(client=personas.client_a).count() == 1


@pytest.mark.django_db
def test_members_and_other_clients_admins_cannot_close(personas):
    for actor in (personas.bob, personas.carol):
        with pytest.raises(ValidationError, match="Only an admin"):
            services.closure_request(client=personas.client_a, actor=actor)
    assert not ClientClosure.objects.exists()


@pytest.mark.django_db
def test_any_admin_cancels_in_the_grace_period_and_the_admins_are_told(personas, second_admin):
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    services.closure_cancel(closure=closure, actor=second_admin)
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.CANCELLED
    assert closure.cancelled_by == second_admin and closure.cancelled_at is not None
    told = OutboundMessage.objects.filter(subject__contains="was cancelled")
    assert sorted(m.to_email for m in told) == ["alice@acme.example", "ann@acme.example"]
    assert AuditEvent.objects.filter(
        action="client.closure_cancelled", client=personas.client_a
    ).exists()
    # a new closure may be requested again
    services.closure_request(client=personas.client_a, actor=personas.alice)


@pytest.mark.django_db
def test_staff_may_cancel_members_and_other_clients_may_not(personas):
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    for actor in (personas.bob, personas.carol):
        with pytest.raises(ValidationError):
            services.closure_cancel(closure=closure, actor=actor)
    services.closure_cancel(closure=closure, actor=StaffFactory())
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.CANCELLED


@pytest.mark.django_db
def test_a_closure_cannot_be_cancelled_once_deleting(personas):
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    ClientClosure.objects.filter(pk=closure.pk).update(status=ClientClosure.Status.DELETING)
    with pytest.raises(ValidationError, match="cannot be cancelled"):
        services.closure_cancel(closure=closure, actor=personas.alice)


@pytest.mark.django_db
def test_the_mail_arrives_by_smtp_with_the_company_name_as_typed(
    smtp_server, django_capture_on_commit_callbacks
):
    company = ClientFactory(name='Evil & Co <b>"x"</b>')
    admin = AdminFactory(client=company, email="eve@evil.example", full_name="Eve")
    with django_capture_on_commit_callbacks(execute=True):
        closure = services.closure_request(client=company, actor=admin)
    [received] = smtp_server.messages
    assert received["To"] == "eve@evil.example"
    date = f"{timezone.localtime(closure.delete_after):%-d %B %Y}"
    assert received["Subject"] == f'Evil & Co <b>"x"</b>\'s OpsX account will be deleted on {date}'
    assert "can cancel the closure" in body_of(received)
