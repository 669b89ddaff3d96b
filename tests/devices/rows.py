"""Device rows made directly, as device_sign_in leaves them: for the tests of the pages that
list and act on devices, not of signing in (tests/devices/helpers.py signs in for real)."""

import uuid

from django.utils import timezone

from accounts.models import User
from devices.models import Device

Status = Device.Status


def make_device(user, n=1, status=Status.ACTIVE, **fields):
    """A device row as device_sign_in leaves it (tests of the pages, not of signing in)."""
    defaults = {
        "platform": Device.Platform.ANDROID,
        "device_model": f"Pixel {n}",
        "app_version": "2.4.0",
        "last_seen_at": timezone.now(),
    }
    defaults.update(fields)
    return Device.objects.create(
        client=user.client,
        user=user,
        installation_id=f"install-{user.pk}-{n}",
        status=status,
        **defaults,
    )


def many_devices(
    client_obj, count, statuses=(Status.ACTIVE, Status.PENDING, Status.REJECTED, Status.REVOKED)
):
    """`count` devices of `count` people, their statuses taken in turn from `statuses`; each
    pending one with the active device approving it would replace."""
    # people who never sign in: no password to hash (the factory's costs most of a second)
    users = User.objects.bulk_create(
        User(
            client=client_obj,
            email=f"{uuid.uuid4().hex[:12]}@people.example",
            full_name=f"Person {i}",
        )
        for i in range(count)
    )
    for i, user in enumerate(users):
        status = statuses[i % len(statuses)]
        make_device(
            user,
            i,
            status=status,
            refused_attempts=1 if status != Status.ACTIVE else 0,
            last_refused_at=timezone.now(),
        )
        if status == Status.PENDING:
            make_device(user, 100 + i)
