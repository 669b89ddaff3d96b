import uuid

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.urls import reverse

# A subprocessor's site is a link on a public page: http(s) only, never javascript: or data:.
website_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter the company's web address, starting with https://."
)


class Subprocessor(models.Model):
    """A company that processes personal data for HexCM, listed on /subprocessors/. Kept by
    staff in Django admin; an inactive row stays for the record but leaves the page."""

    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=300, help_text="What the company does for OpsX.")
    data_processed = models.TextField(help_text="Which personal data it receives or stores.")
    location = models.CharField(
        max_length=120, help_text="Where the data is processed: the country or region."
    )
    website = models.URLField(
        max_length=300, validators=[website_url_validator], help_text="https://…"
    )
    # Lower first on the page; equal orders fall back to the name.
    order = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True, help_text="Listed on the public page.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="subprocessor_name_unique")]

    def __str__(self) -> str:
        return self.name


# --- blog --------------------------------------------------------------------------------------


class BlogPost(models.Model):
    """A post staff write in Django admin: Markdown (opsx.markdown renders it, no raw HTML),
    shown on /blog/ once published and its publish time has come."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # audit target
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    # The page's meta description and the summary on /blog/ and in the feed.
    description = models.CharField(max_length=300)
    body = models.TextField(help_text="Markdown. Raw HTML is shown as text.")
    cover = models.ImageField(upload_to="blog/covers/", blank=True)
    cover_alt = models.CharField(
        max_length=200, blank=True, help_text="What the cover shows, for people who cannot see it."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Set when published; a time in the future keeps the post off the site until then.
    published_at = models.DateTimeField(null=True, blank=True)
    comments_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="blogpost_status_published")
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(published_at__isnull=False),
                name="blogpost_published_has_date",
            )
        ]

    def __str__(self) -> str:
        return self.title


# --- community: moderation shared by blog comments and forum posts -----------------------------


class Moderated(models.Model):
    """What a blog comment and a forum post share: an author, Markdown text, editing by the
    author, and hiding by staff or by flags. A hidden post is shown to nobody but staff and
    its author; it stays until staff restore or delete it."""

    class Hidden(models.TextChoices):
        NO = "", "Shown"
        FLAGS = "flags", "Hidden by flags, waiting for staff"
        STAFF = "staff", "Hidden by staff"
        AUTHOR = "author", "Removed by its author"
        REMOVAL = "removal", "Removed on a privacy request"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # audit target
    # SET_NULL: an erased account's posts stay, shown as by "a former member", unless the
    # person asked for them to go (a removal request).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField()  # Markdown, rendered by opsx.markdown
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden = models.CharField(max_length=10, choices=Hidden.choices, default="", blank=True)
    hidden_reason = models.CharField(max_length=300, blank=True)  # told to the author
    # Kept equal to the number of Flag rows not yet reviewed; 3 hides the post.
    flag_count = models.PositiveSmallIntegerField(default=0)
    # Staff looked at the flags and kept the post: new flags no longer hide it by themselves.
    flags_reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class BlogComment(Moderated):
    post = models.ForeignKey(BlogPost, on_delete=models.CASCADE, related_name="comments")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["post", "created_at"], name="blogcomment_post_created")]
        # Author lookups: a person's posts for their data export and for a removal request.
        indexes += [models.Index(fields=["author"], name="blogcomment_author")]

    def __str__(self) -> str:
        return f"Comment on {self.post_id} at {self.created_at:%Y-%m-%d %H:%M}"


class ForumCategory(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "forum categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("forum_category", args=[self.slug])


class ForumTopic(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # audit target
    category = models.ForeignKey(ForumCategory, on_delete=models.PROTECT, related_name="topics")
    title = models.CharField(max_length=150)
    slug = models.SlugField(max_length=160)  # for the address only; the pk finds the topic
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Denormalised for the lists: set by the services in the transaction that adds a post.
    last_posted_at = models.DateTimeField()
    reply_count = models.PositiveIntegerField(default=0)  # shown replies, the first post excluded
    locked = models.BooleanField(default=False)  # no more replies
    pinned = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)  # hidden with its first post

    class Meta:
        ordering = ["-pinned", "-last_posted_at", "-pk"]
        indexes = [
            models.Index(
                fields=["category", "hidden", "-pinned", "-last_posted_at"],
                name="forumtopic_category_list",
            ),
            models.Index(fields=["hidden", "-last_posted_at"], name="forumtopic_latest"),
            models.Index(fields=["author", "created_at"], name="forumtopic_author_created"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("forum_topic", args=[self.pk, self.slug])


class ForumPost(Moderated):
    topic = models.ForeignKey(ForumTopic, on_delete=models.CASCADE, related_name="posts")
    is_first = models.BooleanField(default=False)  # the topic's opening post

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["topic", "created_at"], name="forumpost_topic_created"),
            # Trust-level limits count a person's posts of the last day.
            models.Index(fields=["author", "created_at"], name="forumpost_author_created"),
        ]

    def __str__(self) -> str:
        return f"Post in topic {self.topic_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Flag(models.Model):
    """Someone signed in says a post breaks the rules. One per person per post."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        ABUSE = "abuse", "Rude, abusive or hateful"
        PERSONAL = "personal", "Shares someone's personal information"
        OFF_TOPIC = "off_topic", "Off topic"
        OTHER = "other", "Something else"

    flagger = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    forum_post = models.ForeignKey(
        ForumPost, on_delete=models.CASCADE, null=True, blank=True, related_name="flags"
    )
    blog_comment = models.ForeignKey(
        BlogComment, on_delete=models.CASCADE, null=True, blank=True, related_name="flags"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Staff looked at it (kept the post or hid it); a reviewed flag no longer counts.
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(forum_post__isnull=False, blog_comment__isnull=True)
                | models.Q(forum_post__isnull=True, blog_comment__isnull=False),
                name="flag_one_target",
            ),
            models.UniqueConstraint(
                fields=["flagger", "forum_post"],
                condition=models.Q(forum_post__isnull=False),
                name="flag_once_per_post",
            ),
            models.UniqueConstraint(
                fields=["flagger", "blog_comment"],
                condition=models.Q(blog_comment__isnull=False),
                name="flag_once_per_comment",
            ),
        ]
        indexes = [models.Index(fields=["reviewed_at"], name="flag_reviewed")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.created_at:%Y-%m-%d})"


class CommunityBan(models.Model):
    """Staff stopped a person posting in the forum and blog comments, until a date or for good."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_ban"
    )
    reason = models.CharField(max_length=300)  # shown to the person
    until = models.DateTimeField(null=True, blank=True)  # None: no end
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Ban of user {self.user_id}"


class TopicRead(models.Model):
    """A signed-in person opened a topic: what the first trust level counts ("has read a
    little"). One row per person per topic, written at most once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(ForumTopic, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="topicread_once")]

    def __str__(self) -> str:
        return f"User {self.user_id} read topic {self.topic_id}"
