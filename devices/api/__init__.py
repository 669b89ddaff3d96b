"""The mobile JSON API, /api/v1/ (django-ninja): typed request and answer schemas, an OpenAPI
document at /api/v1/openapi.json and its docs at /api/v1/docs, served from our own origin.

Every operation calls the same services as the web views, under the same tenant rules (another
client's id is a 404). Errors have one shape (errors.py)."""

from django.db import transaction
from ninja import NinjaAPI

from . import errors, inputs
from .auth import device_auth


class MobileAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        return errors.document(super().get_openapi_schema(**kwargs))


api = MobileAPI(
    title="OpsX mobile API",
    version="1",
    description=(
        "Sign in through allauth's headless API (`POST /_allauth/app/v1/auth/login`), send the "
        "session token as `X-Session-Token`, then register the device (`POST /api/v1/devices`)."
        " Every write may carry an `Idempotency-Key`: a retry with the same key gets the first "
        "answer and changes nothing."
    ),
    urls_namespace="api-v1",
    # The document and its docs page read no data: no transaction (ATOMIC_REQUESTS) for them.
    docs_decorator=transaction.non_atomic_requests,
    auth=device_auth,
)
errors.install(api)
api.add_decorator(inputs.refuse_null_characters)


def _routers() -> None:
    from .me import router as me_router
    from .prospects import router as prospects_router
    from .sync import router as sync_router
    from .visits import router as visits_router

    api.add_router("", me_router)
    api.add_router("", prospects_router)
    api.add_router("", visits_router)
    api.add_router("", sync_router)


_routers()
