"""The forms of the forum and blog comments. They check shape only; the limits (length, links,
images, trust level, rate) are the services' (website.community), which say why."""

from django import forms

from .community import MAX_BODY_CHARS, MAX_TITLE_CHARS
from .models import Flag

BODY_HELP = (
    "Markdown: *emphasis*, **bold**, [a link](https://example.com), lists and quotes. "
    "HTML is shown as text."
)


def _body_field(label: str) -> forms.CharField:
    # No max_length here: the service refuses an oversized post with its own message.
    return forms.CharField(
        label=label,
        strip=False,
        help_text=BODY_HELP,
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": MAX_BODY_CHARS}),
        error_messages={"required": "Write something first: the post is empty."},
    )


class TopicForm(forms.Form):
    title = forms.CharField(
        label="Title",
        widget=forms.TextInput(attrs={"maxlength": MAX_TITLE_CHARS}),
        error_messages={"required": "Give the topic a title."},
    )
    body = _body_field("Your post")


class PostForm(forms.Form):
    body = _body_field("Your reply")


class CommentForm(forms.Form):
    body = _body_field("Your comment")


class EditForm(forms.Form):
    body = _body_field("Your text")


class FlagForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why should staff look at this post?",
        choices=Flag.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose why you flag this post."},
    )
    note = forms.CharField(
        label="Anything staff should know (optional)", max_length=300, required=False
    )
