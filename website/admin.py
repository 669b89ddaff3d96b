"""Django admin: the subprocessors listed on the public /subprocessors/ page, the blog's posts
(every change through website.blog's services), and the community's moderation (forum
categories, topics, posts, blog comments, bans)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.response import TemplateResponse
from django.utils import timezone

from opsx import images, markdown

from . import blog, community, forum
from .models import (
    BlogComment,
    BlogPost,
    CommunityBan,
    ForumCategory,
    ForumPost,
    ForumTopic,
    Subprocessor,
    website_url_validator,
)


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


# --- the community: forum and blog comments -------------------------------------------------
# Staff moderate through website.community and website.forum (every change audited): the
# actions below call them, nothing here saves a post or a topic by hand. Bodies are read-only:
# staff hide a post, they never rewrite what someone wrote.


def _each(modeladmin, request, queryset, service, done: str) -> None:
    """Run `service(obj)` on each selected row; report how many went and why others did not."""
    changed, refused = 0, []
    for obj in queryset:
        try:
            result = service(obj)
        except ValidationError as exc:
            refused.append(" ".join(exc.messages))
        else:
            changed += result is not False
    if changed:
        modeladmin.message_user(request, f"{changed} {done}.", messages.SUCCESS)
    for reason in sorted(set(refused)):
        modeladmin.message_user(request, f"Skipped: {reason}", messages.WARNING)


class FlaggedWaitingFilter(admin.SimpleListFilter):
    title = "flags"
    parameter_name = "flags"

    def lookups(self, request, model_admin):
        return [("waiting", "Flagged, waiting for staff")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(community.WAITING)
        return queryset


class ModeratedAdmin(admin.ModelAdmin):
    """What the forum post and blog comment admins share: read-only, acted on by actions."""

    list_display = ["__str__", "author_shown", "hidden", "flag_count", "created_at", "edited_at"]
    list_filter = [FlaggedWaitingFilter, "hidden"]
    list_select_related = ["author"]
    show_full_result_count = False
    actions = ["hide_posts", "restore_posts", "dismiss_flags"]
    readonly_fields = [
        "public_id",
        "author",
        "body",
        "created_at",
        "edited_at",
        "hidden",
        "hidden_reason",
        "flag_count",
        "flags_reviewed_at",
    ]

    @admin.display(description="author")
    def author_shown(self, obj):
        return community.author_name(obj.author)

    @admin.action(description="Hide the selected posts (staff review)")
    def hide_posts(self, request, queryset):
        def hide(post):
            return community.post_hide(post=post, reason="Hidden by staff.", actor=request.user)

        _each(self, request, queryset, hide, "post(s) hidden")

    @admin.action(description="Restore the selected posts")
    def restore_posts(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda post: community.post_restore(post=post, actor=request.user),
            "post(s) restored",
        )

    @admin.action(description="Dismiss the flags (keep the posts shown)")
    def dismiss_flags(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda post: community.post_dismiss_flags(post=post, actor=request.user),
            "post(s) kept, flags dismissed",
        )

    def has_add_permission(self, request):
        return False  # people post on the site

    def has_change_permission(self, request, obj=None):
        return False  # read-only: the actions moderate

    def has_delete_permission(self, request, obj=None):
        return False  # hide instead; a removal request empties the text for good


@admin.register(ForumPost)
class ForumPostAdmin(ModeratedAdmin):
    list_display = ["__str__", "topic", *ModeratedAdmin.list_display[1:]]
    list_select_related = ["author", "topic"]
    readonly_fields = ["topic", "is_first", *ModeratedAdmin.readonly_fields]


@admin.register(BlogComment)
class BlogCommentAdmin(ModeratedAdmin):
    list_display = ["__str__", "post", *ModeratedAdmin.list_display[1:]]
    list_select_related = ["author", "post"]
    readonly_fields = ["post", *ModeratedAdmin.readonly_fields]


@admin.register(ForumCategory)
class ForumCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "order"]

    def save_model(self, request, obj, form, change):
        forum.category_save(category=obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # a category with topics is protected; rename or move its topics


class MoveForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=ForumCategory.objects.all(), label="Move the topics to"
    )


@admin.register(ForumTopic)
class ForumTopicAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "category",
        "reply_count",
        "last_posted_at",
        "locked",
        "pinned",
        "hidden",
    ]
    list_filter = ["category", "locked", "pinned", "hidden"]
    list_select_related = ["category"]
    search_fields = ["title"]
    show_full_result_count = False
    actions = ["lock", "unlock", "pin", "unpin", "move", "hide"]
    readonly_fields = [
        "public_id",
        "category",
        "title",
        "slug",
        "author",
        "created_at",
        "last_posted_at",
        "reply_count",
        "locked",
        "pinned",
        "hidden",
    ]

    @admin.action(description="Lock the selected topics (no more replies)")
    def lock(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda t: forum.topic_lock(topic=t, locked=True, actor=request.user),
            "topic(s) locked",
        )

    @admin.action(description="Unlock the selected topics")
    def unlock(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda t: forum.topic_lock(topic=t, locked=False, actor=request.user),
            "topic(s) unlocked",
        )

    @admin.action(description="Pin the selected topics")
    def pin(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda t: forum.topic_pin(topic=t, pinned=True, actor=request.user),
            "topic(s) pinned",
        )

    @admin.action(description="Unpin the selected topics")
    def unpin(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda t: forum.topic_pin(topic=t, pinned=False, actor=request.user),
            "topic(s) unpinned",
        )

    @admin.action(description="Hide the selected topics (with their opening post)")
    def hide(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda t: forum.topic_hide(topic=t, reason="Hidden by staff.", actor=request.user),
            "topic(s) hidden",
        )

    @admin.action(description="Move the selected topics to another category")
    def move(self, request, queryset):
        """First a page to choose the category, then each topic through topic_move."""
        applying = "apply" in request.POST
        form = MoveForm(request.POST if applying else None)
        if applying and form.is_valid():
            category = form.cleaned_data["category"]
            _each(
                self,
                request,
                queryset,
                lambda t: forum.topic_move(topic=t, category=category, actor=request.user),
                f"topic(s) moved to {category}",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Move topics",
            "topics": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        status = 400 if form.errors else 200
        return TemplateResponse(
            request, "admin/website/forumtopic/move.html", context, status=status
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BanForm(forms.ModelForm):
    class Meta:
        model = CommunityBan
        fields = ["user", "reason", "until"]
        help_texts = {
            "reason": "Shown to the person when they try to post.",
            "until": "Leave empty for a ban with no end.",
        }

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is not None and until <= timezone.now():
            raise ValidationError("The end of a ban must be in the future.")
        return until


@admin.register(CommunityBan)
class CommunityBanAdmin(admin.ModelAdmin):
    """Adding a ban bans (community.user_ban), deleting it lifts it (user_unban); both audited."""

    form = BanForm
    list_display = ["user", "reason", "until", "banned_by", "created_at"]
    list_select_related = ["user", "banned_by"]
    autocomplete_fields = ["user"]
    search_fields = ["user__email"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "reason", "until", "banned_by", "created_at"] if obj else []

    def get_fields(self, request, obj=None):
        return (
            ["user", "reason", "until", "banned_by", "created_at"] if obj else BanForm.Meta.fields
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = community.user_ban(
            user=data["user"], reason=data["reason"], until=data["until"], actor=request.user
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        community.user_unban(user=obj.user, actor=request.user)

    def delete_queryset(self, request, queryset):
        for ban in queryset.select_related("user"):
            community.user_unban(user=ban.user, actor=request.user)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)
