"""Local peers for the notifications: an SMTP mailbox and HTTP servers that verify webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any

SECRET = "s3cret-for-tests"


@dataclass
class Peer:
    """A local HTTP peer: answers with the statuses queued (then 200), records what it received."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stamp, signature = self.headers.get("X-Pilote-Timestamp", ""), self.headers.get("X-Pilote-Signature", "")
            expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, signature)
            peer.received.append({"body": json.loads(body), "valid": valid, "path": self.path})
            status = peer.statuses.pop(0) if peer.statuses else 200
            if self.path.startswith("/hook") and not valid:
                status = 401
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class Mailbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
