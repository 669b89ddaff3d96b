"""Template context for every page."""

from .notices import banners_for


def notice_banners(request) -> dict:
    """`notice_banners`: the current notices (privacy.notices.Banner) this page shows: to a
    signed-in user those of their audience they have not dismissed, to an anonymous visitor
    those addressed to all users. Read from the cache: a page pays at most one query (the
    user's dismissals), and none when no notice concerns its viewer."""
    return {"notice_banners": banners_for(getattr(request, "user", None))}
