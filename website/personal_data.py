"""Where the community (forum, blog comments) keeps personal data about a user: the personal
data registry's entries (opsx/personal_data.py). Posts are public writing: erasing an account
keeps them, shown as by "a former member" (DETACH), unless a removal request took them down."""

from opsx.personal_data import Erase, Holding, register

POST_EXPORT = ("public_id", "body", "created_at", "edited_at", "hidden")

register(
    # Blog posts are staff's work for HexCM: erasing the author keeps the post, unsigned (it
    # then reads "by the OpsX team").
    Holding(
        "website.BlogPost",
        user_fields=("author",),
        export=("public_id", "title", "slug", "status", "published_at"),
        erase=Erase.DETACH,
        title="Blog posts you wrote",
    ),
    Holding(
        "website.ForumTopic",
        user_fields=("author",),
        export=("public_id", "title", "created_at"),
        erase=Erase.DETACH,
        title="Forum topics you started",
    ),
    Holding(
        "website.ForumPost",
        user_fields=("author",),
        export=POST_EXPORT,
        erase=Erase.DETACH,
        title="Your forum posts",
    ),
    Holding(
        "website.BlogComment",
        user_fields=("author",),
        export=POST_EXPORT,
        erase=Erase.DETACH,
        title="Your comments on the blog",
    ),
    Holding(
        "website.Flag",
        user_fields=("flagger",),
        export=("reason", "note", "created_at", "reviewed_at"),
        erase=Erase.DELETE,
        title="Posts you flagged for staff",
    ),
    Holding(
        "website.CommunityBan",
        user_fields=("user", "banned_by"),
        export=("reason", "until", "created_at"),
        # The person's own ban goes with their account row (CASCADE); a ban they made as staff
        # stays and no longer names them.
        erase=Erase.DETACH,
        anonymise={"banned_by": None},
        title="A ban from posting in the community",
    ),
    Holding(
        "website.TopicRead",
        user_fields=("user",),
        export=("read_at",),
        erase=Erase.DELETE,
        title="Forum topics you have read",
    ),
)
