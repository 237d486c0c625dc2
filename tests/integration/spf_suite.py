#!/usr/bin/python3
# spf_suite.py - the RFC 7208 test suite (python3-spf's rfc7208-tests.yml.gz,
# the openspf.org suite, release 2014.04) against postwarden through Postfix.
# Driven by t_spf_suite.sh, which starts unbound, the sink, postwarden and
# Postfix (lib.sh) and hands over their places:
#
#   spf_suite.py YAML SMTP_PORT ZONE_CONF UNBOUND_CONF SINK_DIR DEVIATIONS
#
# For each scenario (YAML document) the zone file is rewritten from its
# zonedata and unbound is reloaded (scenarios cannot share one zone: 11 of
# the 16 define mail.example.com differently); every record has TTL 0 and
# the root zone a SOA with minimum 0, so that neither unbound nor
# postwarden's libunbound nor postwarden's own cache can carry an answer,
# positive or negative, into the next scenario.  Then every test of the
# scenario is one mail transaction: XCLIENT ADDR= sets the client address,
# EHLO the HELO name, MAIL FROM the sender.  A few SMTP sessions run at once
# (one per test: after XCLIENT the session's client is the fake one, which
# may not use XCLIENT again).  At the end the delivered messages are read
# and postwarden's Authentication-Results "spf=" result is compared with the
# suite's.
#
# Zone data as pyspf's own driver (testspf.py) serves it:
#  - an SPF record is also served as TXT unless the name has a TXT record;
#    a record whose value is NONE is not served;
#  - TIMEOUT: the name does not answer.  Here it answers REFUSED
#    (unbound's always_refuse), which postwarden's resolver sees as a
#    failed lookup like a timeout, without waiting dns_timeout.  A TIMEOUT
#    name that lists a TXT record before TIMEOUT answers (unbound zones
#    are per name, not per type; SPF asks such a name for TXT only); a
#    name under a TIMEOUT name that has records of its own gets its own
#    static zone.
#
# Output (stdout): "ok - ..." / "not ok - ..." per test, then
# "# P/N pass".  A test named in DEVIATIONS (lines "name  reason") is
# reported as "ok - name # deviation: reason" when it misses, and not
# counted in P; a listed test that matches is a failure (the list is
# stale).  A test that Postfix does not let through (rejected before the
# milter decides) is a failure unless listed.
import gzip
import os
import re
import socket
import smtplib
import subprocess
import sys
import threading
import time

import yaml

WORKERS = 4

yaml_path, smtp_port, zone_conf, unbound_conf, sink_dir, dev_path = sys.argv[1:7]
smtp_port = int(smtp_port)
# "exp": the second pass, with spf_reject_fail = yes: only the tests that
# name an explanation, read from the 550 reply to MAIL FROM
exp_mode = len(sys.argv) > 7 and sys.argv[7] == "exp"
EXP_RE = re.compile(r"SPF check failed: .* is not allowed to send mail "
                    r"for \S+(?: \((.*)\))?$")


def reply_explanation(refusal):
    """the explanation in postwarden's 550 reply, "DEFAULT" if none"""
    if refusal is None or not refusal.startswith("MAIL: 550"):
        return None
    text = " ".join(l.split(" ", 1)[1] if re.match(r"5\.\d+\.\d+ ", l)
                    else l for l in refusal[len("MAIL: 550 "):].split("\n"))
    m = EXP_RE.search(text)
    if not m:
        return None
    return m.group(1) if m.group(1) is not None else "DEFAULT"


def load(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        return list(yaml.safe_load_all(f))


def txt_quote(strings):
    """TXT rdata in zone-file syntax, every octet that could upset the
    config parser (quotes, backslash, controls, non-ASCII) as \\DDD."""
    out = []
    for s in strings:
        b = s.encode("utf-8")
        q = ""
        for c in b:
            if c < 0x20 or c > 0x7e or c in (0x22, 0x27, 0x5c):
                q += "\\%03d" % c
            else:
                q += chr(c)
        out.append('"' + q + '"')
    return " ".join(out) if out else None


def name_ok(n):
    labels = n.rstrip(".").split(".")
    return all(0 < len(l) <= 63 for l in labels) and len(n) <= 253


def name_quote(n):
    """a name in zone-file syntax: odd octets (space, quotes) as \\DDD"""
    return "".join(c if 0x21 <= ord(c) <= 0x7e and c not in "'\"\\;()" else
                   "\\%03d" % ord(c) for c in n)


def zone_for(zd):
    """unbound.conf lines (inside server:) for one scenario's zonedata"""
    lines = ['    local-data: ". 0 IN SOA ns.invalid. h.invalid. 1 0 0 0 0"']
    timeouts = []
    named = []
    for name, recs in zd.items():
        name = name.lower()
        if not name_ok(name):
            print("# zone: %s skipped (not a name unbound can hold)" % name)
            continue
        # pyspf's getrdata: generated TXT unless a TXT is listed
        has_txt = any(isinstance(r, dict) and "TXT" in r for r in recs)
        rr = []
        for r in recs:
            if r == "TIMEOUT":
                timeouts.append(name)
                break
            for t, v in r.items():
                if t in ("TXT", "SPF") and isinstance(v, str):
                    v = [v]
                if v == ["NONE"] or v == "NONE":
                    continue
                rr.append((t, v))
                if t == "SPF" and not has_txt:
                    rr.append(("TXT", v))
        # A TIMEOUT name stays answering only if it has a TXT record (the
        # one type SPF asks of it), as spftimeout.example.net does.
        if rr and (name not in timeouts or
                   any(t == "TXT" for t, _ in rr)):
            named.append(name)
        for t, v in rr:
            if t in ("TXT", "SPF"):
                data = txt_quote(v)
                if data is None:
                    print("# zone: %s %s with no strings skipped" % (name, t))
                    continue
            elif t == "MX":
                data = "%d %s" % (v[0], v[1])
            else:
                data = str(v)
            lines.append("    local-data: '%s. 0 IN %s %s'" %
                         (name_quote(name), t, data))
    for name in timeouts:
        lines.append('    local-zone: "%s." always_refuse' % name)
        # names below it with data of their own keep answering
        for n in named:
            if n.endswith("." + name) or n == name:
                lines.append('    local-zone: "%s." static' % n)
    return "\n".join(lines) + "\n"


def xtext(s):
    return "".join(c if 0x21 <= ord(c) <= 0x7e and c not in "+=" else
                   "+%02X" % ord(c) for c in s)


def smtp_path(addr):
    """the sender as RFC 5321 writes it: a local part with spaces quoted"""
    at = addr.rfind("@")
    if at > 0 and " " in addr[:at]:
        return '"%s"%s' % (addr[:at], addr[at:])
    return addr


def client_addr(host):
    if ":" in host:
        return "IPV6:" + host
    return host


class Session:
    def __init__(self):
        self.s = None

    def connect(self):
        self.s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=60,
                              local_hostname="suite.example.test")

    def one(self, tag, t):
        """one transaction in a session of its own (XCLIENT may be used
        once: the new client address is not an authorized XCLIENT host);
        returns None if queued, else the refusal"""
        self.close()
        self.connect()
        s = self.s
        code, msg = s.docmd("XCLIENT", "ADDR=%s NAME=[UNAVAILABLE]" %
                            xtext(client_addr(str(t["host"]))))
        if code != 220:
            return "XCLIENT: %d %s" % (code, msg.decode(errors="replace"))
        s.ehlo_resp = s.helo_resp = None
        code, msg = s.docmd("EHLO", str(t["helo"]))
        if code != 250:
            return "EHLO: %d %s" % (code, msg.decode(errors="replace"))
        code, msg = s.docmd("MAIL", "FROM:<%s>" % smtp_path(t["mailfrom"]))
        if code != 250:
            s.docmd("RSET")
            return "MAIL: %d %s" % (code, msg.decode(errors="replace"))
        code, msg = s.docmd("RCPT", "TO:<bob@remote.test>")
        if code != 250:
            s.docmd("RSET")
            return "RCPT: %d %s" % (code, msg.decode(errors="replace"))
        body = ("X-Spf-Test: %s\r\nSubject: %s\r\nFrom: <suite@example.test>\r\n"
                "\r\nRFC 7208 test suite\r\n" % (tag, tag)).encode()
        code, msg = s.data(body)
        if code != 250:
            return "DATA: %d %s" % (code, msg.decode(errors="replace"))
        return None

    def close(self):
        if self.s is not None:
            try:
                self.s.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.s = None


def reload_zone(text):
    with open(zone_conf, "w") as f:
        f.write(text)
    r = subprocess.run(["unbound-control", "-c", unbound_conf, "reload"],
                       capture_output=True, text=True)
    if r.returncode != 0 or "ok" not in r.stdout:
        print("# unbound-control reload: %s %s" % (r.stdout, r.stderr))
        return False
    return True


def run_scenario(sessions, tests, refused):
    """tests: list of (tag, test); fills refused[tag]"""
    queue = list(tests)
    lock = threading.Lock()

    def worker(sess):
        while True:
            with lock:
                if not queue:
                    return
                tag, t = queue.pop(0)
            try:
                r = sess.one(tag, t)
            except (smtplib.SMTPException, OSError) as e:
                sess.close()
                sess.s = None
                r = "SMTP: %s" % e
            if r is not None:
                refused[tag] = r

    th = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    for x in th:
        x.start()
    for x in th:
        x.join()


def read_results(expect, timeout):
    """tag -> spf result from the delivered A-R (postwarden's authserv-id)"""
    got = {}
    end = time.time() + timeout
    while True:
        for fn in os.listdir(sink_dir):
            if not fn.endswith(".eml"):
                continue
            with open(os.path.join(sink_dir, fn), "rb") as f:
                raw = f.read().decode("utf-8", "replace")
            head = raw.split("\r\n\r\n", 1)[0].replace("\r\n\t", " ") \
                .replace("\r\n ", " ")
            m = re.search(r"^X-Spf-Test: (\S+)", head, re.M | re.I)
            if not m or m.group(1) in got:
                continue
            ar = [h for h in re.findall(r"^Authentication-Results:(.*)$",
                                        head, re.M | re.I)
                  if h.strip().startswith("mx.example.test")]
            res = None
            for h in ar:
                mm = re.search(r"\bspf=([a-z]+)", h)
                if mm:
                    res = mm.group(1)
            got[m.group(1)] = res or "(no spf= in A-R)"
        if all(t in got for t in expect) or time.time() > end:
            return got
        time.sleep(0.2)


def main():
    docs = load(yaml_path)
    dev = {}
    if os.path.exists(dev_path):
        for line in open(dev_path):
            line = line.strip()
            if line and not line.startswith("#"):
                n, _, why = line.partition(" ")
                dev[n] = why.strip()
    refused = {}
    expected = {}
    order = []
    t0 = time.time()
    for i, d in enumerate(docs):
        if not reload_zone(zone_for(d.get("zonedata") or {})):
            print("not ok - scenario %d (%s): zone not loaded" %
                  (i, d.get("description")))
            continue
        tests = []
        for name, t in d["tests"].items():
            tag = name
            exp = t["result"]
            if exp_mode:
                if "explanation" not in t:
                    continue
                tag = "exp:" + name
                exp = t["explanation"]
            expected[tag] = exp if isinstance(exp, list) else [exp]
            order.append(tag)
            tests.append((tag, t))
        # No answer from this scenario may be served in the next one:
        # TTL 0 still lets a cached record live through its second.
        if not tests:
            continue
        time.sleep(1.05)
        sessions = [Session() for _ in range(min(WORKERS, len(tests)))]
        run_scenario(sessions, tests, refused)
        for s in sessions:
            s.close()
    print("# %d transactions in %.1f s" % (len(order), time.time() - t0))
    if exp_mode:
        got = {t: reply_explanation(refused.pop(t, None)) for t in order}
    else:
        got = read_results([t for t in order if t not in refused], 60)
    npass = 0
    for tag in order:
        exp = expected[tag]
        r = refused.get(tag)
        res = got.get(tag) if r is None else None
        match = res in exp
        if match:
            npass += 1
        what = ("expected %s, got %s" % ("|".join(exp), res) if r is None
                else "expected %s, refused: %s" % ("|".join(exp), r))
        if tag in dev:
            if match:
                print("not ok - %s: listed as a deviation but matches "
                      "(%s)" % (tag, what))
            else:
                print("ok - %s # deviation: %s (%s)" % (tag, dev[tag], what))
        elif match:
            print("ok - %s: %s" % (tag, res))
        else:
            print("not ok - %s: %s" % (tag, what))
    print("# %d/%d pass" % (npass, len(order)))


main()
