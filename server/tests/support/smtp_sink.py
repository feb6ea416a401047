"""An SMTP server for the email notification test: aiosmtpd on 127.0.0.1:<port>.

Prints "ready", then one JSON line per message received: its envelope, and its headers and
plain-text body as Python's own email parser reads them (an independent check that the
message is well formed). Recipients at refused.example are refused with a permanent 550, as
a relay refuses a mailbox that does not exist. Serves until killed.
"""

import email
import email.policy
import json
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        print(
            json.dumps(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "from": str(message["From"]),
                    "to": str(message["To"]),
                    "subject": str(message["Subject"]),
                    "message_id": str(message["Message-ID"]),
                    "body": body.get_content() if body is not None else "",
                }
            ),
            flush=True,
        )
        return "250 Message accepted for delivery"


def main():
    controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
