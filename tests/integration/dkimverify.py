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
import random
import re
import socket
import struct
import sys

# dkimpy's dnsplug imports dnspython at import time, and dnspython pulls
# in httpx: 0.45 s per run, paid for every verified message.  We pass our
# own dnsfunc, so keep both out (0.06 s instead).
for _m in ("dns", "dns.resolver", "DNS"):
    sys.modules.setdefault(_m, None)
import dkim  # noqa: E402


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


def _skip_name(pkt, off):
    """Offset just past a (possibly compressed) domain name."""
    while True:
        n = pkt[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:        # compression pointer (RFC 1035 4.1.4)
            return off + 2
        off += 1 + n


def txt_lookup(name, host, port, timeout=3.0):
    """TXT strings of NAME joined (RFC 6376 3.6.2.2), or None.

    A plain RFC 1035 query: UDP first, TCP when the answer is truncated."""
    qid = random.getrandbits(16)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD, one question
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode("ascii")
    q += b"\0" + struct.pack(">HH", 16, 1)                # TXT, IN
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(timeout)
        u.sendto(q, (host, port))
        pkt = u.recv(65535)
    if pkt[2] & 0x02:                                       # TC: retry on TCP
        with socket.create_connection((host, port), timeout) as t:
            t.sendall(struct.pack(">H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = t.recv(65535)
                if not chunk:
                    break
                buf += chunk
            pkt = buf[2:]
    rid, flags, qd, an = struct.unpack(">HHHH", pkt[:8])
    if rid != qid:
        raise dkim.DnsTimeoutError("DNS reply id mismatch")
    rcode = flags & 0x0F
    if rcode == 3:                                          # NXDOMAIN
        return None
    if rcode != 0:
        raise dkim.DnsTimeoutError("DNS rcode %d for %s" % (rcode, name))
    off = 12
    for _ in range(qd):
        off = _skip_name(pkt, off) + 4
    for _ in range(an):
        off = _skip_name(pkt, off)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", pkt[off:off + 10])
        off += 10
        rdata = pkt[off:off + rdlen]
        off += rdlen
        if rtype != 16:
            continue
        out, i = b"", 0
        while i < len(rdata):
            n = rdata[i]
            out += rdata[i + 1:i + 1 + n]
            i += 1 + n
        return out
    return None


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

    def dnsfunc(name, timeout=5):
        # dkimpy passes bytes with a trailing dot.
        if isinstance(name, bytes):
            name = name.decode()
        try:
            return txt_lookup(name, host, port)
        except (OSError, struct.error, IndexError) as e:
            raise dkim.DnsTimeoutError("%s: %s" % (name, e))

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
