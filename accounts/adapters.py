from datetime import timedelta

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.core import context
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.shortcuts import render
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string

from opsx import mail

from . import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Sign-up is "Start a client account": the company and its first admin together."""
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        return services.client_account_start(
            user=user, company_name=data["company_name"], full_name=data["full_name"]
        )

    def pre_login(self, request, user, **kwargs):
        client = getattr(user, "client", None)
        if client is not None and not client.is_active:
            clear_login(request)
            return render(request, "account/client_suspended.html", {"client": client}, status=403)
        return super().pre_login(request, user, **kwargs)

    def send_mail(self, template_prefix, email, context_data):
        """allauth's mails (verification, password reset, ...) go through our outbox; one that
        carries a secret link or code expires with it (`_secret_ttl`)."""
        request = context.request
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
        request = globals()["context"].request
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
