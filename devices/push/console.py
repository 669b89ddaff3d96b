"""The default push backend: the message goes to the log (logger "opsx.push"), never fails.

For development and for deployments without a push service; the token is shortened, as a
token is what lets someone push to that phone."""

import logging

from .base import Message, Outcome, Result

logger = logging.getLogger("opsx.push")


class ConsoleBackend:
    def send(self, message: Message) -> Result:
        logger.info(
            "Push to …%s: %s | %s | %s",
            message.token[-6:],
            message.title,
            message.body,
            message.data,
        )
        return Result(Outcome.SENT)
