"""Where the public area points at a user: the personal data registry's entries
(opsx/personal_data.py).

A blog post is HexCM's publication, written by a staff member: erasing its author keeps the
post and clears the key (DETACH), so it then reads "by the OpsX team". The access archive lists
the posts the person wrote (title, address, publish time).
"""

from opsx.personal_data import Erase, Holding, register

register(
    Holding(
        "website.BlogPost",
        user_fields=("author",),
        export=("public_id", "title", "slug", "status", "published_at"),
        erase=Erase.DETACH,
        title="Blog posts you wrote",
    ),
)
