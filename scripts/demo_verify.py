#!/usr/bin/python3
"""demo_verify.py - show and check the DKIM-Signature of a delivered message
with dkimpy (python3-dkim), independently of postwarden.

  /usr/bin/python3 scripts/demo_verify.py MESSAGE TXTFILE

TXTFILE is the DNS record postwarden-ctl keygen wrote (zone-file form).
The demo domain's record is usually not published, so the public key is
taken from that file and handed to dkimpy as the DNS answer for
SELECTOR._domainkey.DOMAIN; every other step (canonicalization, body hash,
signature) is dkimpy's own.  Exit 0 when every signature passes.
"""
import re
import sys

# dkimpy imports dnspython (slow) only for its default DNS function.
for _m in ("dns", "dns.resolver", "DNS"):
    sys.modules.setdefault(_m, None)
import dkim  # noqa: E402


def record(path):
    """(name, TXT data) from a zone-file record: the quoted strings joined."""
    text = open(path, encoding="ascii").read()
    name = text.split()[0].rstrip(".")
    return name, "".join(re.findall(r'"([^"]*)"', text)).encode()


def main():
    msg = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
    msg = msg.replace(b"\n", b"\r\n")
    name, txt = record(sys.argv[2])

    def dnsfunc(qname, timeout=5):
        q = qname.decode() if isinstance(qname, bytes) else qname
        return txt if q.rstrip(".").lower() == name.lower() else None

    d = dkim.DKIM(msg)
    sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    if not sigs:
        print("no DKIM-Signature in the delivered message")
        return 1
    bad = 0
    for i, v in enumerate(sigs):
        print("DKIM-Signature:" + re.sub(r"\r?\n[ \t]+", " ",
                                         v.decode()).rstrip())
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
            reason = ""
        except dkim.DKIMException as e:  # body hash mismatch and others
            ok, reason = False, " (%s)" % e
        tags = dict(t.strip().split("=", 1) for t in v.decode().split(";")
                    if "=" in t)
        print("dkimpy (python3-dkim): signature %d d=%s s=%s a=%s: %s" % (
            i, tags.get("d", "").strip(),
            tags.get("s", "").strip(), tags.get("a", "").strip(),
            "pass" if ok else "FAIL" + reason))
        bad += 0 if ok else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
