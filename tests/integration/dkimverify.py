#!/usr/bin/python3
# dkimverify.py - verify every DKIM-Signature of a stored message (dkimpy).
#
# Usage: /usr/bin/python3 dkimverify.py FILE [DNSPORT [DNSHOST]]
#
# Prints one line per signature, in header order (0 = topmost):
#   sig N: pass|fail d=DOMAIN s=SELECTOR a=ALGORITHM h=a:b:c [reason]
# and exits 0 only if there is at least one signature and all pass;
# 1 if any fails or there is none; 2 on usage errors.
#
# Keys are fetched from the test unbound on 127.0.0.1:DNSPORT (default
# $PW_DNS_PORT, else 25030), so the result depends on the records the test
# published, not on a dict we made up.  Input may come from the raw sink
# (CRLF) or from smtp-sink (LF, pseudo headers X-Client-Addr: ... plus its
# own Received: first): both are normalised.  Run with /usr/bin/python3
# (Debian's python3-dkim), not a pyenv python3.
import os
import re
import sys

import dkim
import dns.resolver


def load(path):
    raw = open(path, "rb").read()
    # Normalise line ends: dkimpy rejects mixed CRLF/LF input.
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = raw.split(b"\n")
    # smtp-sink -d prepends X-Client-Addr:, X-Client-Proto:, X-Helo-Args:,
    # X-Mail-Args:, X-Rcpt-Args: and its own (folded) Received: header.
    if lines and lines[0].startswith(b"X-Client-Addr:"):
        i = 0
        while i < len(lines) and not lines[i].startswith(b"Received:"):
            i += 1
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
        lines = lines[i:]
    return b"\r\n".join(lines)


def sig_tags(value):
    """Parse the tag=value list of one DKIM-Signature (RFC 6376 3.2)."""
    tags = {}
    flat = re.sub(rb"\s+", b"", value)
    for part in flat.split(b";"):
        if b"=" in part:
            k, v = part.split(b"=", 1)
            tags[k.decode("ascii", "replace")] = v.decode("ascii", "replace")
    return tags


def main():
    if len(sys.argv) < 2 or len(sys.argv) > 4:
        print("usage: dkimverify.py FILE [DNSPORT [DNSHOST]]", file=sys.stderr)
        return 2
    port = int(sys.argv[2]) if len(sys.argv) > 2 else \
        int(os.environ.get("PW_DNS_PORT", "25030"))
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"

    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [host]
    res.port = port
    res.lifetime = 3

    def dnsfunc(name, timeout=5):
        # dkimpy passes bytes with a trailing dot.
        if isinstance(name, bytes):
            name = name.decode()
        try:
            ans = res.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        # A TXT record longer than 255 octets is split into several
        # strings; the DKIM key record is their concatenation
        # (RFC 6376 3.6.2.2).
        return b"".join(ans[0].strings)

    try:
        msg = load(sys.argv[1])
    except OSError as e:
        print("sig -: fail %s" % e)
        return 1
    try:
        d = dkim.DKIM(msg)
        sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    except Exception as e:  # unparseable header block
        print("sig -: fail cannot parse message: %s" % e)
        return 1
    if not sigs:
        print("sig -: fail no DKIM-Signature")
        return 1
    failed = 0
    for i, value in enumerate(sigs):
        t = sig_tags(value)
        reason = ""
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
            if not ok:
                reason = "verify returned false"
        except dkim.DKIMException as e:
            ok = False
            reason = str(e)
        if not ok:
            failed += 1
        print("sig %d: %s d=%s s=%s a=%s h=%s%s" % (i,
            "pass" if ok else "fail", t.get("d", "?"), t.get("s", "?"),
            t.get("a", "?"), t.get("h", "?"),
            (" (" + reason + ")") if reason else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
