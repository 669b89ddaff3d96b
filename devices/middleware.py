"""The mobile API answers in its one JSON error shape even where django-ninja answers for it
before any view runs: a method an address does not take is ninja's plain-text 405."""

from django.http import JsonResponse

from .api.errors import error_body

API_PREFIX = "/api/"


class ApiMethodNotAllowedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            allowed = response.get("Allow", "")
            json_response = JsonResponse(
                error_body(
                    "method_not_allowed",
                    f"This address does not take {request.method}; it takes {allowed}.",
                ),
                status=405,
            )
            json_response["Allow"] = allowed
            return json_response
        return response
