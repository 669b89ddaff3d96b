"""Template context for every page."""

from .policies import policy_notice_banner


def policy_notice(request) -> dict:
    """`policy_notice`: the coming material policy change ({label, effective_on}) for a
    signed-in user until it takes effect, else None. Read from the cache: most pages pay no
    query for it, and anonymous visitors none at all."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"policy_notice": None}
    return {"policy_notice": policy_notice_banner()}
