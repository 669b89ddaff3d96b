from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Invitation, User
from clients.models import Client

PASSWORD = "correct horse battery staple"


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    contact_email = factory.Sequence(lambda n: f"contact{n}@client.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    client = factory.SubFactory(ClientFactory)
    role = User.Role.MEMBER
    age_check_passed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class AdminFactory(UserFactory):
    role = User.Role.ADMIN


class StaffFactory(UserFactory):
    client = None
    is_staff = True
    is_superuser = True


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    client = factory.SubFactory(ClientFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    invited_by = factory.SubFactory(AdminFactory, client=factory.SelfAttribute("..client"))


class ProspectFactory(factory.django.DjangoModelFactory):
    """A prospect built through the model with its derived search fields filled."""

    class Meta:
        model = "prospects.Prospect"

    client = factory.SubFactory(ClientFactory)
    name = factory.Faker("name")
    organisation = factory.Faker("company")
    email = factory.Sequence(lambda n: f"prospect{n}@customer.example")

    @classmethod
    def _create(cls, model_class, *args, phones=(), **kwargs):
        from prospects.models import ProspectPhone

        prospect = model_class(*args, **kwargs)
        prospect.refresh_derived()
        prospect.save()
        for number in phones:
            ProspectPhone.objects.create(
                client=prospect.client, prospect=prospect, number=number, digits=number[1:]
            )
        return prospect


class BlogPostFactory(factory.django.DjangoModelFactory):
    """A blog post on the site (published an hour ago) by a staff author; pass
    status="draft", published_at=None for a draft, or a future published_at."""

    class Meta:
        model = "website.BlogPost"

    title = factory.Sequence(lambda n: f"Field notes {n}")
    slug = factory.Sequence(lambda n: f"field-notes-{n}")
    description = factory.LazyAttribute(lambda post: f"What we learnt: {post.title}.")
    body = "## What we saw\n\nField teams plan their **visits** the evening before."
    author = factory.SubFactory(StaffFactory)
    status = "published"
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
