"""Where devices hold personal data: the personal data registry's entries
(opsx/personal_data.py)."""

from opsx.personal_data import Erase, Holding, register

register(
    Holding(
        "devices.Device",
        user_fields=("user", "revoked_by"),
        export=(
            "public_id",
            "platform",
            "device_model",
            "app_version",
            "status",
            "created_at",
            "last_seen_at",
            "revoked_at",
            "revoke_reason",
        ),
        erase=Erase.CUSTOM,
        handler="devices.personal_data:erase_devices",
        title="Devices you signed in on with the mobile app",
    ),
    Holding(
        "devices.IdempotencyRecord",
        user_fields=("user",),
        erase=Erase.DELETE,
        title="Answers kept for the app's retried requests",
        note="Copies of answers the API already gave you, kept a few days so that a retried "
        "request is not done twice; the data itself is in the other sections.",
    ),
)


def erase_devices(ctx) -> int:
    """Their devices go (each one's session ended with the others by erase_sessions); a device
    of someone else's they revoked keeps the revocation, without them."""
    from .models import Device

    _total, per_model = Device.objects.filter(user=ctx.user).delete()
    ctx.detach(Device, "revoked_by")
    return per_model.get(Device._meta.label, 0)
