"""The signed-in user, and the device they use the app on."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Annotated, Literal

from ninja import Router, Schema, Status
from pydantic import AfterValidator, ConfigDict, Field

from .. import services
from ..models import Device
from .auth import signed_in
from .errors import ApiError, ErrorOut

router = Router(tags=["me"])


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class ClientOut(Schema):
    id: uuid.UUID
    name: str


class MeOut(Schema):
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    client: ClientOut
    device: DeviceOut | None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INSTALLATION_ID = re.compile(r"[A-Za-z0-9._:-]+")


def _no_control_characters(value: str) -> str:
    # A NUL byte cannot be stored by PostgreSQL at all (a 500), and no device name, version or
    # push token has a control character.
    if _CONTROL.search(value):
        raise ValueError("Control characters (such as NUL or a line break) are not allowed.")
    return value


def _installation_id(value: str) -> str:
    if not _INSTALLATION_ID.fullmatch(value):
        raise ValueError("Use letters, digits and . _ : - only (a UUID, for example).")
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
InstallationId = Annotated[
    str, Field(min_length=8, max_length=64), AfterValidator(_installation_id)
]


class DeviceIn(Strict):
    installation_id: InstallationId
    platform: Literal["android", "ios"]
    push_token: Text = Field("", max_length=4096)
    app_version: Text = Field("", max_length=40)
    device_model: Text = Field("", max_length=100)


class DeviceUpdate(Strict):
    push_token: Text | None = Field(None, max_length=4096)
    app_version: Text | None = Field(None, max_length=40)
    device_model: Text | None = Field(None, max_length=100)


class DeviceOut(Schema):
    id: uuid.UUID
    installation_id: str
    platform: str
    app_version: str
    device_model: str
    status: Literal["pending", "active", "revoked", "rejected"]
    has_push_token: bool
    created_at: datetime.datetime
    last_seen_at: datetime.datetime | None
    message: str


MeOut.model_rebuild()

_MESSAGES = {
    Device.Status.ACTIVE: "This device is signed in.",
    Device.Status.PENDING: "This device is waiting for your company's admin to approve it.",
    Device.Status.REJECTED: "Your company's admin refused this device.",
    Device.Status.REVOKED: "This device was revoked.",
}


def device_out(device: Device) -> dict:
    return {
        "id": device.public_id,
        "installation_id": device.installation_id,
        "platform": device.platform,
        "app_version": device.app_version,
        "device_model": device.device_model,
        "status": device.status,
        "has_push_token": bool(device.push_token),
        "created_at": device.created_at,
        "last_seen_at": device.last_seen_at,
        "message": _MESSAGES[device.status],
    }


def _me(request) -> dict:
    user = request.auth
    device = request.device
    return {
        "id": user.public_id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "client": {"id": request.client.public_id, "name": request.client.name},
        "device": device_out(device) if device is not None else None,
    }


@router.get("/me", response=MeOut, auth=signed_in, summary="The signed-in user and device")
def me(request):
    return _me(request)


class PingOut(Schema):
    ok: bool


@router.get(
    "/ping",
    response=PingOut,
    summary="Whether this device may work: signed in, registered and active",
)
def ping(request):
    # The default authentication (device_auth) does the work: a pending, refused or unregistered
    # device is told why, as on every field-work endpoint.
    return {"ok": True}


def _session_key(request) -> str:
    return request.headers.get("X-Session-Token", "")


@router.post(
    "/devices",
    response={200: DeviceOut, 201: DeviceOut, 403: ErrorOut},
    auth=signed_in,
    summary="Register this installation (after signing in); the same installation again updates it",
)
def device_register(request, payload: DeviceIn):
    device = services.device_sign_in(
        user=request.auth,
        session_key=_session_key(request),
        details=services.DeviceDetails(**payload.dict()),
    )
    if device.status == Device.Status.REJECTED:
        # A normal answer, so the counted attempt and the ended session are committed.
        return Status(
            403,
            {
                "error": {
                    "code": "device_refused",
                    "message": "Your company's admin refused this device; ask them to approve it.",
                }
            },
        )
    return Status(201 if device.created_now else 200, device_out(device))


@router.get("/devices/current", response=DeviceOut, auth=signed_in, summary="This device")
def device_current(request):
    if request.device is None:
        raise ApiError(404, "device_not_registered", "This session has no registered device.")
    return device_out(request.device)


@router.patch("/devices/current", response=DeviceOut, auth=signed_in, summary="Update this device")
def device_update(request, payload: DeviceUpdate):
    device = request.device
    if device is None or device.status in (Device.Status.REVOKED, Device.Status.REJECTED):
        raise ApiError(404, "device_not_registered", "This session has no registered device.")
    changes = {k: v for k, v in payload.dict().items() if v is not None}
    details = services.DeviceDetails(
        installation_id=device.installation_id,
        platform=device.platform,
        push_token=changes.get("push_token", device.push_token),
        app_version=changes.get("app_version", device.app_version),
        device_model=changes.get("device_model", device.device_model),
    )
    device = services.device_sign_in(
        user=request.auth, session_key=_session_key(request), details=details
    )
    return device_out(device)


@router.delete(
    "/devices/current", response={204: None}, auth=signed_in, summary="Unregister this device"
)
def device_unregister(request):
    if request.device is None:
        raise ApiError(404, "device_not_registered", "This session has no registered device.")
    services.device_unregister(device=request.device, actor=request.auth)
    return Status(204, None)
