"""The payment card through the processor's hosted page, against a local fake of Stripe: add,
replace, delete, a declined card, the signed webhook, and who may do what."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.urls import reverse

from clients import audit
from clients.models import AuditEvent, ClientBilling
from opsx.models import OutboundMessage
from tests.factories import AdminFactory, UserFactory
from tests.fake_stripe import FakeStripe, sign


@pytest.fixture
def stripe_fake(settings):
    with FakeStripe(webhook_secret="whsec_fake") as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_fake"
        settings.STRIPE_WEBHOOK_SECRET = "whsec_fake"
        settings.STRIPE_API_BASE = fake.url
        yield fake


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _type_card(hosted_url: str, number: str, **extra) -> tuple[int, str]:
    """The admin types a card on the processor's page: (status, where it sends them back)."""
    data = urllib.parse.urlencode({"number": number, "exp_month": 4, "exp_year": 2031, **extra})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(hosted_url, data=data.encode(), timeout=10)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")
    return response.status, ""


def _local(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
def admin(db, client):
    admin = AdminFactory()
    client.force_login(admin)
    return admin


def _add_card(client, fake, number="4242 4242 4242 4242"):
    start = client.post(reverse("admin_tasks:card_add"))
    assert start.status_code == 302
    assert start["Location"].startswith(fake.url + "/pay/")
    status, back = _type_card(start["Location"], number)
    return start["Location"], status, back


@pytest.mark.django_db
def test_an_admin_adds_a_card_on_the_processors_page_and_only_its_token_is_kept(
    client, admin, stripe_fake
):
    page = client.get(reverse("admin_tasks:billing")).content.decode()
    assert "Add a card" in page and "OpsX never sees the card number" in page
    _hosted, status, back = _add_card(client, stripe_fake)
    assert status == 303
    done = client.get(_local(back), follow=True)
    assert "Card saved: Visa ending in 4242." in done.content.decode()
    billing = ClientBilling.objects.get(client=admin.client)
    assert billing.processor_customer_id in stripe_fake.customers
    assert (
        billing.card_brand,
        billing.card_last4,
        billing.card_exp_month,
        billing.card_exp_year,
    ) == (
        "visa",
        "4242",
        4,
        2031,
    )
    assert billing.processor_payment_method_id.startswith("pm_")
    # Nothing of the number but its last four digits is anywhere in OpsX's row.
    stored = json.dumps({f.name: str(getattr(billing, f.name)) for f in billing._meta.fields})
    assert "424242" not in stored
    assert AuditEvent.objects.filter(action=audit.Action.PAYMENT_CARD_ADDED, actor=admin).exists()
    assert "Visa ending in 4242" in client.get(reverse("admin_tasks:billing")).content.decode()


@pytest.mark.django_db
def test_replacing_the_card_detaches_the_old_one_at_the_processor(
    client, admin, stripe_fake, django_capture_on_commit_callbacks
):
    _, _, back = _add_card(client, stripe_fake)
    client.get(_local(back))
    first = ClientBilling.objects.get(client=admin.client).processor_payment_method_id
    _, _, back = _add_card(client, stripe_fake, number="5555 5555 5555 4444")
    with django_capture_on_commit_callbacks(execute=True):  # detached once the new one is kept
        client.get(_local(back))
    billing = ClientBilling.objects.get(client=admin.client)
    assert (billing.card_brand, billing.card_last4) == ("mastercard", "4444")
    assert stripe_fake.methods[first]["customer"] is None  # detached
    assert len(stripe_fake.customers) == 1  # the same customer


@pytest.mark.django_db
def test_a_declined_card_adds_nothing(client, admin, stripe_fake):
    hosted, status, back = _add_card(client, stripe_fake, number="4000 0000 0000 0002")
    assert (status, back) == (402, "")
    # The admin comes back without finishing (or forges the return address): nothing kept.
    session_id = hosted.rsplit("/", 1)[-1]
    response = client.get(reverse("admin_tasks:card_done"), {"session_id": session_id}, follow=True)
    assert "No card was added" in response.content.decode()
    assert not ClientBilling.objects.get(client=admin.client).has_card
    cancelled = client.get(reverse("admin_tasks:card_cancelled"), follow=True)
    assert "Invoices stay payable by bank transfer" in cancelled.content.decode()


@pytest.mark.django_db
def test_another_clients_finished_session_is_not_taken(client, admin, stripe_fake):
    _, _, back = _add_card(client, stripe_fake)
    other = AdminFactory()
    client.force_login(other)
    response = client.get(_local(back), follow=True)
    assert "No card was added" in response.content.decode()
    assert not ClientBilling.objects.filter(client=other.client, card_last4="4242").exists()


@pytest.mark.django_db
def test_deleting_the_card_removes_it_here_and_at_the_processor(client, admin, stripe_fake):
    _, _, back = _add_card(client, stripe_fake)
    client.get(_local(back))
    pm = ClientBilling.objects.get(client=admin.client).processor_payment_method_id
    response = client.post(reverse("admin_tasks:card_delete"), follow=True)
    assert "Card deleted, here and at the payment processor." in response.content.decode()
    billing = ClientBilling.objects.get(client=admin.client)
    assert (billing.has_card, billing.card_last4, billing.card_brand) == (False, "", "")
    assert stripe_fake.methods[pm]["customer"] is None
    assert AuditEvent.objects.filter(action=audit.Action.PAYMENT_CARD_REMOVED).exists()


@pytest.mark.django_db
def test_the_processor_down_changes_nothing_and_says_so(client, admin, stripe_fake):
    _, _, back = _add_card(client, stripe_fake)
    client.get(_local(back))
    stripe_fake.down = True
    response = client.post(reverse("admin_tasks:card_delete"), follow=True)
    assert "could not remove the card just now" in response.content.decode()
    assert ClientBilling.objects.get(client=admin.client).has_card
    response = client.post(reverse("admin_tasks:card_add"), follow=True)
    assert "could not do this just now" in response.content.decode()


@pytest.mark.django_db
def test_the_signed_webhook_keeps_a_card_whose_admin_never_came_back(client, admin, stripe_fake):
    hosted, status, _ = _add_card(client, stripe_fake)  # the browser closes here
    assert status == 303
    session = stripe_fake.sessions[hosted.rsplit("/", 1)[-1]]
    payload = stripe_fake.event_payload(session)
    client.logout()
    url = reverse("stripe_webhook")
    bad = client.post(
        url, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload, "wrong")
    )
    assert bad.status_code == 400
    assert not ClientBilling.objects.get(client=admin.client).has_card
    good = client.post(
        url,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, "whsec_fake"),
    )
    assert good.status_code == 200
    assert ClientBilling.objects.get(client=admin.client).card_last4 == "4242"
    # The same event again (Stripe retries): nothing more.
    client.post(
        url,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, "whsec_fake"),
    )
    assert AuditEvent.objects.filter(action=audit.Action.PAYMENT_CARD_ADDED).count() == 1
    garbage = client.post(
        url, b"{not json", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )
    assert garbage.status_code == 400


@pytest.mark.django_db
def test_without_a_processor_no_card_is_offered_and_the_webhook_is_not_there(
    client, admin, settings
):
    settings.STRIPE_SECRET_KEY = ""
    page = client.get(reverse("admin_tasks:billing")).content.decode()
    assert "Add a card" not in page
    assert "invoices are paid by bank transfer" in page
    response = client.post(reverse("admin_tasks:card_add"), follow=True)
    assert "Card payments are not available" in response.content.decode()
    assert (
        client.post(reverse("stripe_webhook"), b"{}", content_type="application/json").status_code
        == 404
    )


@pytest.mark.django_db
def test_members_cannot_touch_the_card(client, stripe_fake):
    client.force_login(UserFactory())
    for name in ("card_add", "card_delete"):
        assert client.post(reverse(f"admin_tasks:{name}")).status_code == 403
    assert client.get(reverse("admin_tasks:card_done"), {"session_id": "cs_x"}).status_code == 403
    assert stripe_fake.requests == []


def _issued_invoice(client_obj, total="1180.00"):
    from datetime import date
    from decimal import Decimal

    from clients.models import Invoice

    return Invoice.objects.create(
        client=client_obj,
        sequence=Invoice.objects.count() + 1,
        number=f"OPX-{Invoice.objects.count() + 1:06d}",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        issued_on=date(2026, 12, 1),
        plan_name="Field",
        currency="INR",
        active_users=2,
        unit_price=Decimal("500.00"),
        billable_days=30,
        subtotal=Decimal("1000.00"),
        igst=Decimal("180.00"),
        total=Decimal(total),
        seller={},
        buyer={},
    )


@pytest.mark.django_db
def test_the_card_on_file_pays_the_invoice_once(client, admin, stripe_fake):
    from clients import billing
    from clients.models import Invoice

    _, _, back = _add_card(client, stripe_fake)
    client.get(_local(back))
    invoice = _issued_invoice(admin.client)
    paid = billing.invoice_charge(invoice=invoice)
    assert paid.status == Invoice.Status.PAID and paid.payment_reference.startswith("pi_")
    (intent,) = stripe_fake.intents.values()
    assert (intent["amount"], intent["currency"]) == (118000, "inr")
    billing.invoice_charge(invoice=paid)  # paid already: no second charge
    assert len(stripe_fake.intents) == 1
    assert AuditEvent.objects.filter(action=audit.Action.INVOICE_PAID, actor=None).count() == 1


@pytest.mark.django_db
def test_a_declined_charge_is_shown_and_the_invoice_waits(client, admin, stripe_fake):
    from clients import billing
    from clients.models import Invoice

    _, _, back = _add_card(client, stripe_fake, number="4000 0000 0000 0341")
    client.get(_local(back))
    invoice = billing.invoice_charge(invoice=_issued_invoice(admin.client))
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.payment_error == "Your card was declined."
    page = client.get(reverse("admin_tasks:billing")).content.decode()
    assert "the card payment failed (Your card was declined.)" in page
    billing.invoice_charge(invoice=invoice)  # the task again: one mail, not two
    (told,) = OutboundMessage.objects.filter(subject__contains="card payment of OpsX invoice")
    assert told.to_email == admin.client.contact_email
    assert "Your card was declined." in told.body_text


@pytest.mark.django_db
def test_without_a_card_an_invoice_is_not_charged(client, admin, stripe_fake):
    from clients import billing
    from clients.models import Invoice

    invoice = billing.invoice_charge(invoice=_issued_invoice(admin.client))
    assert (invoice.status, invoice.payment_error) == (Invoice.Status.ISSUED, "")
    assert stripe_fake.requests == []


@pytest.mark.django_db
def test_a_new_card_pays_the_invoice_the_old_one_could_not(
    client, admin, stripe_fake, django_capture_on_commit_callbacks
):
    from clients import billing
    from clients.models import Invoice

    _, _, back = _add_card(client, stripe_fake, number="4000 0000 0000 0341")
    client.get(_local(back))
    invoice = billing.invoice_charge(invoice=_issued_invoice(admin.client))
    assert invoice.payment_error
    _, _, back = _add_card(client, stripe_fake, number="5555 5555 5555 4444")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(_local(back))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_error) == (Invoice.Status.PAID, "")
