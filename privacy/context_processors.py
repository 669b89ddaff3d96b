"""Template context for every page."""

from django.utils.functional import SimpleLazyObject

from .notices import banners_for


def notice_banners(request) -> dict:
    """`notice_banners`: the current notices (privacy.notices.Banner) this page shows: to a
    signed-in user those of their audience they have not dismissed, to an anonymous visitor
    those addressed to all users. Lazy, and read from the cache: a page pays at most one query
    (the user's dismissals), and none when no notice concerns its viewer."""
    user = getattr(request, "user", None)
    return {"notice_banners": SimpleLazyObject(lambda: banners_for(user))}
