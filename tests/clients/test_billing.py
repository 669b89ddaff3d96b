"""Billing: GSTIN validation, GST by state, the month's invoice from the usage rows, gapless
numbering under concurrent runs, the PDF, and who may see what."""

import io
import threading
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from clients import audit, billing, gst
from clients.models import AuditEvent, ClientBilling, Invoice, Plan, UsageDay
from opsx.models import OutboundMessage
from tests.factories import AdminFactory, ClientFactory, UserFactory

NOVEMBER = (2026, 11)


# --- GSTIN and GST ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["27AAPFU0939F1ZV", "29aagcb7383j1z4", " 27 AAPFU 0939F1ZV "])
def test_a_valid_gstin_is_accepted_in_its_canonical_form(value):
    assert gst.validate_gstin(value) == value.replace(" ", "").upper()


@pytest.mark.parametrize(
    "value, code",
    [
        ("27AAPFU0939F1ZW", "gstin_checksum"),  # one character off
        ("27AAPFU0939F1Z", "gstin_length"),
        ("27AAPFU0939F1ZVV", "gstin_length"),
        ("27AAPF00939F1ZV", "gstin_shape"),  # a digit where the PAN has a letter
        ("27AAPFU0939F1YV", "gstin_shape"),  # no Z
        ("99AAPFU0939F1ZV", "gstin_state"),
        ("", "gstin_length"),
        ("<script>alert(1)</script>", "gstin_length"),
    ],
)
def test_an_invalid_gstin_is_refused_with_its_reason(value, code):
    with pytest.raises(ValidationError) as refused:
        gst.validate_gstin(value)
    assert refused.value.code == code
    assert refused.value.messages[0]


def test_a_gstin_of_another_state_than_the_one_chosen_is_refused():
    with pytest.raises(ValidationError, match="registered in Maharashtra, not in Karnataka"):
        gst.validate_gstin("27AAPFU0939F1ZV", state="29")


def test_gst_within_the_sellers_state_is_cgst_and_sgst():
    tax = gst.tax_for(Decimal("1000.00"), buyer_country="IN", buyer_state="29", seller_state="29")
    assert (tax.cgst, tax.sgst, tax.igst) == (Decimal("90.00"), Decimal("90.00"), 0)


def test_gst_from_one_state_to_another_is_igst():
    tax = gst.tax_for(Decimal("999.99"), buyer_country="IN", buyer_state="27", seller_state="29")
    assert (tax.cgst, tax.sgst, tax.igst) == (0, 0, Decimal("180.00"))


def test_no_gst_on_an_export():
    assert (
        gst.tax_for(Decimal(500), buyer_country="GB", buyer_state="", seller_state="29").total == 0
    )


# --- the month's invoice -----------------------------------------------------------------------


@pytest.fixture
def plan(db):
    return Plan.objects.create(code="field", name="Field", price_per_user=Decimal("400.00"))


def _billed_client(plan, *, state="29", gstin="", trial_ends_on=date(2026, 10, 1), users=(3, 4)):
    client = ClientFactory()
    ClientBilling.objects.create(
        client=client,
        plan=plan,
        trial_ends_on=trial_ends_on,
        legal_name=f"{client.name} Pvt Ltd",
        address="12 MG Road\nBengaluru",
        country="IN" if state else "GB",
        state=state,
        gstin=gstin,
    )
    for day, active in zip(range(1, 31), users * 15, strict=False):
        UsageDay.objects.create(client=client, day=date(2026, 11, day), active_users=active)
    return client


@pytest.mark.django_db
def test_the_invoice_bills_the_average_active_users_with_gst_by_state(plan):
    local = _billed_client(plan, state="29", gstin="29AAGCB7383J1Z4")  # average 3.5 -> 4
    other_state = _billed_client(plan, state="27", users=(2, 2))
    inv = billing.invoice_issue(client=local, year=2026, month=11)
    assert (inv.active_users, inv.subtotal) == (4, Decimal("1600.00"))
    assert (inv.cgst, inv.sgst, inv.igst, inv.total) == (
        Decimal("144.00"),
        Decimal("144.00"),
        0,
        Decimal("1888.00"),
    )
    assert inv.buyer["gstin"] == "29AAGCB7383J1Z4"
    assert (inv.period_start, inv.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    inv2 = billing.invoice_issue(client=other_state, year=2026, month=11)
    assert (inv2.subtotal, inv2.igst, inv2.cgst, inv2.total) == (
        Decimal("800.00"),
        Decimal("144.00"),
        0,
        Decimal("944.00"),
    )
    assert [inv.number, inv2.number] == ["OPX-000001", "OPX-000002"]
    # Each invoice is announced to the address invoices go to (here the client's contact).
    mail = OutboundMessage.objects.get(to_email=local.contact_email)
    assert mail.subject == "OpsX invoice OPX-000001 for November 2026"
    assert "1888.00 INR" in mail.body_text and "/app/admin-tasks/billing/" in mail.body_text
    assert AuditEvent.objects.filter(action=audit.Action.INVOICE_ISSUED).count() == 2
    # The same month again: nothing new.
    assert billing.invoice_issue(client=local, year=2026, month=11) is None


@pytest.mark.django_db
def test_a_trial_ending_in_the_month_bills_only_the_days_after_it(plan):
    client = _billed_client(plan, trial_ends_on=date(2026, 11, 21), users=(3, 3))
    inv = billing.invoice_issue(client=client, year=2026, month=11)
    assert inv.billable_days == 10
    assert inv.subtotal == Decimal("400.00")  # 3 users x 400 x 10/30


@pytest.mark.django_db
def test_nothing_is_billed_in_trial_on_no_plan_or_with_no_active_user(plan):
    in_trial = _billed_client(plan, trial_ends_on=date(2026, 12, 15))
    no_plan = _billed_client(plan)
    ClientBilling.objects.filter(client=no_plan).update(plan=None)
    idle = _billed_client(plan, users=(0, 0))
    for client in (in_trial, no_plan, idle):
        assert billing.invoice_issue(client=client, year=2026, month=11) is None
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_an_invoice_that_fails_leaves_no_gap_in_the_numbers(plan, monkeypatch):
    first, second = _billed_client(plan), _billed_client(plan)
    real_record = audit.record

    def fail_once(**kwargs):
        monkeypatch.setattr(audit, "record", real_record)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", fail_once)
    with pytest.raises(RuntimeError):
        billing.invoice_issue(client=first, year=2026, month=11)
    assert billing.invoice_issue(client=second, year=2026, month=11).number == "OPX-000001"
    assert billing.invoice_issue(client=first, year=2026, month=11).number == "OPX-000002"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_month_end_runs_number_without_gap_or_duplicate(plan):
    clients = [_billed_client(plan) for _ in range(6)]
    errors = []

    def run():
        try:
            billing.invoices_issue_month(*NOVEMBER)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    assert errors == []
    invoices = list(Invoice.objects.order_by("sequence"))
    assert [i.sequence for i in invoices] == [1, 2, 3, 4, 5, 6]
    assert sorted(i.client_id for i in invoices) == sorted(c.pk for c in clients)
    assert len({i.number for i in invoices}) == 6


@pytest.mark.django_db
def test_the_pdf_holds_both_parties_and_the_tax(plan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = _billed_client(plan, state="29", gstin="29AAGCB7383J1Z4")
    inv = billing.invoice_issue(client=client, year=2026, month=11)
    pdf = billing.invoice_pdf(inv)
    assert pdf.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in ["OPX-000001", "29AAGCB7383J1Z4", "CGST 9%", "SGST 9%", "1888.00", "HexCM"]:
        assert expected in text
    assert "IGST" not in text
    inv.refresh_from_db()
    assert inv.pdf.name.endswith("OPX-000001.pdf")  # stored: the next download reads it
    assert billing.invoice_pdf(inv) == pdf


# --- pages ---------------------------------------------------------------------------------


@pytest.fixture
def issued(plan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = _billed_client(plan)
    return billing.invoice_issue(client=client, year=2026, month=11)


@pytest.mark.django_db
def test_a_client_admin_sees_and_downloads_their_invoices(
    client, issued, django_assert_max_num_queries
):
    client.force_login(AdminFactory(client=issued.client))
    with django_assert_max_num_queries(14):
        page = client.get(reverse("admin_tasks:billing"))
    assert page.status_code == 200
    assert "OPX-000001" in page.content.decode()
    assert "No card: invoices are paid by bank transfer" in page.content.decode()
    pdf = client.get(reverse("admin_tasks:invoice_pdf", args=[issued.public_id]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content if pdf.streaming else [pdf.content]).startswith(b"%PDF")


@pytest.mark.django_db
def test_members_never_see_billing(client, issued):
    client.force_login(UserFactory(client=issued.client))
    assert client.get(reverse("admin_tasks:billing")).status_code == 403
    assert (
        client.get(reverse("admin_tasks:invoice_pdf", args=[issued.public_id])).status_code == 403
    )


@pytest.mark.django_db
def test_another_clients_invoice_is_a_404(client, issued):
    client.force_login(AdminFactory())
    assert (
        client.get(reverse("admin_tasks:invoice_pdf", args=[issued.public_id])).status_code == 404
    )


@pytest.mark.django_db
def test_billing_details_are_saved_and_a_bad_gstin_refused_with_a_message(client):
    admin = AdminFactory()
    client.force_login(admin)
    url = reverse("admin_tasks:billing")
    data = {
        "legal_name": "Acme Field Sales Pvt Ltd",
        "address": "4 Residency Road, Bengaluru",
        "country": "IN",
        "state": "29",
        "gstin": "29AAGCB7383J1Z5",
        "billing_email": "accounts@acme.example",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "does not match the rest" in refused.content.decode()
    assert not ClientBilling.objects.filter(client=admin.client, gstin__gt="").exists()
    other_state = client.post(url, {**data, "state": "27", "gstin": "29AAGCB7383J1Z4"})
    assert "registered in Karnataka, not in Maharashtra" in other_state.content.decode()
    saved = client.post(url, {**data, "gstin": "29aagcb7383j1z4"})
    assert saved.status_code == 302
    record = ClientBilling.objects.get(client=admin.client)
    assert (record.gstin, record.state, record.legal_name) == (
        "29AAGCB7383J1Z4",
        "29",
        "Acme Field Sales Pvt Ltd",
    )
    assert AuditEvent.objects.filter(
        action=audit.Action.BILLING_DETAILS_CHANGED, actor=admin
    ).exists()
    abroad = client.post(url, {**data, "country": "GB", "state": "", "gstin": "29AAGCB7383J1Z4"})
    assert "only for a company registered in India" in abroad.content.decode()
    huge = client.post(url, {**data, "address": "x" * 100_000})
    assert huge.status_code == 400


@pytest.mark.django_db
def test_staff_billing_reads_are_audited_and_the_plan_set_through_the_service(
    client, sam, issued, plan
):
    client.force_login(sam)
    record = ClientBilling.objects.get(client=issued.client)
    assert client.get(reverse("admin:clients_plan_changelist")).status_code == 200
    assert client.get(reverse("admin:clients_clientbilling_changelist")).status_code == 200
    assert client.get(reverse("admin:clients_invoice_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:clients_clientbilling_change", args=[record.pk])).status_code
        == 200
    )
    assert client.get(reverse("admin:clients_invoice_change", args=[issued.pk])).status_code == 200
    viewed = AuditEvent.objects.filter(action=audit.Action.BILLING_VIEWED, actor=sam)
    assert viewed.count() == 2
    assert set(viewed.values_list("client_id", flat=True)) == {issued.client_id}

    premium = Plan.objects.create(code="premium", name="Premium", price_per_user=Decimal(900))
    response = client.post(
        reverse("admin:clients_clientbilling_change", args=[record.pk]), {"plan": premium.pk}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.plan == premium
    assert AuditEvent.objects.filter(action=audit.Action.BILLING_PLAN_SET, actor=sam).exists()


@pytest.mark.django_db
def test_the_first_plan_starts_the_trial(plan):
    tenant = ClientFactory()
    record = billing.billing_plan_set(client=tenant, plan=plan, actor=None)
    assert record.trial_ends_on is not None
    assert (record.trial_ends_on - date.today()).days == plan.trial_days


@pytest.mark.django_db
def test_staff_mark_an_invoice_paid_from_admin_once_and_audited(client, sam, issued):
    client.force_login(sam)
    url = reverse("admin:clients_invoice_changelist")
    data = {"action": "mark_paid", "_selected_action": [issued.pk]}
    assert client.post(url, data).status_code == 302
    issued.refresh_from_db()
    assert issued.status == Invoice.Status.PAID
    client.post(url, data)
    assert AuditEvent.objects.filter(action=audit.Action.INVOICE_PAID, actor=sam).count() == 1
    client.force_login(AdminFactory(client=issued.client))
    assert "Paid" in client.get(reverse("admin_tasks:billing")).content.decode()


@pytest.mark.django_db
def test_a_new_company_starts_on_the_default_plan_with_its_trial(client):
    response = client.post(
        reverse("account_signup"),
        {
            "company_name": "Sunrise Traders",
            "full_name": "Sunita Rao",
            "email": "sunita@sunrise.example",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
            "date_of_birth": "1990-05-17",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    record = ClientBilling.objects.get(client__name="Sunrise Traders")
    assert record.plan.code == "team" and record.plan.price_per_user == Decimal("399.00")
    assert (record.trial_ends_on - date.today()).days == 30


@pytest.mark.django_db
def test_staff_keep_the_plans_in_admin(client, sam):
    client.force_login(sam)
    assert client.get(reverse("admin:clients_plan_add")).status_code == 200
    team, _ = Plan.objects.get_or_create(  # seeded with the pricing page's plans
        code="team", defaults={"name": "Team", "price_per_user": Decimal("399.00")}
    )
    assert client.get(reverse("admin:clients_plan_change", args=[team.pk])).status_code == 200
    response = client.post(
        reverse("admin:clients_plan_change", args=[team.pk]),
        {
            "code": "team",
            "name": "Team",
            "price_per_user": "-5",
            "currency": "INR",
            "trial_days": 30,
            "active": "on",
        },
    )
    assert response.status_code == 200  # refused: a negative price
    team.refresh_from_db()
    assert team.price_per_user == Decimal("399.00")
