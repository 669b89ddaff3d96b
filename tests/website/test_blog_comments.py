"""Comments on blog posts: the section the post page shows (website.blog_comments.comment_section
and templates/website/blog/_comments.html), posting, editing, deleting and flagging, with the
community's limits. The post page itself is the blog's: these tests render the section alone
and POST to the comment endpoints."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from clients.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import UserFactory
from website import blog_comments
from website.models import BlogComment, BlogPost

from .community_objects import blog_post
from .test_csp import Resources

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action


@pytest.fixture
def post(db):
    return blog_post(slug="route-planning", title="Route planning")


def _section(post, user=None) -> tuple[dict, str]:
    request = RequestFactory().get(blog_comments.post_url(post))
    request.user = user or AnonymousUser()
    context = blog_comments.comment_section(request, post)
    return context, render_to_string("website/blog/_comments.html", context, request=request)


def _new(post):
    return reverse("blog_comment_new", args=[post.slug])


def test_a_visitor_sees_the_comments_without_a_form(post, personas):
    BlogComment.objects.create(post=post, author=personas.bob, body="Great **tips**")
    context, html = _section(post)
    assert context["comment_form"] is None
    assert "Great <strong>tips</strong>" in html and "Bob M." in html
    assert "<form" not in html and "csrfmiddlewaretoken" not in html
    assert "Sign in to comment" in html


def test_a_member_sees_the_public_notice_and_the_form(post, personas):
    context, html = _section(post, personas.bob)
    assert context["comment_form"] is not None
    assert "Everything you post here is public" in html
    assert f'action="{_new(post)}"' in html and '<label for="id_body">Your comment' in html


def test_closed_comments_show_no_form_and_refuse_new_ones(client, personas):
    closed = blog_post(slug="closed", comments_open=False)
    _context, html = _section(closed, personas.bob)
    assert "Comments on this post are closed." in html and "<form" not in html
    sign_in(client, personas.bob)
    response = client.post(_new(closed), {"body": "Hello?"})
    assert response.status_code == 400
    assert "Comments on this post are closed." in response.content.decode()
    assert not BlogComment.objects.exists()


def test_the_section_takes_the_same_queries_for_one_or_many_comments(
    post, personas, django_assert_max_num_queries
):
    BlogComment.objects.create(post=post, author=personas.bob, body="First")
    _section(post, personas.dan)  # fills the current notices' cache (a context processor)
    # one query: the comments with their authors (and the post's own comments_open, loaded)
    with django_assert_max_num_queries(1):
        _section(post, personas.dan)
    for n in range(30):
        BlogComment.objects.create(post=post, author=UserFactory(), body=f"Comment {n}")
    with django_assert_max_num_queries(1):
        context, html = _section(post, personas.dan)
    assert len(context["comments"]) == 31 and "Comment 29" in html


def test_posting_signed_out_leads_to_sign_in_and_saves_nothing(client, post):
    response = client.post(_new(post), {"body": "Hello"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not BlogComment.objects.exists()


def test_a_member_comments_audited_and_returns_to_the_post(client, personas, post):
    sign_in(client, personas.bob)
    assert client.get(_new(post)).status_code == 200
    response = client.post(_new(post), {"body": "Useful, thanks"})
    comment = BlogComment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/blog/route-planning/#comment-{comment.public_id}"
    assert comment.author == personas.bob and comment.body == "Useful, thanks"
    event = AuditEvent.objects.get(action=Action.BLOG_COMMENT_POSTED)
    assert event.actor == personas.bob and event.target_id == comment.public_id


def test_a_draft_or_future_post_takes_no_comment(client, personas):
    draft = BlogPost.objects.create(
        title="Draft", slug="draft", description="d", body="b", status=BlogPost.Status.DRAFT
    )
    sign_in(client, personas.bob)
    assert client.post(_new(draft), {"body": "Early"}).status_code == 404
    assert not BlogComment.objects.exists()


HOSTILE = (
    "<script>alert(1)</script> [x](javascript:alert(1)) ![p](data:image/png;base64,AAAA) "
    "[d](data:text/html;base64,PHNjcmlwdD4=) <img src=x onerror=alert(1)> <b onmouseover=x()>b</b>"
)


def test_hostile_comments_render_inert(post, personas):
    BlogComment.objects.create(post=post, author=personas.bob, body=HOSTILE)
    _context, html = _section(post)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and 'href="data:' not in html
    parser = Resources()
    parser.feed(html)
    assert parser.inline == [] and parser.urls == []


def test_an_oversized_comment_is_refused_with_a_message(client, personas, post):
    sign_in(client, personas.bob)
    response = client.post(_new(post), {"body": "y" * 25_000})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 20,000 characters; this one has 25,000" in html
    assert 'name="body"' in html  # the text comes back to be shortened
    assert not BlogComment.objects.exists()


def test_a_new_member_past_the_daily_limit_is_refused(client, personas, post, settings):
    settings.COMMUNITY_POST_INTERVAL_SECONDS = 0
    settings.COMMUNITY_NEW_REPLIES_PER_DAY = 2
    sign_in(client, personas.bob)
    assert client.post(_new(post), {"body": "one"}).status_code == 302
    assert client.post(_new(post), {"body": "two"}).status_code == 302
    response = client.post(_new(post), {"body": "three"})
    assert response.status_code == 400
    assert "2 replies and comments in the last 24 hours" in response.content.decode()
    assert BlogComment.objects.count() == 2


def test_commenting_twice_at_once_is_rate_limited(client, personas, post):
    sign_in(client, personas.bob)
    assert client.post(_new(post), {"body": "one"}).status_code == 302
    response = client.post(_new(post), {"body": "two"})
    assert response.status_code == 429 and "one post per 15 seconds" in response.content.decode()
    assert BlogComment.objects.count() == 1


def test_the_author_edits_and_deletes_their_comment(client, personas, post):
    comment = BlogComment.objects.create(post=post, author=personas.bob, body="Typo hre")
    sign_in(client, personas.bob)
    edit = reverse("blog_comment_edit", args=[comment.public_id])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"body": "Typo here"}).status_code == 302
    comment.refresh_from_db()
    assert comment.body == "Typo here" and comment.edited_at
    delete = reverse("blog_comment_delete", args=[comment.public_id])
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    comment.refresh_from_db()
    assert comment.hidden == "author" and comment.body == ""
    actions = set(AuditEvent.objects.filter(actor=personas.bob).values_list("action", flat=True))
    assert {Action.BLOG_COMMENT_EDITED, Action.BLOG_COMMENT_DELETED} <= actions
    _context, html = _section(post)
    assert "Removed by its author." in html


def test_another_persons_comment_cannot_be_edited_404(client, personas, post):
    comment = BlogComment.objects.create(post=post, author=personas.bob, body="Mine")
    sign_in(client, personas.dan)
    edit = reverse("blog_comment_edit", args=[comment.public_id])
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"body": "Dan's now"}).status_code == 404
    assert client.post(reverse("blog_comment_delete", args=[comment.public_id])).status_code == 404
    comment.refresh_from_db()
    assert comment.body == "Mine" and not comment.hidden


def test_three_flags_hide_a_comment(client, personas, post):
    comment = BlogComment.objects.create(post=post, author=personas.bob, body="Buy pills")
    flag = reverse("blog_comment_flag", args=[comment.public_id])
    for user in [personas.alice, personas.carol, personas.dan]:
        client.force_login(user)
        assert client.get(flag).status_code == 200
        assert client.post(flag, {"reason": "spam"}).status_code == 302
    comment.refresh_from_db()
    assert comment.hidden == "flags" and comment.flag_count == 3
    _context, html = _section(post)
    assert "Buy pills" not in html and "hidden while staff review it" in html
