"""Where clients keep personal data about a user: the personal data registry's entries
(opsx/personal_data.py)."""

from opsx.personal_data import Erase, Holding, register

register(
    Holding(
        "clients.AuditEvent",
        user_fields=("actor",),
        export=("created_at", "action", "target_type", "target_id", "ip_address"),
        # The trail keeps every event (its trigger refuses deletes): the actor key and the IP
        # address are cleared and the keyed hash of their address put in actor_hash, so the
        # event reads "erased user" and staff can still match it to a known address.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_audit_events",
        title="Things you did in OpsX (audit trail)",
    ),
    Holding(
        "clients.Client",
        email_fields=("contact_email",),
        export=("public_id", "name", "contact_email", "created_at"),
        # The client's contact address, when it is theirs, passes to another active admin.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_client_contact",
        title="Client accounts with your address as contact",
    ),
    Holding(
        "clients.ClientBilling",
        email_fields=("billing_email",),
        export=("legal_name", "billing_email", "updated_at"),
        # The company's billing record stays (invoices refer to it); the person's address as
        # the one invoices go to is cleared: they then go to the client's contact address.
        erase=Erase.ANONYMISE,
        anonymise={"billing_email": ""},
        title="Client accounts whose invoices go to your address",
    ),
)
