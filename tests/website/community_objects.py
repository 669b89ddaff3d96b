"""Community rows for tests: a forum topic with posts, blog posts with comments, and a person's
rows in every community holding (for the access archive and erasure tests)."""

from datetime import timedelta

from django.utils import timezone

from website.models import (
    BlogComment,
    BlogPost,
    CommunityBan,
    Flag,
    ForumCategory,
    ForumPost,
    ForumTopic,
    TopicRead,
)


def category(slug="field-tips", name="Field tips") -> ForumCategory:
    return ForumCategory.objects.get_or_create(slug=slug, defaults={"name": name})[0]


def topic(
    author, *, in_category=None, title="Planning visits", body="How?", replies=()
) -> ForumTopic:
    """A topic written straight to the database (no limits), with its opening post and a
    reply per (author, body) in `replies`."""
    made = ForumTopic.objects.create(
        category=in_category or category(),
        title=title,
        slug="-".join(title.lower().split())[:150] or "topic",
        author=author,
        last_posted_at=timezone.now(),
        reply_count=len(replies),
    )
    ForumPost.objects.create(topic=made, author=author, body=body, is_first=True)
    for who, text in replies:
        ForumPost.objects.create(topic=made, author=who, body=text)
    return made


def blog_post(slug="hello", **fields) -> BlogPost:
    fields.setdefault("status", BlogPost.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now() - timedelta(hours=1))
    return BlogPost.objects.create(
        title=fields.pop("title", "Hello"),
        slug=slug,
        description="A post.",
        body="Hello.",
        **fields,
    )


def community_rows(user, *, other, label: str) -> dict:
    """`user` in every community holding: a blog post (as if staff), a topic and a reply, a
    comment, a flag on `other`'s post, a ban of `other` (as if staff), a topic read. The public
    ids the archive must show."""
    started = topic(other, title=f"Topic {label}", replies=[(user, f"Reply {label}")])
    mine = topic(user, title=f"Mine {label}", body=f"Opening {label}")
    post = blog_post(slug=f"post-{label.lower()}", author=user)
    comment = BlogComment.objects.create(post=post, author=user, body=f"Comment {label}")
    Flag.objects.create(
        flagger=user, forum_post=started.posts.get(is_first=True), reason=Flag.Reason.SPAM
    )
    CommunityBan.objects.get_or_create(user=other, defaults={"reason": "Spam", "banned_by": user})
    TopicRead.objects.create(user=user, topic=started)
    return {
        "website.BlogPost": str(post.public_id),
        "website.ForumTopic": str(mine.public_id),
        "website.ForumPost": str(started.posts.get(is_first=False).public_id),
        "website.BlogComment": str(comment.public_id),
    }
