"""The offline sync pull: GET /api/v1/sync?since=<cursor>&limit=N.

What changed in the caller's set (prospects they own, visits they make, tombstones of those
that left it) since the cursor of their last pull, in pages of at most `limit` rows. Pull
until `has_more` is false and keep the last `cursor` for next time; apply a page's tombstones
before its rows. The cursor, and why a row may come twice but is never skipped: devices/sync.py.
"""

import json
import uuid
from typing import Literal

from django.conf import settings
from django.http import HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from .. import sync
from .auth import scoped
from .errors import ApiError, ErrorOut
from .schemas import ProspectOut, VisitOut

router = Router(tags=["sync"])

DEFAULT_LIMIT = 200


class TombstoneOut(Schema):
    kind: Literal["prospect", "visit"]
    id: uuid.UUID


class SyncOut(Schema):
    prospects: list[ProspectOut]
    visits: list[VisitOut]
    tombstones: list[TombstoneOut]
    cursor: str = Field(description="Send it as `since` for the next page or the next pull.")
    has_more: bool = Field(description="Another page of this pull is waiting: pull again now.")


class SyncQuery(Schema):
    since: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="The `cursor` of the last answer; none for a first sync (everything).",
    )
    limit: int = Field(
        DEFAULT_LIMIT,
        ge=1,
        le=settings.API_MAX_PAGE_SIZE,
        description="The most rows of a page, prospects, visits and tombstones together.",
    )


@router.get(
    "/sync",
    response={200: SyncOut, 400: ErrorOut, 410: ErrorOut},
    summary="What changed in my prospects and visits since my last pull",
)
@scoped
def sync_pull(request, query: Query[SyncQuery]):
    user = request.auth
    try:
        since = sync.Cursor.decode(query.since, user=user) if query.since else None
    except sync.CursorError as error:
        raise ApiError(410 if error.code == "resync" else 400, error.code, error.message) from None
    page = sync.sync_pull(client=request.client, user=user, since=since, limit=query.limit)
    # The rows come as JSON text (PostgreSQL writes them, devices/sync.py says why), so the
    # answer is put together here, not validated again by django-ninja against SyncOut; the
    # shape is SyncOut's (test_sync and schemathesis hold it to the document).
    body = (
        f'{{"prospects": [{", ".join(page.prospects)}], "visits": [{", ".join(page.visits)}],'
        f' "tombstones": [{", ".join(page.tombstones)}], "cursor": {json.dumps(page.cursor)},'
        f' "has_more": {json.dumps(page.has_more)}}}'
    )
    return HttpResponse(body, content_type="application/json; charset=utf-8")
