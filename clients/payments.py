"""The payment card: added on the processor's own hosted page, kept here only as its tokens.

A client admin asks to add (or replace) a card; OpsX creates the processor's customer if it has
none and a hosted card-setup page (Stripe Checkout in setup mode) and redirects there. The card
number is typed on the processor's site: no card number reaches OpsX and no processor script
runs on our pages, so our Content-Security-Policy stays as it is. When the processor sends the
admin back (and, in case the browser never comes back, in its signed webhook), OpsX reads the
finished setup and keeps the customer and payment-method ids, the brand, the last four digits
and the expiry. Deleting the card detaches it at the processor too.

`Processor` is the small interface the rest of OpsX uses; `StripeProcessor` speaks it with
Stripe's own client library. Razorpay could follow behind the same interface.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit
from .models import Client, ClientBilling

logger = logging.getLogger(__name__)


class ProcessorError(Exception):
    """The processor refused or could not be reached; the message is fit for the user."""


@dataclass(frozen=True)
class Card:
    customer_id: str
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SetupResult:
    client_ref: str  # the client's public id we gave the processor
    customer_id: str
    card: Card | None  # None: the setup was not finished (closed, declined, expired)


@dataclass(frozen=True)
class Charge:
    paid: bool
    reference: str  # the processor's payment id
    message: str  # why it failed, fit for the client's admins


class Processor(Protocol):
    name: str

    def charge(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_minor: int,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> Charge: ...

    def create_customer(self, *, client: Client, email: str, name: str) -> str: ...

    def start_setup(
        self, *, customer_id: str, client_ref: str, success_url: str, cancel_url: str
    ) -> str: ...

    def read_setup(self, session_id: str) -> SetupResult: ...

    def detach(self, payment_method_id: str) -> None: ...

    def webhook_setup_session(self, payload: bytes, signature: str) -> str | None: ...


class StripeProcessor:
    name = "stripe"

    def __init__(self):
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        self._client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY, base_addresses=base, max_network_retries=1
        )

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            logger.warning("stripe refused: %s", exc)
            raise ProcessorError(
                "The payment processor could not do this just now. Nothing was changed; try "
                "again in a few minutes."
            ) from exc

    def create_customer(self, *, client, email, name):
        params = {"name": name[:250], "metadata": {"opsx_client": str(client.public_id)}}
        if email:
            params["email"] = email
        return self._call(self._client.v1.customers.create, params=params).id

    def start_setup(self, *, customer_id, client_ref, success_url, cancel_url):
        session = self._call(
            self._client.v1.checkout.sessions.create,
            params={
                "mode": "setup",
                "customer": customer_id,
                "payment_method_types": ["card"],
                "client_reference_id": client_ref,
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
        )
        return session.url

    def read_setup(self, session_id):
        session = self._call(
            self._client.v1.checkout.sessions.retrieve,
            session_id,
            params={"expand": ["setup_intent.payment_method"]},
        ).to_dict()
        card = None
        intent = session.get("setup_intent")
        method = intent.get("payment_method") if intent and not isinstance(intent, str) else None
        if session.get("status") == "complete" and method and method.get("card"):
            details = method["card"]
            card = Card(
                customer_id=session["customer"],
                payment_method_id=method["id"],
                brand=str(details.get("brand", ""))[:20],
                last4=str(details.get("last4", ""))[-4:],
                exp_month=int(details.get("exp_month") or 0),
                exp_year=int(details.get("exp_year") or 0),
            )
        return SetupResult(
            client_ref=session.get("client_reference_id") or "",
            customer_id=session.get("customer") or "",
            card=card,
        )

    def charge(
        self,
        *,
        customer_id,
        payment_method_id,
        amount_minor,
        currency,
        description,
        idempotency_key,
    ):
        """Charge the card on file with nobody present (off_session). A decline is an answer,
        not an error; the idempotency key makes a retried charge the same charge."""
        try:
            intent = self._client.v1.payment_intents.create(
                params={
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "customer": customer_id,
                    "payment_method": payment_method_id,
                    "off_session": True,
                    "confirm": True,
                    "description": description,
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            return Charge(paid=False, reference="", message=str(exc.user_message or "")[:300])
        except stripe.StripeError as exc:
            raise ProcessorError("The payment processor could not be reached.") from exc
        paid = intent.status == "succeeded"
        return Charge(
            paid=paid,
            reference=intent.id,
            message="" if paid else f"The payment needs your action ({intent.status}).",
        )

    def detach(self, payment_method_id):
        try:
            self._client.v1.payment_methods.detach(payment_method_id)
        except stripe.InvalidRequestError:
            pass  # already detached, or gone at the processor: what we wanted
        except stripe.StripeError as exc:
            raise ProcessorError(
                "The payment processor could not remove the card just now. It is still on "
                "file; try again in a few minutes."
            ) from exc

    def webhook_setup_session(self, payload, signature):
        """The checkout session a verified `checkout.session.completed` event names, or None
        for another event. A bad signature raises ValueError."""
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, settings.STRIPE_WEBHOOK_SECRET
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise ValueError("bad signature") from exc
        event = event.to_dict()
        if event.get("type") != "checkout.session.completed":
            return None
        session = event.get("data", {}).get("object", {})
        return session.get("id") if session.get("mode") == "setup" else None


def enabled() -> bool:
    """Whether cards are offered: without STRIPE_SECRET_KEY invoices are paid by transfer."""
    return bool(settings.STRIPE_SECRET_KEY)


def processor() -> Processor | None:
    """The configured processor, or None when cards are not offered (`enabled`)."""
    return StripeProcessor() if enabled() else None


# --- services ------------------------------------------------------------------------------


def card_setup_start(*, client: Client, actor, success_url: str, cancel_url: str) -> str:
    """The address of the processor's page where the admin adds a card."""
    from .billing import billing_of

    gateway = processor()
    if gateway is None:
        raise ValidationError("Card payments are not available: invoices are paid by transfer.")
    billing = billing_of(client)
    if not billing.processor_customer_id:
        customer = gateway.create_customer(
            client=client,
            email=billing.billing_email or client.contact_email,
            name=billing.legal_name or client.name,
        )
        ClientBilling.objects.filter(pk=billing.pk).update(
            processor=gateway.name, processor_customer_id=customer
        )
        billing.processor_customer_id = customer
    return gateway.start_setup(
        customer_id=billing.processor_customer_id,
        client_ref=str(client.public_id),
        success_url=success_url,
        cancel_url=cancel_url,
    )


def card_setup_finish(*, session_id: str, client: Client | None, actor) -> ClientBilling | None:
    """Keep the card of a finished setup. `client` is the signed-in admin's client (the
    return page), or None (the webhook): then the session's own reference names it. A session
    of another client or customer, or not finished, changes nothing and returns None."""
    gateway = processor()
    if gateway is None or not session_id or len(session_id) > 255:
        return None
    result = gateway.read_setup(session_id)
    if result.card is None:
        return None
    with transaction.atomic():
        billing = (
            ClientBilling.objects.select_for_update()
            .select_related("client")
            .filter(client__public_id=result.client_ref or None)
            .first()
            if _is_uuid(result.client_ref)
            else None
        )
        if billing is None or (client is not None and billing.client_id != client.pk):
            return None
        if billing.processor_customer_id != result.customer_id:
            return None
        card = result.card
        if billing.processor_payment_method_id == card.payment_method_id:
            return billing  # the return page and the webhook both came: once is enough
        old = billing.processor_payment_method_id
        billing.processor_payment_method_id = card.payment_method_id
        billing.card_brand, billing.card_last4 = card.brand, card.last4
        billing.card_exp_month, billing.card_exp_year = card.exp_month, card.exp_year
        billing.save(
            update_fields=[
                "processor_payment_method_id",
                "card_brand",
                "card_last4",
                "card_exp_month",
                "card_exp_year",
                "updated_at",
            ]
        )
        audit.record(
            actor=actor,
            action=audit.Action.PAYMENT_CARD_ADDED,
            target=billing.client,
            client=billing.client,
            changes={"card": (None, None)},
        )
        if old:
            transaction.on_commit(lambda: _detach_quietly(gateway, old))
        transaction.on_commit(lambda: _charge_unpaid(billing.client_id))
    return billing


def _charge_unpaid(client_id: int) -> None:
    """A new card pays the invoices still waiting (one whose charge was declined, say)."""
    from .models import Invoice
    from .tasks import invoice_charge

    unpaid = Invoice.objects.filter(client_id=client_id, status=Invoice.Status.ISSUED)
    for pk in unpaid.values_list("pk", flat=True):
        invoice_charge.delay(pk)


def _detach_quietly(gateway: Processor, payment_method_id: str) -> None:
    try:
        gateway.detach(payment_method_id)
    except ProcessorError:
        logger.warning("the replaced card %s is still attached at the processor", payment_method_id)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except (ValueError, TypeError):
        return False
    return True


def card_remove(*, client: Client, actor) -> ClientBilling:
    """Delete the card here and at the processor (first there: if the processor cannot be
    reached the card stays, and the admin is told)."""
    from .billing import billing_of

    billing = billing_of(client)
    if not billing.has_card:
        return billing
    gateway = processor()
    if gateway is not None:
        gateway.detach(billing.processor_payment_method_id)
    with transaction.atomic():
        ClientBilling.objects.filter(pk=billing.pk).update(
            processor_payment_method_id="",
            card_brand="",
            card_last4="",
            card_exp_month=None,
            card_exp_year=None,
        )
        audit.record(
            actor=actor,
            action=audit.Action.PAYMENT_CARD_REMOVED,
            target=client,
            client=client,
            changes={"card": (None, None)},
        )
    billing.refresh_from_db()
    return billing
