"""Signed, expiring tokens for the links OpsX puts in mail (unsubscribe, confirm, consent).

One salt per purpose, so a token made for one link never opens another. `read` says why a
token cannot be used: `LinkExpired` (it was real, but is too old) or `LinkInvalid` (tampered,
cut short, or made for another purpose); a view turns either into a clear page, never a 500.
"""

from datetime import timedelta

from django.core import signing

# A link's token is never longer than this; anything longer is not ours (and is not parsed).
MAX_TOKEN_LENGTH = 600


class LinkError(Exception):
    pass


class LinkExpired(LinkError):
    pass


class LinkInvalid(LinkError):
    pass


def make(purpose: str, value) -> str:
    """A URL-safe token carrying `value` (JSON-serialisable) for `purpose`, timestamped now."""
    return signing.dumps(value, salt=f"opsx.link.{purpose}", compress=True)


def read(purpose: str, token: str, *, max_age: timedelta | None):
    """The value `make(purpose, ...)` signed, if the token is intact and younger than
    `max_age` (None: no expiry)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkInvalid
    try:
        return signing.loads(token, salt=f"opsx.link.{purpose}", max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise LinkInvalid from None
