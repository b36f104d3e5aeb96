"""An SMTP server in the test's own process, and what it received.

The reader's project sends email over SMTP (to the debugging server of
part 2 while developing). The end-to-end tests point a copy of the project
at an :class:`Inbox` instead (``Project.send_email_to(inbox.port)``) and
read what arrived::

    with smtp_inbox() as inbox:
        ...
        assert inbox.subjects() == ["New testimonial: Kind folks"]

The port is reserved for as long as the inbox runs (see
``processes.reserve_port``), so that no other test, and no other program,
takes it in the meantime.
"""

import time
from contextlib import contextmanager
from email import message_from_bytes

from .processes import reserve_port


class Inbox:
    """Accepts every message; one envelope per message, in order."""

    def __init__(self):
        self.envelopes = []
        self.port = None

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self):
        return [message_from_bytes(e.content) for e in self.envelopes]

    def subjects(self):
        return [message["Subject"] for message in self.messages()]

    def wait_for(self, count, timeout=30):
        """Wait until *count* messages arrived; the messages."""
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.envelopes)} of {count} messages arrived in {timeout} s"
                )
            time.sleep(0.05)
        return self.messages()


@contextmanager
def smtp_inbox():
    """An SMTP server on a reserved port of 127.0.0.1, while the block runs."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    reservation = reserve_port()
    inbox.port = reservation.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    try:
        controller.start()
    except BaseException:
        reservation.close()
        raise
    try:
        yield inbox
    finally:
        controller.stop()
        reservation.close()
