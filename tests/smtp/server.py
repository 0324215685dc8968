"""A real SMTP server on loopback for darkroom's delivery tests (aiosmtpd).

    python3 tests/smtp/server.py --port PORT --dir DIR [--cert PEM --key PEM]
                                 [--implicit-tls] [--user NAME --password SECRET]

Each message taken is written whole to DIR/N.eml (through a temporary name),
with DIR/N.json beside it: the envelope's sender and recipients and whether
the session was encrypted and authenticated. With --cert, STARTTLS is offered
(or, with --implicit-tls, TLS from the first byte); with --user, AUTH PLAIN and
LOGIN are required and checked. The server prints "ready PORT" and runs until
killed.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.folder, str(self.count))
        with open(base + ".eml.tmp", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.rename(base + ".eml.tmp", base + ".eml")
        with open(base + ".json", "w") as out:
            json.dump(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "tls": server.transport.get_extra_info("ssl_object") is not None,
                    "authenticated": bool(session.authenticated),
                },
                out,
            )
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: aiosmtpd then answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    options = {}
    if args.user:
        options.update(
            authenticator=authenticator(args.user, args.password),
            auth_require_tls=context is not None,
            auth_required=True,
        )
    if context and args.implicit_tls:
        controller = Controller(Sink(args.dir), hostname="127.0.0.1", port=args.port, ssl_context=context, **options)
    else:
        controller = Controller(
            Sink(args.dir), hostname="127.0.0.1", port=args.port, tls_context=context, require_starttls=context is not None, **options
        )
    controller.start()
    print(f"ready {args.port}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
