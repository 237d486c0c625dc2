#!/usr/bin/python3
# xclient-load.py - inbound load for the benchmarks: N messages over CONC
# threads, one SMTP session per message, each announcing an external
# client address with XCLIENT (so that milters see ADDR, not 127.0.0.1).
#
#   xclient-load.py HOST PORT N CONC ADDR MAILFROM RCPT MSGFILE
#
# Prints "sent N in S s" on stdout; errors go to stderr (exit 1).
import smtplib
import sys
import threading
import time

host, port, n, conc, addr, mfrom, rcpt, path = sys.argv[1:9]
port, n, conc = int(port), int(n), int(conc)
data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
errors = []


def worker(count):
    for _ in range(count):
        try:
            s = smtplib.SMTP(host, port, timeout=60)
            s.ehlo("client.example.test")
            code, msg = s.docmd("XCLIENT", "ADDR=%s NAME=ext.example.net" % addr)
            if code != 220:
                raise RuntimeError("XCLIENT: %d %s" % (code, msg))
            s.ehlo("client.example.test")
            s.sendmail(mfrom, [rcpt], data)
            s.quit()
        except Exception as e:      # noqa: BLE001 - count every failure
            errors.append(str(e))


t0 = time.time()
per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
threads = [threading.Thread(target=worker, args=(c,)) for c in per]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("sent %d in %.2f s" % (n - len(errors), time.time() - t0))
if errors:
    sys.stderr.write("%d errors, first: %s\n" % (len(errors), errors[0]))
    sys.exit(1)
