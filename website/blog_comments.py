"""Comments on blog posts: signed-in people comment, moderated like the forum (website.community
does the checks, flags and hiding). The post page (the blog's view) merges
`comment_section(request, post)` into its context and includes
templates/website/blog/_comments.html; the endpoints below post back to that page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from clients import audit
from opsx.forms import posted

from . import community, community_views, queries
from .community_forms import CommentForm
from .models import BlogComment, BlogPost


def post_url(post: BlogPost) -> str:
    """The post page, where the comments are."""
    return reverse("blog_post", args=[post.slug])


def comment_url(comment: BlogComment) -> str:
    return f"{post_url(comment.post)}#comment-{comment.public_id}"


# --- the service ------------------------------------------------------------------------------


@transaction.atomic
def comment_post(*, post: BlogPost, body: str, actor) -> BlogComment:
    """`actor` comments on `post`; refused when the post's comments are closed, and by every
    community limit (website.community)."""
    if not post.comments_open:
        raise ValidationError("Comments on this post are closed.", code="closed")
    body = community.checked_new_post(user=actor, body=body, topic=False)
    comment = BlogComment.objects.create(post=post, author=actor, body=body)
    audit.record(
        actor=actor, action=audit.Action.BLOG_COMMENT_POSTED, target=comment, client=audit.NO_CLIENT
    )
    return comment


# --- the section on the post page -------------------------------------------------------------


def comment_section(request, post: BlogPost) -> dict:
    """The post page's comment context: the comments as this reader sees them (one query,
    authors joined), the form for a signed-in reader while comments are open (none for a
    visitor: the page then sets no cookie), and the notice that comments are public."""
    signed_in = request.user.is_authenticated
    comments = [community.shown(c, request.user) for c in queries.post_comments(post)]
    return {
        "comments": comments,
        "comment_form": CommentForm() if signed_in and post.comments_open else None,
        "comments_open": post.comments_open,
        "comment_post_action": reverse("blog_comment_new", args=[post.slug]),
        "comment_notice": community.PUBLIC_NOTICE,
        "comment_sign_in_next": post_url(post),
    }


# --- the endpoints ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def comment_new(request, slug):
    """POST from the post page's form. A refused comment is shown again on a page of its own,
    with the reason and the text kept."""
    post = queries.published_post(slug)
    form = CommentForm(posted(request))
    done, status = community_views.submit(
        request,
        form,
        lambda data: comment_post(post=post, body=data["body"], actor=request.user),
        success="Your comment is posted.",
        then=comment_url,
    )
    if done:
        return done
    context = {
        "post": post,
        "form": form,
        "notice": community.PUBLIC_NOTICE,
        "back": post_url(post),
    }
    return render(request, "website/blog/comment_new.html", context, status=status)


def _comment(public_id) -> BlogComment:
    return get_object_or_404(
        BlogComment.objects.select_related("post", "author"),
        public_id=public_id,
        post__status=BlogPost.Status.PUBLISHED,
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_edit(request, public_id):
    comment = _comment(public_id)
    return community_views.edit(request, comment, back=comment_url(comment), what="comment")


@login_required
@require_http_methods(["GET", "POST"])
def comment_delete(request, public_id):
    comment = _comment(public_id)
    return community_views.delete(request, comment, back=comment_url(comment), what="comment")


@login_required
@require_http_methods(["GET", "POST"])
def comment_flag(request, public_id):
    comment = _comment(public_id)
    return community_views.flag(request, comment, back=comment_url(comment), what="comment")
