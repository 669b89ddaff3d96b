import logging
from datetime import timedelta

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.core import context as allauth_context
from allauth.core import ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.internal import httpkit
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import JsonResponse
from django.shortcuts import render
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse

from opsx import mail

from . import ratelimits, services

logger = logging.getLogger(__name__)


def _client_refused_json(client) -> JsonResponse:
    if client.status == client.Status.CLOSED:
        code, message = "client_closed", "Your company closed its OpsX account."
    else:
        code = "client_suspended"
        message = (
            "You cannot sign in while your company's OpsX account is suspended. Your data is "
            "kept. Your company's OpsX administrator or HexCM support can tell you more."
        )
    return JsonResponse({"status": 403, "errors": [{"code": code, "message": message}]}, status=403)


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Sign-up is "Start a client account": the company and its first admin together."""
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        return services.client_account_start(
            user=user, company_name=data["company_name"], full_name=data["full_name"]
        )

    def respond_email_verification_sent(self, request, user):
        """Without a user this answers a sign-up that created nothing: the address already has
        an account (allauth's enumeration prevention) or the form was a bot's. A real sign-up
        hashes the password (about 150 ms with Argon2), so hash the submitted one here too:
        otherwise the answer's speed would tell whether the address has an account."""
        if user is None and request.method == "POST":
            make_password(request.POST.get("password1", ""))
        return super().respond_email_verification_sent(request, user)

    def pre_login(self, request, user, **kwargs):
        client = getattr(user, "client", None)
        if client is not None and not client.is_active:
            clear_login(request)
            if getattr(getattr(request, "allauth", None), "headless", None) is not None:
                # allauth's headless views drop an adapter's response and answer a bare 401:
                # the mobile app is told why, in allauth's error shape.
                raise ImmediateHttpResponse(_client_refused_json(client))
            return render(request, "account/client_suspended.html", {"client": client}, status=403)
        return super().pre_login(request, user, **kwargs)

    def send_mail(self, template_prefix, email, context_data):
        """allauth's mails (verification, password reset, ...) go through our outbox; one that
        carries a secret link or code expires with it (`_secret_ttl`)."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context_data)
        message = self.render_mail(template_prefix, email, ctx)
        mail.queue_email_message(
            message,
            category=mail.Category.ACCOUNT,
            secret_ttl=_secret_ttl(template_prefix, has_code="code" in context_data),
        )

    def render_mail(self, template_prefix, email, context, headers=None):
        """allauth's own rendering, except that the plain-text parts (subject, `.txt` body)
        render without HTML escaping: a name like "Evil & Co" arrives as typed."""
        to = [email] if isinstance(email, str) else email
        request = allauth_context.request
        subject = mail.render_text(f"{template_prefix}_subject.txt", context, request)
        subject = self.format_email_subject(" ".join(subject.splitlines()).strip())
        try:
            body_html = render_to_string(
                f"{template_prefix}_message.{allauth_settings.TEMPLATE_EXTENSION}", context, request
            ).strip()
        except TemplateDoesNotExist:
            body_html = None
        try:
            body_text = mail.render_text(f"{template_prefix}_message.txt", context, request)
        except TemplateDoesNotExist:
            if body_html is None:
                raise  # allauth needs at least one body too
            message = EmailMessage(subject, body_html, self.get_from_email(), to, headers=headers)
            message.content_subtype = "html"
            return message
        message = EmailMultiAlternatives(
            subject, body_text.strip(), self.get_from_email(), to, headers=headers
        )
        if body_html is not None:
            message.attach_alternative(body_html, "text/html")
        return message

    # --- Client IP and sign-in failure limits (see accounts/ratelimits.py) --------------------

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            "Too many failed sign-in attempts. Wait five minutes and try again, or reset your "
            "password."
        ),
    }

    def get_client_ip(self, request):
        """The client's address for rate limits and the sessions list (``opsx.http.client_ip``).

        allauth reads ``ALLAUTH_TRUSTED_PROXY_COUNT`` / ``ALLAUTH_TRUSTED_CLIENT_IP_HEADER``
        (from ``TRUSTED_PROXY_COUNT`` / ``TRUSTED_CLIENT_IP_HEADER``). A request that did not
        come through all our proxies (fewer X-Forwarded-For hops than trusted, or no valid
        address where our proxy puts it) would be a 500 or 403 there; it falls back to the
        socket's peer, which cannot be forged (at worst it shares its proxy's limits).
        """
        try:
            ip = httpkit.get_client_ip(request)
        except ImproperlyConfigured:
            ip = None
        if ip is None:
            ip = httpkit.clean_client_ip(request.META.get("REMOTE_ADDR") or "")
            logger.warning("No client address where the proxy settings say; using REMOTE_ADDR")
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def _get_login_attempts_cache_key(self, request, **credentials):
        """allauth's per-account key of failed passwords, narrowed to this browser when it
        presents a valid device cookie for the account (so a stranger cannot lock the owner
        out). Used by ``pre_authenticate`` and by the clean-up after a password reset."""
        key = super()._get_login_attempts_cache_key(request, **credentials)
        login = credentials.get("email", credentials.get("username", ""))
        return ratelimits.login_failed_key(key, ratelimits.device_for_login(request, login))

    def _delete_login_attempts_cached_email(self, request, **credentials):
        """A password reset proves the mailbox: clear the account's shared bucket too, not only
        the resetting browser's (allauth clears "the account's" failures here)."""
        super()._delete_login_attempts_cached_email(request, **credentials)
        account_key = DefaultAccountAdapter._get_login_attempts_cache_key(
            self, request, **credentials
        )
        ratelimit.clear(request, action="login_failed", key=account_key)

    def get_login_redirect_url(self, request):
        """HexCM staff belong to no client: after signing in (and their second factor) they go
        to Django admin, where their work is, not to the clients' dashboard that refuses them.
        A `next` address still wins (allauth reads it first)."""
        user = request.user
        if user.is_authenticated and user.is_staff and user.client_id is None:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        ratelimits.remember_device(request, response, user)
        return response


def _secret_ttl(template_prefix: str, *, has_code: bool) -> timedelta | None:
    """How long the link or code in one of allauth's mails works (None: it carries none)."""
    name = template_prefix.rsplit("/", 1)[-1]
    if name == "password_reset_key":
        return timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    if name == "password_reset_code":
        return timedelta(seconds=allauth_settings.PASSWORD_RESET_BY_CODE_TIMEOUT)
    if name == "login_code":
        return timedelta(seconds=allauth_settings.LOGIN_BY_CODE_TIMEOUT)
    if name in ("email_confirmation", "email_confirmation_signup"):
        if has_code:
            return timedelta(seconds=allauth_settings.EMAIL_VERIFICATION_BY_CODE_TIMEOUT)
        return timedelta(days=allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS)
    return None
