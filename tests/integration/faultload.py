#!/usr/bin/python3
# faultload.py - commercial mail for t_faults.sh, sent as a well-behaved
# SMTP client would: each message to one recipient, with XCLIENT LOGIN
# (outbound, organisation by login), retried with the SAME Message-ID
# after a 4xx or a broken connection, until accepted, refused (5xx) or
# out of tries.
#
#   faultload.py PORT LOGIN FROM OUT N RCPT... [--threads K] [--tries T]
#                [--pause S]
#
# Message i goes to RCPT[i % len(RCPT)].  OUT gets one line per message:
#   "<message-id> <recipient> accepted|refused|gaveup <tries> <last reply>"
import smtplib
import sys
import threading
import time


def send_one(port, login, sender, rcpt, mid, body, tries, pause):
    last = ""
    for n in range(1, tries + 1):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            s.ehlo("load.example.test")
            code, msg = s.docmd("XCLIENT",
                                "ADDR=198.51.100.40 LOGIN=%s" % login)
            if code != 220:
                raise smtplib.SMTPResponseException(code, msg)
            s.ehlo("load.example.test")
            msg = ("From: %s\r\nTo: %s\r\nSubject: offer\r\n"
                   "Message-ID: <%s>\r\nDate: Sat, 05 Dec 2026 04:00:00 +0000"
                   "\r\n\r\n%s\r\n" % (sender, rcpt, mid, body))
            s.sendmail(sender, [rcpt], msg.encode())
            s.quit()
            return "accepted", n, "250"
        except smtplib.SMTPRecipientsRefused as e:
            code, m = list(e.recipients.values())[0]
            last = "%d %s" % (code, m.decode(errors="replace"))
        except smtplib.SMTPResponseException as e:
            last = "%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace")
                              if isinstance(e.smtp_error, bytes) else e.smtp_error)
        except (OSError, smtplib.SMTPException) as e:
            last = "000 %s" % e
        if last.startswith("5"):
            return "refused", n, last
        time.sleep(pause)
    return "gaveup", tries, last


def main():
    a = sys.argv[1:]
    opts = {"--threads": 4, "--tries": 40, "--pause": 0.5}
    for k in list(opts):
        if k in a:
            i = a.index(k)
            opts[k] = type(opts[k])(a[i + 1])
            del a[i:i + 2]
    port, login, sender, out, n = int(a[0]), a[1], a[2], a[3], int(a[4])
    rcpts = a[5:]
    body = ("Everything 50% off! Acme Widgets Inc. | 123 Main Street West, "
            "Toronto ON M5V 1A1 | info@acme.test")
    results = [None] * n
    lock = threading.Lock()
    nxt = [0]

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n:
                return
            mid = "load.%d.%d@acme.test" % (i, int(time.time()))
            r = send_one(port, login, sender, rcpts[i % len(rcpts)], mid,
                         body, opts["--tries"], opts["--pause"])
            results[i] = (mid, rcpts[i % len(rcpts)]) + r

    ts = [threading.Thread(target=worker) for _ in range(opts["--threads"])]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out, "w") as f:
        for r in results:
            f.write("%s %s %s %d %s\n" % (r[0], r[1], r[2], r[3],
                                          r[4].replace("\n", " ")))


if __name__ == "__main__":
    main()
