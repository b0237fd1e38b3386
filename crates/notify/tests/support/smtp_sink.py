"""SMTP sink for the notify tests: accepts every message and appends it, parsed, as one JSON line to a file.

Usage: python3 smtp_sink.py PORT OUTFILE [DELAY_SECONDS [USER:PASSWORD]]
Recipients whose local part starts with `reject` get 550 at RCPT, those starting with `busy` get 451.
DELAY_SECONDS (default 0) is waited *after* the message is recorded and *before* the 250 reply, to leave
a window in which a client can die after the server has the message but before it knows it.
With USER:PASSWORD the server requires AUTH (PLAIN or LOGIN, allowed without TLS on loopback).
"""
import asyncio
import email
import json
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, out, delay):
        self.out = out
        self.delay = delay
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "date": str(msg["Date"]),
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        with self.lock:
            with open(self.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def authenticator_for(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return authenticator


def main():
    port = int(sys.argv[1])
    out = sys.argv[2]
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    auth = {}
    if len(sys.argv) > 4:
        user, password = sys.argv[4].split(":", 1)
        auth = dict(
            authenticator=authenticator_for(user, password),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(Handler(out, delay), hostname="127.0.0.1", port=port, **auth)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
