"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu's filesystem transport creates a message file under its final name and
then writes into it, while a consumer reads, without a lock, any file with that
name it lists. A consumer that lists the folder between the two reads an empty
or half-written message, fails to decode it, and the message is gone (the run
waits for the outbox to send it again). The shorter the polling interval, the
more often that happens. Here a message is written under a name no consumer
reads and renamed into place, which is atomic within one folder: a consumer
sees the whole message or nothing.

Used through ``CELERY_BROKER_TRANSPORT`` when ``REDIS_URL`` is unset; the broker
URL stays ``filesystem://``.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    """A filesystem channel whose messages are renamed into the queue folder once written."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        """Put `payload` onto `queue`: written under a hidden name, then renamed to the name consumers read.

        The name keeps kombu's form (milliseconds, a UUID, the queue), so
        consumers take messages in the same order as with kombu's own writer.
        A hidden name starts with a dot: kombu's consumers, which keep files
        named ``<stamp>.<queue>.msg``, never take it, and neither do they count it.
        """
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`'s atomic writes."""

    Channel = Channel
