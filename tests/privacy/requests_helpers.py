"""Shared by the tests/privacy/test_requests_*.py files: filing requests through the services
and reading the mail they queued."""

from opsx.models import OutboundMessage
from privacy import services
from privacy.models import PrivacyRequest

Kind = PrivacyRequest.Kind
Channel = PrivacyRequest.Channel
Status = PrivacyRequest.Status


def visitor_request(
    *, kind=Kind.ACCESS, email="vera@visitor.example", name="Vera Visitor", **kwargs
) -> PrivacyRequest:
    return services.request_file(
        kind=kind,
        channel=Channel.PUBLIC,
        name=name,
        email=email,
        details=kwargs.pop("details", "Please send me what you hold."),
        **kwargs,
    )


def confirmed_visitor_request(**kwargs) -> PrivacyRequest:
    request = visitor_request(**kwargs)
    services.request_verify(request=request, actor=None)
    request.refresh_from_db()
    return request


def prospect_request(client, **kwargs) -> PrivacyRequest:
    """A confirmed prospect data request naming `client`."""
    kwargs.setdefault("email", "paula@prospect.example")
    kwargs.setdefault("name", "Paula Prospect")
    kwargs.setdefault("details", "I bought a boiler from them in 2021.")
    return confirmed_visitor_request(kind=Kind.PROSPECT_DATA, client=client, **kwargs)


def account_request(user, *, kind=Kind.ACCESS, **kwargs) -> PrivacyRequest:
    return services.request_file(
        kind=kind,
        channel=Channel.ACCOUNT,
        requester=user,
        name="",
        email="",
        details=kwargs.pop("details", ""),
        **kwargs,
    )


def mails_to(address: str, template_words: str = "") -> list[OutboundMessage]:
    return [
        m
        for m in OutboundMessage.objects.filter(to_email=address).order_by("created_at")
        if template_words in m.subject
    ]


def link_in(message: OutboundMessage) -> str:
    """The path of the request's signed link in a mail."""
    from django.conf import settings

    for line in message.body_text.splitlines():
        if line.startswith(settings.SITE_URL + "/privacy/requests/"):
            return line.strip()[len(settings.SITE_URL) :]
    raise AssertionError(f"no request link in {message.body_text!r}")
