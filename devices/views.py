"""Web pages of devices: the client admins' device pages (Admin tasks), and the closed door of
headless sign-up."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def headless_signup_closed(request):
    """The app signs users in; companies start their account on the web (age gate, company)."""
    return JsonResponse(
        {
            "status": 403,
            "errors": [
                {
                    "code": "signup_closed",
                    "message": "Create your account on the OpsX website; then sign in here.",
                }
            ],
        },
        status=403,
    )
