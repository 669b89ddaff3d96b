"""Removal requests for forum posts and blog comments (privacy.removals, registered in
WebsiteConfig.ready): staff paste the posts' links or ids, the handler removes each (text
emptied, hidden="removal", audited COMMUNITY_REMOVED) and completes the request, telling the
requester. To refuse, staff use the request's own "Refuse" action: its reason is mailed."""

import re
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from privacy import removals, services
from privacy.models import PrivacyRequest

from . import community
from .models import BlogComment, ForumPost

Target = PrivacyRequest.RemovalTarget

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
MAX_POSTS = 100


class _PostsForm(forms.Form):
    model = None
    what = ""

    posts = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=10_000,
        help_text="One per line: the post's link (it ends in #post-… or #comment-…) or its id.",
    )

    def clean_posts(self):
        lines = [line.strip() for line in self.cleaned_data["posts"].splitlines() if line.strip()]
        if len(lines) > MAX_POSTS:
            raise ValidationError(f"At most {MAX_POSTS} at a time.")
        ids = []
        for line in lines:
            found = _UUID.findall(line)
            if len(found) != 1:
                raise ValidationError(f"No single post id in “{line[:100]}”.")
            ids.append(uuid.UUID(found[-1]))
        posts = {p.public_id: p for p in self.model.objects.filter(public_id__in=ids)}
        missing = [str(i) for i in ids if i not in posts]
        if missing:
            raise ValidationError(f"No {self.what} has the id {', '.join(missing)}.")
        return list(posts.values())


class ForumPostsForm(_PostsForm):
    model = ForumPost
    what = "forum post"


class BlogCommentsForm(_PostsForm):
    model = BlogComment
    what = "blog comment"


def _handler(what: str):
    @transaction.atomic
    def remove(*, request: PrivacyRequest, data: dict, actor) -> PrivacyRequest:
        posts = data["posts"]
        for post in posts:
            community.post_remove_for_request(post=post, actor=actor)
        n = len(posts)
        outcome = (
            f"We removed {n} {what}{'s' if n != 1 else ''} you asked about: "
            f"{'their' if n != 1 else 'its'} text is deleted and the page now says "
            "“Removed on a privacy request”."
        )
        return services.request_complete(request=request, actor=actor, outcome=outcome)

    return remove


def register() -> None:
    removals.register(
        Target.FORUM_POST,
        "Remove the forum posts (by link or id) and complete the request",
        ForumPostsForm,
        _handler("forum post"),
    )
    removals.register(
        Target.BLOG_COMMENT,
        "Remove the blog comments (by link or id) and complete the request",
        BlogCommentsForm,
        _handler("blog comment"),
    )
