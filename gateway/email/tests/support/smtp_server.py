"""A real SMTP submission server for the email tests (aiosmtpd, installed by .ci/run).

Listens on two loopback ports: one with STARTTLS (required before AUTH) and one with implicit
TLS. AUTH PLAIN/LOGIN with one user. Every accepted message is written to OUT as N.eml with
N.json beside it (envelope sender, recipients, the authenticated login). `--delay-data-s`
makes the server wait that long before answering DATA, after it saved the message: a client
that times out then cannot know whether the mail went out.

Usage: smtp_server.py --port P --tls-port Q --cert C --key K --out DIR --user U --password W
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, out, delay):
        self.out = out
        self.delay = delay
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        with open(os.path.join(self.out, f"{n}.eml.tmp"), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(os.path.join(self.out, f"{n}.json"), "w") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "login": session.auth_data.login.decode()
                    if isinstance(session.auth_data, LoginPassword)
                    else None,
                },
                f,
            )
        os.rename(os.path.join(self.out, f"{n}.eml.tmp"), os.path.join(self.out, f"{n}.eml"))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 queued as Q%d" % n


def main():
    # aiosmtpd warns about its own defaults and deprecations on stderr: not the test's news.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    for name in ("--cert", "--key", "--out", "--user", "--password"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-port", type=int, required=True)
    parser.add_argument("--delay-data-s", type=float, default=0.0)
    args = parser.parse_args()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    handler = Saver(args.out, args.delay_data_s)
    common = dict(
        hostname="127.0.0.1",
        authenticator=authenticate,
        auth_required=True,
        server_hostname="localhost",
    )
    starttls = Controller(
        handler, port=args.port, tls_context=context, require_starttls=True, **common
    )
    # Over implicit TLS the whole session is encrypted; aiosmtpd only counts STARTTLS as TLS
    # for auth_require_tls, so it is off here.
    implicit = Controller(
        handler, port=args.tls_port, ssl_context=context, auth_require_tls=False, **common
    )
    starttls.start()
    implicit.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    starttls.stop()
    implicit.stop()


if __name__ == "__main__":
    main()
