"""The providers' delivery-event webhooks, `/mail/events/<provider>/tracking/`, in front of
django-anymail's views.

Anymail alone accepts calls without any authentication (with a warning) when no secret is
set; here, with MAIL_WEBHOOK_SECRET unset, every webhook answers 404 and does nothing, and with
it set every call must carry it as HTTP basic auth (`https://user:pass@host/mail/events/...`
in the provider's settings). Mailgun signs its posts too: its webhook also needs
MAILGUN_WEBHOOK_SIGNING_KEY and checks the signature (anymail's check). Settings are read at
each request, not when the URLconf loads.

Answers: 403 when authentication fails; 200 for a body that is not a readable event (garbage,
the wrong webhook, an unknown event): the provider would only resend it forever; an error
while recording a real event is a 500, which providers retry later. Amazon SES is not routed:
its SNS signature check fetches the signing certificate from AWS.
"""

import logging

from anymail.exceptions import (
    AnymailConfigurationError,
    AnymailError,
    AnymailWebhookValidationFailure,
)
from anymail.signals import tracking
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

logger = logging.getLogger(__name__)

PROVIDERS = {
    "brevo": BrevoTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
    "mailjet": MailjetTrackingWebhookView,
    "postmark": PostmarkTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
}

# What a body that is not a well-formed event raises in anymail's parsers.
_UNREADABLE = (ValueError, KeyError, IndexError, TypeError, AttributeError, AnymailError)


@csrf_exempt  # the provider posts; it authenticates with the secret, not a session
@require_http_methods(["POST", "HEAD"])
def tracking_webhook(request, provider: str):
    view = _anymail_view(provider)
    if request.method == "HEAD":  # some providers probe the URL when it is configured
        return HttpResponse()
    try:
        view.run_validators(request)
    except AnymailWebhookValidationFailure as exc:
        logger.warning("Mail webhook %s refused: %s", provider, exc)
        return HttpResponseForbidden("Not authenticated.", content_type="text/plain")
    try:
        events = view.parse_events(request)
    except AnymailConfigurationError as exc:  # e.g. the provider's inbound webhook set here
        logger.error("Mail webhook %s: %s", provider, exc)
        return HttpResponse()
    except _UNREADABLE as exc:
        logger.warning(
            "Mail webhook %s: unreadable body ignored (%s)", provider, type(exc).__name__
        )
        return HttpResponse()
    for event in events:
        tracking.send(sender=type(view), event=event, esp_name=view.esp_name)
    return HttpResponse()


def _anymail_view(provider: str):
    """Anymail's view for `provider`, configured from the settings as they are now; 404 when
    the provider is unknown or its secret is not set."""
    view_class = PROVIDERS.get(provider)
    secret = settings.MAIL_WEBHOOK_SECRET
    if view_class is None or not secret:
        raise Http404("No such webhook.")
    options = {"webhook_secret": [secret]}
    if view_class is MailgunTrackingWebhookView:
        signing_key = settings.MAILGUN_WEBHOOK_SIGNING_KEY
        if not signing_key:
            raise Http404("No such webhook.")
        options["webhook_signing_key"] = signing_key
    return view_class(**options)
