"""The forum's pages. Reading pages (the index, a category, a topic) carry no form for an
anonymous visitor, so they set no cookie; a signed-in reader gets the reply form on the topic
page. Posting pages need a signed-in user (else the sign-in page)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from opsx.forms import posted

from . import community, community_views, forum, queries
from .community_forms import PostForm, TopicForm
from .models import ForumCategory, ForumPost
from .views import reading_page

TOPICS_PER_PAGE = 30
POSTS_PER_PAGE = 30


def _page(request, queryset, per_page: int):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@reading_page
def index(request):
    """The categories with their topic counts and latest activity: one query."""
    return render(
        request, "website/forum/index.html", {"categories": list(queries.forum_categories())}
    )


@reading_page
def category(request, slug):
    category = get_object_or_404(ForumCategory, slug=slug)
    page = _page(request, queries.category_topics(category), TOPICS_PER_PAGE)
    return render(request, "website/forum/category.html", {"category": category, "page": page})


def topic(request, pk, slug):
    """The topic's posts, paginated. A wrong slug redirects to the right address; a signed-in
    reader's visit is recorded once (TopicRead)."""
    topic = queries.topic_for_reader(pk, request.user)
    if slug != topic.slug:
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return redirect(topic.get_absolute_url() + query, permanent=True)
    forum.topic_read(topic=topic, user=request.user)
    page = _page(request, queries.topic_posts(topic), POSTS_PER_PAGE)
    context = {
        "topic": topic,
        "page": page,
        "posts": [community.shown(post, request.user) for post in page],
        "form": PostForm() if request.user.is_authenticated and not topic.locked else None,
        "notice": community.PUBLIC_NOTICE,
    }
    return render(request, "website/forum/topic.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def topic_new(request, slug):
    category = get_object_or_404(ForumCategory, slug=slug)
    form = TopicForm(posted(request))
    done, status = community_views.submit(
        request,
        form,
        lambda data: forum.topic_start(category=category, actor=request.user, **data),
        success="",
        then=lambda topic: topic.get_absolute_url(),
    )
    if done:
        return done
    context = {"category": category, "form": form, "notice": community.PUBLIC_NOTICE}
    return render(request, "website/forum/topic_new.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def reply(request, pk):
    """The reply form on a page of its own: the topic page posts here, and a refused reply is
    shown here again with the reason and the text kept."""
    topic = queries.topic_for_reader(pk, request.user)
    form = PostForm(posted(request))
    done, status = community_views.submit(
        request,
        form,
        lambda data: forum.topic_reply(topic=topic, body=data["body"], actor=request.user),
        success="Your reply is posted.",
        then=lambda post: _post_url(post, topic),
    )
    if done:
        return done
    context = {"topic": topic, "form": form, "notice": community.PUBLIC_NOTICE}
    return render(request, "website/forum/reply.html", context, status=status)


def _post_url(post: ForumPost, topic=None) -> str:
    """The topic page showing `post` (its page of the thread), at the post."""
    topic = topic or post.topic
    before = ForumPost.objects.filter(
        topic_id=post.topic_id, created_at__lt=post.created_at
    ).count()
    page = before // POSTS_PER_PAGE + 1
    query = f"?page={page}" if page > 1 else ""
    return f"{topic.get_absolute_url()}{query}#post-{post.public_id}"


def _forum_post(public_id) -> ForumPost:
    return get_object_or_404(
        ForumPost.objects.select_related("topic", "author"), public_id=public_id
    )


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request, public_id):
    post = _forum_post(public_id)
    return community_views.edit(request, post, back=_post_url(post), what="post")


@login_required
@require_http_methods(["GET", "POST"])
def post_delete(request, public_id):
    post = _forum_post(public_id)
    return community_views.delete(request, post, back=_post_url(post), what="post")


@login_required
@require_http_methods(["GET", "POST"])
def post_flag(request, public_id):
    post = _forum_post(public_id)
    if post.topic.hidden:
        raise Http404("This topic is hidden.")
    return community_views.flag(request, post, back=_post_url(post), what="post")
