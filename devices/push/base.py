"""What every push backend takes and answers, and how long a temporary failure waits."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

# A failure's first retry waits about this long; each next one twice as long, up to the cap.
RETRY_BASE_SECONDS = 10
RETRY_CAP_SECONDS = 3600
# A push service that asks us to wait longer than this (Retry-After) gets no retry: the
# notification would arrive too late to mean anything.
RETRY_AFTER_MAX_SECONDS = 3600


@dataclass(frozen=True)
class Message:
    """One notification to one device. `data` is what the app reads (kind, public ids): FCM
    accepts strings only, so every key and value is made one."""

    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "data", {str(k): str(v) for k, v in (self.data or {}).items()})


class Outcome(enum.StrEnum):
    SENT = "sent"
    # The token will never work again (the app was uninstalled, the token belongs to another
    # sender): clear it; the device stays signed in and the app registers a fresh one.
    DEAD_TOKEN = "dead_token"  # noqa: S105 (an outcome, not a secret)
    # The push service refused this message for a reason of its own (a payload it does not
    # accept, our credentials): logged, not retried, and the token is kept.
    REFUSED = "refused"
    # Worth trying again later (429, 5xx, the network): `retry_after` when the service said.
    TEMPORARY = "temporary"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    # Seconds the service asked us to wait (its Retry-After), when it said.
    retry_after: float | None = None
    # What went wrong, for the log: status, error code and the service's message, never the
    # token or the notification's text.
    detail: str = ""


def retry_delay(retries: int, retry_after: float | None) -> float | None:
    """Seconds to wait before try number `retries + 1`: what the service asked for if it did
    (None when that is longer than RETRY_AFTER_MAX_SECONDS: give up), else exponential
    backoff with jitter, so that devices refused together do not come back together."""
    if retry_after is not None:
        return retry_after if retry_after <= RETRY_AFTER_MAX_SECONDS else None
    ceiling = min(RETRY_BASE_SECONDS * 2**retries, RETRY_CAP_SECONDS)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not a secret)
