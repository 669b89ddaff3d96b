"""Seed version 1 of the privacy policy: the policy OpsX launched with (last updated 18 July
2022), summarised in our own words, published and in effect from that day. Not a material
change (nobody is mailed). Every database gets it, seed_demo included."""

import datetime

from django.db import migrations

LABEL = "1"
EFFECTIVE_ON = datetime.date(2022, 7, 18)
SUMMARY = "The first published version of the OpsX privacy policy."
BODY = """\
This is a summary, in plain words, of how HexCM Private Limited handles personal information in OpsX. Where this version and the OpsX Terms of Use use the same capitalised words, they mean the same thing.

## Who we are

OpsX is an application for field teams, made and run by HexCM Private Limited ("HexCM", "we"). The companies that buy OpsX are our **Clients**. A **User** is someone who works for a Client and signs in to the restricted area of OpsX. A **Visitor** only reads the public pages and never signs in. **Client Data** is what Users store in OpsX: people's details, reports, addresses, files and folders. **Personal Data** is any information about a person who can be identified.

This policy covers the personal information we collect when you use the OpsX website, web application or mobile application. Firms outside our ownership or control, and people who are not our staff, are outside its scope. By using OpsX you accept the practices described here.

We process personal data mainly because we need to in order to provide the service under our Terms of Service, and because of our legitimate interests, which are described under "How we use information". Where we rely on your consent, we ask for it.

## What we collect about you

- What you give us yourself: for example your name, your email address and details of your browser.
- Some information, such as payment card details, is yours to withhold; without it, signing up or some features may be out of reach.
- Please do not put highly sensitive information, such as national identity numbers, financial details or health information, in emails to us.
- OpsX currently has no ready-made connection to other vendors' products.

## Your prospects' data

To provide the service we store whatever you choose to enter about your own customers ("Prospects"): typically who they are and how to reach them (phone, email), plus anything else you add. HexCM itself has no relationship with these people. Each Client is responsible for telling its prospects why it collects their data and how it is handled in OpsX.

## Referrals

If you use our referral feature to tell a friend about OpsX, we ask who they are (a name and an address to write to) and send them one or more emails about OpsX. We keep these details only to send those emails and to see how well the referral programme works. Your friend can ask us to remove them at any time.

## Server logs and cookies

Each time you use the website or the application, our servers log what your browser sends us: the IP address, any cookie it carries and which page it asked for. Cookies are identifiers we place on your computer or phone so that we can recognise your browser or device and know how and when pages are used. You can set your browser or device to refuse or limit cookies, but parts of the web and mobile application may then not work. A third-party site you follow a link to may set its own cookies; this policy does not cover them.

## Mobile device tokens

The mobile application creates a unique token for each device, and we store it. It lets push notifications reach the right device and stops one set of credentials being used on several devices. When a User leaves their company or is deactivated, an administrator of that Client can remove the token from the Admin tasks pages.

## No third-party analytics

Neither the web application nor the mobile application sends anything to an outside analytics provider.

## Email and legal notices

We may write to you, by email or otherwise, for example about your use of OpsX. You can tell us that you do not want such messages. Legal notices are different: they apply to your use of OpsX whether or not you choose to receive them, and it is up to you to look out for changes.

## Newsletter

A newsletter you subscribe to is sent using the name and address you gave for it. You can stop it whenever you like, through the unsubscribe instructions in every newsletter or by writing to us.

## How we use information

We use personal information to run and improve OpsX, to let Users create an account and a profile, to contact Users, to do what you ask of the service, to understand how the website and application are used, and for the other purposes this policy describes. Some information is needed to create an account, to take payments and to provide the service at all. It also helps us find breaches of the Terms of Service (spam or prohibited content, for instance).

Your information may be transferred to, kept and processed in countries we choose, the United States among them. Wherever it is, we take reasonable steps to keep it secure and handled as this policy says.

## Sharing

Nobody buys or rents from us personal information about you or your prospects in a form that identifies anyone, and we do not give it to other companies without your consent except to deliver and improve the service. We share it only in these cases:

- **Companies and people who work for us**, for example on maintenance, database management, web analytics and improving the service. They receive only what they need for the task and may not use it for anything else, unless we tell you otherwise.
- **A change of ownership.** If HexCM reorganises, merges, sells its assets, is taken over, goes out of business or enters bankruptcy, customer information may pass to the new owner. We will tell you by email or by a clear notice on our website, together with any choices you have.
- **Protecting HexCM and others.** We may access, keep and disclose information when we reasonably believe it is needed to obey the law or a court order, to enforce our terms and agreements, or to keep HexCM, our staff, our users or anyone else safe and their rights and property protected. This includes working with other organisations against fraud and to reduce credit risk.

## What we look at, and support access on request

We can see two kinds of information: personal information (name, email address, company details) and general statistics (such as active users per Client, features used, amount of data stored, server load and data use).

We may look at your personal information for billing and invoicing, to tell you about changes to the service, and when the Terms are broken or we suspect they are (for example spam, prohibited content or abusive language).

Our support team opens your account only when you ask them to, to answer your questions or to fix a problem you reported or that our systems reported to us.

## Statistics

We use the general statistics of accounts to give efficient, proactive support and for benchmarks. These figures serve only to follow how well the service performs, to find possible problems in OpsX and solve them quickly, and to compute benchmarks that help every user get more out of the service.

## Security

A password guards your account. Choose it with care, keep it to yourself, limit who can use your computer, phone and browser, and sign out when you have finished.

We work to protect your account and the personal information we hold, but no system is perfectly secure: information sent over the Internet can be intercepted, and intrusion, misuse or hardware and software faults could expose it. When this version was written, information sent between your device and OpsX was not yet encrypted on its way; we said we were working on it.

The website may link to other sites. Their privacy practices are theirs, not ours: read their policies when you visit them.

## What you can access and change

In your account settings you can see, and sometimes change or delete:

- your name and password;
- your email address;
- your payment card details.

What you can see and change may grow or shrink as OpsX changes. For questions about the information we hold on you, write to us: we answer a request for access within 30 days.

## Testimonials

We publish customer testimonials, comments and reviews on our website, and they may identify the person who wrote them. We ask for the customer's consent by email before we show their name with their testimonial. You can ask us to remove your personal information from a testimonial or comment.

## Retention and deletion

You may always choose not to give us information, though some of it is needed to sign up or to use certain features. You can add, change or delete information as described under "What you can access and change". When you change information, we may keep a copy of the earlier version in our records.

We keep your information for as long as your account stays open, or as long as we need it to provide the service. You can ask us to delete your account. Some information may still remain in our own records after you delete it from your account: we keep and use what we must in order to meet our legal obligations, settle disputes and make our agreements hold. Aggregated figures derived from your information may still be used after you change or delete it, but never in a way that identifies you.

## Client data: ask the Client

The rules above stop where Client Data begins: personal data a Client stored in OpsX is not covered by them. That data is managed under the privacy policy of the Client who put it into OpsX, and a request to see, correct or delete it should go to that Client.

## Blog and community forum

Our website has public blogs and community forums. Anything you post there is public: whoever visits can read it, copy it and use it. You can ask us to remove your personal information from the blog or forum; if we cannot, we will tell you so and explain why.

## Children under 16

OpsX is not meant for anyone under 16. We do not knowingly collect personal information from children under 16 or let them sign up, and nobody under 16 may give us personal information. If we find that we hold information about a child under 16, we delete it as fast as we can. If you think a child under 16 has given us personal information, please tell us.

## Changes to this policy

We may change this policy from time to time. Information is governed by the version that was in effect on the day the information is used. Before a material change, or a change in how we use personal information, takes effect, we will tell you beforehand, by email or with a notice on our website. Once a change has been posted, using the website afterwards means you accept it.

## Contact

For any question or concern about privacy at OpsX, or any of the requests above, write to us with the details at [team@thehexcm.com](mailto:team@thehexcm.com).
"""


def seed(apps, schema_editor):
    PolicyVersion = apps.get_model("privacy", "PolicyVersion")
    if PolicyVersion.objects.filter(label=LABEL).exists():
        return
    PolicyVersion.objects.create(
        label=LABEL,
        effective_on=EFFECTIVE_ON,
        body=BODY,
        summary=SUMMARY,
        material=False,
        published_at=datetime.datetime(2022, 7, 18, tzinfo=datetime.UTC),
    )


def unseed(apps, schema_editor):
    PolicyVersion = apps.get_model("privacy", "PolicyVersion")
    PolicyVersion.objects.filter(label=LABEL, published_by__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0003_policies_public_id_label"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
