from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.core import context
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
