from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import BlogComment, BlogPost, ForumCategory, ForumPost, ForumTopic, Subprocessor


def subprocessors_listed() -> QuerySet[Subprocessor]:
    """The subprocessors the public page lists, in staff's order."""
    return Subprocessor.objects.filter(active=True).order_by("order", "name")


# --- forum and blog comments ------------------------------------------------------------------


def forum_categories() -> QuerySet[ForumCategory]:
    """The categories in staff's order, each with its shown topics' count and latest activity:
    one query (GROUP BY over the topics' category index)."""
    shown = Q(topics__hidden=False)
    return ForumCategory.objects.annotate(
        topic_count=Count("topics", filter=shown),
        latest_at=Max("topics__last_posted_at", filter=shown),
    ).order_by("order", "name")


def category_topics(category: ForumCategory) -> QuerySet[ForumTopic]:
    """A category's shown topics, pinned first, then by latest activity (the
    forumtopic_category_list index), with their authors."""
    return (
        ForumTopic.objects.filter(category=category, hidden=False)
        .select_related("author")
        .only(
            "title",
            "slug",
            "created_at",
            "last_posted_at",
            "reply_count",
            "locked",
            "pinned",
            "category_id",
            "author__full_name",
            "author__is_staff",
        )
        .order_by("-pinned", "-last_posted_at", "-pk")
    )


def topic_for_reader(pk: int, viewer) -> ForumTopic:
    """The topic with its category, or Http404. A hidden topic opens for staff and its author
    only."""
    topic = get_object_or_404(ForumTopic.objects.select_related("category"), pk=pk)
    if topic.hidden and not (
        viewer.is_authenticated and (viewer.is_staff or viewer.pk == topic.author_id)
    ):
        raise Http404("No such topic.")
    return topic


def topic_posts(topic: ForumTopic) -> QuerySet[ForumPost]:
    """A topic's posts in order (the forumpost_topic_created index), with their authors."""
    return (
        ForumPost.objects.filter(topic=topic).select_related("author").order_by("created_at", "pk")
    )


def post_comments(post: BlogPost) -> QuerySet[BlogComment]:
    """A blog post's comments in order (the blogcomment_post_created index), with authors."""
    return (
        BlogComment.objects.filter(post=post).select_related("author").order_by("created_at", "pk")
    )


def published_post(slug: str) -> BlogPost:
    """A published blog post whose time has come, or Http404."""
    return get_object_or_404(
        BlogPost, slug=slug, status=BlogPost.Status.PUBLISHED, published_at__lte=timezone.now()
    )
