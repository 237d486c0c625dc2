#!/usr/bin/python3
# authcheck.py - independent implementations for the inbound tests.
#
#   authcheck.py sign IN OUT KEY DOMAIN SELECTOR [rsa|ed25519]
#       prepend a DKIM-Signature made by dkimpy (relaxed/relaxed) to IN
#   authcheck.py spf IP MAILFROM HELO [DNSPORT]
#       print pyspf's (python3-spf) result for the MAIL FROM identity,
#       resolving through the test unbound on 127.0.0.1:DNSPORT
#   authcheck.py ar FILE [AUTHSERV_ID]
#       parse every Authentication-Results header of a delivered message
#       with python3-authres; print "count=N ours=M" and, for the topmost
#       one, "id=ID" and one "method=result ptype.prop=value ..." line per
#       result.  Exits 1 if any A-R header does not parse.
#
# Run with /usr/bin/python3 (Debian's python3-dkim, -spf, -authres).
import base64
import os
import re
import sys


def read_msg(path):
    raw = open(path, "rb").read().replace(b"\r\n", b"\n")
    return raw


def headers(raw):
    """(name, value) of the header block, unfolded, in order."""
    head = raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1][1] += " " + line.strip()
        elif ":" in line:
            n, v = line.split(":", 1)
            out.append([n, v.strip()])
    return out


def cmd_sign(inp, outp, key, domain, sel, alg="rsa"):
    import dkim
    msg = read_msg(inp).replace(b"\n", b"\r\n")
    pem = open(key, "rb").read()
    if alg == "ed25519":
        der = base64.b64decode(b"".join(
            l for l in pem.splitlines() if not l.startswith(b"-----")))
        priv = base64.b64encode(der[-32:])     # RFC 8463: the raw seed
        sa = b"ed25519-sha256"
    elif alg == "rsa-sha1":         # RFC 8301: verifiers must refuse it
        priv = pem
        sa = b"rsa-sha1"
    else:
        priv = pem
        sa = b"rsa-sha256"
    sig = dkim.sign(msg, sel.encode(), domain.encode(), priv,
                    canonicalize=(b"relaxed", b"relaxed"),
                    signature_algorithm=sa,
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
    open(outp, "wb").write((sig + msg).replace(b"\r\n", b"\n"))


def cmd_spf(ip, mailfrom, helo, port=None):
    import dns.resolver
    import spf
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = int(port or os.environ.get("PW_DNS_PORT", "25030"))
    r.lifetime = 3
    dns.resolver.default_resolver = r
    res, _ = spf.check2(i=ip, s=mailfrom, h=helo)
    print(res)


def cmd_ar(path, ours="mx.example.test"):
    import authres
    hs = [v for n, v in headers(read_msg(path))
          if n.lower() == "authentication-results"]
    parsed = []
    for v in hs:
        try:
            parsed.append(authres.AuthenticationResultsHeader.parse(
                "Authentication-Results: " + v))
        except Exception as e:      # noqa: BLE001 - report any failure
            print("unparseable: %s: %s" % (v, e))
            sys.exit(1)
    print("count=%d ours=%d" % (len(parsed), sum(
        1 for p in parsed if p.authserv_id.lower() == ours.lower())))
    if parsed:
        p = parsed[0]
        print("id=%s" % p.authserv_id)
        for r in p.results:
            s = "%s=%s" % (r.method, r.result)
            if r.reason:
                s += " reason=%s" % r.reason
            for q in r.properties:
                s += " %s.%s=%s" % (q.type, q.name, q.value)
            print(s)


if __name__ == "__main__":
    a = sys.argv[1:]
    if not a:
        sys.exit(2)
    {"sign": cmd_sign, "spf": cmd_spf, "ar": cmd_ar}[a[0]](*a[1:])
