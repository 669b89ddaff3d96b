from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.core import context
from django.contrib.auth.hashers import make_password
from django.contrib.sites.shortcuts import get_current_site
from django.shortcuts import render

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
            return render(request, "account/client_suspended.html", {"client": client}, status=403)
        return super().pre_login(request, user, **kwargs)

    def send_mail(self, template_prefix, email, context_data):
        """allauth's mails (verification, password reset, ...) go through our outbox."""
        request = context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context_data)
        message = self.render_mail(template_prefix, email, ctx)
        mail.queue_email_message(message, category=mail.Category.ACCOUNT)
