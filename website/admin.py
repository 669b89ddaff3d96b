"""Django admin: the subprocessors listed on the public /subprocessors/ page, and the blog's
posts (every change through website.blog's services)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from opsx import images, markdown

from . import blog
from .models import BlogPost, Subprocessor, website_url_validator


class SubprocessorForm(forms.ModelForm):
    # An address typed without a scheme is taken as https; any scheme but http(s) is refused.
    website = forms.URLField(
        assume_scheme="https",
        max_length=300,
        validators=[website_url_validator],
        error_messages={"invalid": website_url_validator.message},
        help_text="The company's site, https://…",
    )

    class Meta:
        model = Subprocessor
        fields = ["name", "purpose", "data_processed", "location", "website", "order", "active"]


@admin.register(Subprocessor)
class SubprocessorAdmin(admin.ModelAdmin):
    form = SubprocessorForm
    list_display = ["name", "purpose", "location", "order", "active", "updated_at"]
    list_editable = ["order", "active"]
    list_filter = ["active"]
    search_fields = ["name", "purpose"]
    ordering = ["order", "name"]
    fields = ["name", "purpose", "data_processed", "location", "website", "order", "active"]


# --- the blog ----------------------------------------------------------------------------


class CoverField(forms.ImageField):
    # The name first (a short message); the content is what counts (opsx.images.clean).
    default_validators = [images.extension_validator("cover image")]


class BlogPostForm(forms.ModelForm):
    # Not a model field: the time the "Save and publish" button publishes at (now if empty).
    publish_at = forms.DateTimeField(
        required=False,
        label="Publish at",
        help_text="For “Save and publish”: leave empty to publish now, or give a time still "
        "to come (UTC) to keep the post off the site until then.",
    )

    class Meta:
        model = BlogPost
        fields = [
            "title",
            "slug",
            "description",
            "body",
            "cover",
            "cover_alt",
            "author",
            "comments_open",
        ]
        help_texts = {
            "description": "One or two sentences: the summary on /blog/, in the feed and in "
            "search results (the page's meta description).",
            "body": "Markdown. The title is the page's heading: start the post's own headings "
            "at ## . Raw HTML is shown as text; images are not shown.",
            "cover": "Optional: a JPEG, PNG or WebP image of at most 5 MB.",
            "author": "Shown on the post. Empty on a new post: you.",
        }
        field_classes = {"cover": CoverField}

    def clean_body(self):
        body = self.cleaned_data.get("body", "")
        if len(body) > blog.BODY_MAX_LENGTH:
            raise ValidationError(
                f"The post may be at most {blog.BODY_MAX_LENGTH:,} characters long; this one "
                f"has {len(body):,}."
            )
        return body

    def clean_slug(self):
        return self.cleaned_data.get("slug", "").lower()  # the service stores it so

    def clean(self):
        data = super().clean()
        if data.get("cover") and not " ".join((data.get("cover_alt") or "").split()):
            self.add_error("cover_alt", "Say what the cover shows, for people who cannot see it.")
        return data

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        if isinstance(cover, UploadedFile):
            images.clean(cover, what="cover image")  # the service's own check, shown here
        return cover


_BLOG_STATE = ["status", "published_at", "preview", "public_id", "created_at", "updated_at"]


@admin.register(BlogPost)
class BlogPostAdmin(admin.ModelAdmin):
    form = BlogPostForm
    list_display = ["title", "status", "published_at", "author"]
    list_filter = ["status", "comments_open", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "slug", "description"]
    search_help_text = "Words of a title, its address or its description."
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = _BLOG_STATE
    date_hierarchy = "published_at"
    actions = ["publish_now", "unpublish"]
    change_form_template = "admin/website/blogpost/change_form.html"
    list_per_page = 50

    def get_queryset(self, request):
        # The list in one query: the author joined, the bodies left behind.
        return super().get_queryset(request).select_related("author").defer("body")

    def get_fields(self, request, obj=None):
        return [*BlogPostForm.Meta.fields, "publish_at", *_BLOG_STATE]

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("cover")
        try:
            blog.blog_post_save(
                post=obj,
                actor=request.user,
                cover_upload=upload if isinstance(upload, UploadedFile) else None,
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        if "_publish" in request.POST:
            self._publish_one(request, obj, at=form.cleaned_data.get("publish_at"))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each through the service
        return actions

    def delete_model(self, request, obj):
        blog.blog_post_delete(post=obj, actor=request.user)

    @admin.display(description="Preview")
    def preview(self, obj):
        return markdown.admin_preview(obj.body if obj is not None else "")

    @admin.action(description="Publish the selected posts now")
    def publish_now(self, request, queryset):
        for post in queryset:
            self._publish_one(request, post)

    @admin.action(description="Take the selected posts off the site (back to draft)")
    def unpublish(self, request, queryset):
        for post in queryset:
            done = blog.blog_post_unpublish(post=post, actor=request.user)
            said = "is off the site, a draft again" if done else "was not published"
            self.message_user(request, f"“{post.title}” {said}.", messages.SUCCESS)

    def _publish_one(self, request, post, at=None) -> None:
        try:
            done = blog.blog_post_publish(post=post, actor=request.user, at=at)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        if not done:
            said = "was already on the site"
        elif at is not None:
            said = f"is scheduled: it appears on the site on {at:%Y-%m-%d at %H:%M} UTC"
        else:
            said = "is published"
        self.message_user(request, f"“{post.title}” {said}.", messages.SUCCESS)
