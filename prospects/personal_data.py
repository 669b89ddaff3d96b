"""Where Client Data points at a user: the personal data registry's entries
(opsx/personal_data.py).

Prospects, visits, files and their timeline belong to the client, not to the user who made
them: erasing the user keeps them with the client and clears the keys that name the user
(DETACH). The access archive lists which of them the user made or holds (ids and dates), not
their content: a prospect's own data is the client's to give (the prospect data requests).
A prospect's email field holds the prospect's address, never a user's, so it is no key here.
"""

from opsx.personal_data import Erase, Holding, register

register(
    Holding(
        "prospects.Prospect",
        user_fields=("owner", "created_by", "updated_by"),
        export=("public_id", "created_at", "updated_at"),
        erase=Erase.DETACH,
        title="Prospects you own, created or last changed",
    ),
    Holding(
        "prospects.Visit",
        user_fields=("user", "created_by"),
        export=("public_id", "status", "scheduled_at", "checked_in_at", "checked_out_at"),
        erase=Erase.DETACH,
        title="Visits you made or planned",
    ),
    Holding(
        "prospects.Folder",
        user_fields=("created_by",),
        export=("public_id", "created_at"),
        erase=Erase.DETACH,
        title="Folders you created",
    ),
    Holding(
        "prospects.StoredFile",
        user_fields=("uploaded_by",),
        export=("public_id", "name", "content_type", "size", "created_at"),
        erase=Erase.DETACH,
        title="Files you uploaded",
    ),
    Holding(
        "prospects.ProspectEvent",
        user_fields=("actor",),
        export=("kind", "at"),
        erase=Erase.DETACH,
        title="Your entries in prospects' timelines",
    ),
    Holding(
        "prospects.ImportJob",
        user_fields=("created_by",),
        export=("public_id", "original_name", "status", "created_at", "created_count"),
        erase=Erase.DETACH,
        title="Imports you ran",
    ),
    Holding(
        "prospects.SyncTombstone",
        user_fields=("user",),
        erase=Erase.DELETE,
        title="Prospects and visits that left your phone's copy",
        note="Only which prospect or visit your phone should drop (its id), kept a few weeks "
        "for the app's sync; nothing about you beyond that.",
    ),
)
