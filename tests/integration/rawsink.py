#!/usr/bin/python3
# rawsink.py - byte-exact SMTP sink for the integration tests.
#
# Usage: /usr/bin/python3 rawsink.py HOST PORT DIR
#
# Every message is stored exactly as received in DATA (CRLF line ends,
# dot-unstuffed, 8-bit bytes untouched) as DIR/NNNNNN.eml, with the
# envelope as DIR/NNNNNN.env (JSON).  Both files are written under a
# temporary name and renamed before the sink answers 250, so a file whose
# queue id Postfix has logged as status=sent is complete.  smtp-sink(1)
# would rewrite line ends and prepend pseudo headers; this sink does not.
# Recipients named sink-reject-hard* and sink-reject-soft* are refused
# (handle_RCPT).
#
# Needs Debian's python3-aiosmtpd: run it with /usr/bin/python3, not a
# pyenv python3 from PATH (harness-notes section 0).
import itertools
import json
import os
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def main():
    host, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(outdir, exist_ok=True)
    counter = itertools.count(1)

    class Handler:
        # Recipients whose local part starts with sink-reject-hard get
        # 550 5.1.1, sink-reject-soft 452 4.2.2 (t_feedback.sh: bounces
        # made by the real Postfix); every other one is accepted.
        async def handle_RCPT(self, server, session, envelope, address,
                              rcpt_options):
            local = address.split("@")[0].lower()
            if local.startswith("sink-reject-hard"):
                return "550 5.1.1 <%s>: Recipient address rejected: " \
                    "User unknown" % address
            if local.startswith("sink-reject-soft"):
                return "452 4.2.2 <%s>: Mailbox full" % address
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            base = os.path.join(outdir, "%06d" % next(counter))
            with open(base + ".env.tmp", "w") as f:
                json.dump({"peer": session.peer[0],
                    "helo": session.host_name,
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos}, f)
            os.rename(base + ".env.tmp", base + ".env")
            with open(base + ".tmp", "wb") as f:
                f.write(envelope.original_content)
            os.rename(base + ".tmp", base + ".eml")
            return "250 2.0.0 stored as " + os.path.basename(base)

    class Server(SMTP):
        # Postfix never sends lines over 998 octets (RFC 5321 4.5.3.1.6)
        # but a malformed-mail test may push long headers through;
        # accept them rather than answer 500.
        line_length_limit = 1 << 20

    # Block the signals before the server thread starts so that only
    # this thread receives them (sigwait below).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})

    class Ctl(Controller):
        def factory(self):
            return Server(self.handler, hostname="sink.test",
                data_size_limit=64 << 20, decode_data=False,
                enable_SMTPUTF8=True)

    ctl = Ctl(Handler(), hostname=host, port=port, ready_timeout=10)
    ctl.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    ctl.stop()


if __name__ == "__main__":
    main()
