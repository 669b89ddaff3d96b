"""Cross-cutting response headers."""

from django.utils.cache import patch_cache_control, patch_vary_headers

# Pages of the signed-in area (Client Data, Admin tasks, account settings, allauth, Django
# admin), the invitation link (its token is in the URL) and the mobile app's API and sign-in
# (answers for one session token) whoever asks for them.
PRIVATE_PREFIXES = ("/app/", "/accounts/", "/admin/", "/invitation/", "/api/", "/_allauth/")


class PrivateNoStoreMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user and on every
    response of the signed-in area, downloads and streamed exports included: a shared cache
    (a proxy, a CDN) must never keep one person's data for another, and the browser must not
    keep a copy on disk after the session ends. Public pages to visitors stay cacheable.

    Sits after AuthenticationMiddleware (it reads request.user); whitenoise answers static
    files before it, so they keep their long cache lifetimes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith(PRIVATE_PREFIXES) or (user and user.is_authenticated):
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ("Cookie",))
        return response
