"""The SMTP server of the delivery bench: aiosmtpd with a handler that accepts every message and prints its
``Message-ID``, one line per message, so that the bench can check that each message arrived exactly once.

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c bench.smtp_sink.MessageIds

aiosmtpd's stock ``Debugging`` handler prints whole messages and, on this 2-core machine, was itself the ceiling
of the measurement (≈ 600 messages/s for a bare client); this one costs the server a regular expression per
message.
"""

from __future__ import annotations

import re
import sys

from aiosmtpd.smtp import SMTP, Envelope, Session

_MESSAGE_ID = re.compile(rb"^Message-ID: *(\S+)\r?$", re.MULTILINE | re.IGNORECASE)


class MessageIds:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        match = _MESSAGE_ID.search(content, 0, content.find(b"\r\n\r\n"))
        line = match.group(1).decode("ascii", "replace") if match else "-"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()  # one line per message, kept if the server is terminated
        return "250 OK"
