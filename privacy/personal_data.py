"""Where the privacy app keeps personal data about a user: the personal data registry's
entries (opsx/personal_data.py)."""

from opsx.personal_data import Erase, Holding, register

register(
    Holding(
        "privacy.PrivacyRequest",
        user_fields=("requester", "subject_user", "assignee", "filed_by"),
        email_fields=("requester_email",),
        export=(
            "public_id",
            "kind",
            "status",
            "requester_name",
            "requester_email",
            "details",
            "received_at",
            "due_at",
            "closed_at",
            "refusal_reason",
            "outcome",
        ),
        # Kept as proof that the request was answered: the requester's name, address and
        # words are emptied and the address's keyed hash stays. Requests the person only
        # handled (staff) forget who handled them.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_privacy_requests",
        title="Your privacy requests",
    ),
    Holding(
        "privacy.PrivacyRequestEvent",
        user_fields=("actor",),
        export=("at", "action", "from_status", "to_status"),
        erase=Erase.DETACH,
        title="Your privacy requests' timelines",
    ),
    Holding(
        "privacy.AccessArchive",
        user_fields=("user",),
        export=("public_id", "status", "created_at", "expires_at", "downloaded_at"),
        erase=Erase.CUSTOM,  # the file goes too
        handler="privacy.erasure:erase_access_archives",
        title="Copies of your data we built for you",
    ),
    Holding(
        "privacy.LegalHold",
        user_fields=("user", "set_by", "released_by"),
        export=("set_at", "released_at"),
        # A hold outlives the person by design: the key goes, the keyed hash and reason stay.
        erase=Erase.DETACH,
        title="Legal holds on your records",
    ),
    Holding(
        "privacy.PolicyVersion",
        user_fields=("published_by",),
        export=("label", "published_at"),
        erase=Erase.DETACH,
        title="Privacy policy versions you published",
    ),
    Holding(
        "privacy.SupportGrant",
        user_fields=("user",),
        export=("public_id", "granted_at", "expires_at", "revoked_at", "allow_downloads", "note"),
        title="Support access you granted",
    ),
    Holding(
        "privacy.SupportAccessLog",
        user_fields=("staff",),
        export=("at", "method", "path"),
        # Pages support viewed under a user's grant are listed in that user's archive through
        # their grant (the user's holding of SupportGrant); this entry is for staff's own.
        erase=Erase.DETACH,
        title="Pages you viewed as support",
    ),
    Holding(
        "privacy.ClientClosure",
        user_fields=("requested_by", "cancelled_by"),
        export=("public_id", "status", "requested_at", "delete_after"),
        erase=Erase.DETACH,
        title="Client account closures you asked for or cancelled",
    ),
    # --- newsletter ---
    Holding(
        "privacy.NewsletterSubscriber",
        user_fields=("user",),
        email_fields=("email",),
        export=(
            "public_id",
            "email",
            "name",
            "status",
            "source",
            "created_at",
            "consented_at",
            "consent_text",
        ),
        title="Your newsletter subscription",
    ),
    Holding(
        "privacy.NewsletterIssue",
        user_fields=("created_by",),
        export=("public_id", "subject", "status", "created_at"),
        erase=Erase.DETACH,
        title="Newsletter issues you wrote",
    ),
    Holding(
        "privacy.Testimonial",
        user_fields=("created_by",),
        email_fields=("person_email",),
        export=(
            "public_id",
            "quote",
            "person_name",
            "company",
            "status",
            "requested_at",
            "consented_at",
            "consent_means",
            "declined_at",
            "withdrawn_at",
            "published_at",
            "created_by",
            "created_at",
        ),
        # Testimonials about the person (their address) are deleted with their photos; ones
        # they drafted as staff are about someone else and stay, without the key to them.
        erase=Erase.CUSTOM,
        handler="privacy.testimonials:erase_for_user",
        title="Testimonials (your words on our site, or ones you drafted as staff)",
    ),
    Holding(
        "privacy.EmailPreference",
        user_fields=("user",),
        export=("service_notices", "updated_at"),
        title="Your email preferences",
    ),
    Holding(
        "privacy.Notice",
        user_fields=("created_by",),
        export=("public_id", "title", "created_at", "sent_at"),
        # A legal notice is the record of what users were told: it stays, without its author.
        erase=Erase.DETACH,
        title="Notices you wrote",
    ),
    Holding(
        "privacy.NoticeDelivery",
        user_fields=("user",),
        export=("notice", "delivered_at", "dismissed_at"),
        title="Notices sent to you, and when you dismissed them",
    ),
)
