#!/usr/bin/python3
# slowclient.py - attackers for postwarden-unsubd (t_unsubd_attack.sh).
#
#   slowclient.py slow SRC HOST PORT N SECONDS [INTERVAL]
#       Slowloris: keep N connections from SRC open, each sending a
#       request line and then one header line every INTERVAL seconds
#       (default 2), never finishing the request and never idle long
#       enough for an idle timeout.  A connection the server closes is
#       reopened at the next tick.  Prints, at the end, one line:
#       "opened=A refused=B deadline=C open=D longest=E" where refused
#       counts connections closed within 10 s of opening (seen at the next
#       tick), deadline those closed later (with the age of the oldest,
#       E), open those still open.
#   slowclient.py garbage SRC HOST PORT N
#       N connections in turn, each sending one of: random bytes, a huge
#       header line, very many header lines, a request line of 64 KiB, a
#       half request then close.  Prints "sent=N answered=A".
#   slowclient.py hold SRC HOST PORT N SECONDS XFF PATH
#       As a proxy would: N connections from SRC, each sending complete
#       headers of a one-click POST to PATH with X-Forwarded-For: XFF and
#       Content-Length, but not the body, for SECONDS; then the body.
#       Prints "held=A answered=B" (B: status lines read at the end).
import random
import socket
import sys
import time


def connect(src, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect((host, port))
    s.setblocking(False)
    return s


def alive(s):
    """False when the server closed (EOF or reset)."""
    try:
        d = s.recv(65536)
        return len(d) > 0 or False
    except BlockingIOError:
        return True
    except OSError:
        return False


def slow(src, host, port, n, seconds, interval):
    conns = {}          # slot -> (socket, opened)
    opened = refused = deadline = 0
    longest = 0.0
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        now = time.monotonic()
        for i in range(n):
            c = conns.get(i)
            if c is not None:
                s, t0 = c
                ok = alive(s)
                if ok:
                    try:
                        s.send(b"X-Slow-%d: %d\r\n" % (k, i))
                    except OSError:
                        ok = False
                if not ok:
                    age = now - t0
                    if age < 10.0:
                        refused += 1
                    else:
                        deadline += 1
                        longest = max(longest, age)
                    s.close()
                    del conns[i]
                continue
            try:
                s = connect(src, host, port)
                s.send(b"POST /u/AAAA HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                refused += 1
                continue
            opened += 1
            conns[i] = (s, time.monotonic())
        k += 1
        time.sleep(interval)
    still = 0
    for s, t0 in conns.values():
        if alive(s):
            still += 1
        s.close()
    print("opened=%d refused=%d deadline=%d open=%d longest=%.1f" %
          (opened, refused, deadline, still, longest))


def garbage(src, host, port, n):
    answered = 0
    rnd = random.Random(14)
    for i in range(n):
        kind = i % 5
        if kind == 0:
            data = bytes(rnd.getrandbits(8) for _ in range(2000))
        elif kind == 1:
            data = b"GET /u/x HTTP/1.1\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"
        elif kind == 2:
            data = b"GET /u/x HTTP/1.1\r\n" + \
                b"".join(b"X-H%d: v\r\n" % j for j in range(20000)) + b"\r\n"
        elif kind == 3:
            data = b"GET /" + b"u" * 65536 + b" HTTP/1.1\r\n\r\n"
        else:
            data = b"POST /u/x HTTP/1.1\r\nContent-Length: 100\r\n\r\nList"
        try:
            s = connect(src, host, port)
            s.setblocking(True)
            s.settimeout(5)
            try:
                s.sendall(data)
            except OSError:
                pass
            if kind == 4:
                s.close()
                continue
            try:
                if s.recv(100).startswith(b"HTTP/1."):
                    answered += 1
            except OSError:
                pass
            s.close()
        except OSError:
            pass
    print("sent=%d answered=%d" % (n, answered))


def hold(src, host, port, n, seconds, xff, path):
    body = b"List-Unsubscribe=One-Click"
    head = (b"POST %s HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" %
            (path.encode(), xff.encode(), len(body)))
    socks = []
    for _ in range(n):
        try:
            s = connect(src, host, port)
            s.setblocking(True)
            s.sendall(head)
            socks.append(s)
        except OSError:
            pass
    time.sleep(seconds)
    answered = 0
    for s in socks:
        try:
            s.settimeout(5)
            s.sendall(body)
            if s.recv(100).startswith(b"HTTP/1."):
                answered += 1
        except OSError:
            pass
        s.close()
    print("held=%d answered=%d" % (len(socks), answered))


def main():
    if len(sys.argv) >= 7 and sys.argv[1] == "slow":
        slow(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
             float(sys.argv[6]),
             float(sys.argv[7]) if len(sys.argv) > 7 else 2.0)
    elif len(sys.argv) == 9 and sys.argv[1] == "hold":
        hold(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
             float(sys.argv[6]), sys.argv[7], sys.argv[8])
    elif len(sys.argv) == 6 and sys.argv[1] == "garbage":
        garbage(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.stderr.write("usage: see the head of %s\n" % sys.argv[0])
        sys.exit(2)


if __name__ == "__main__":
    main()
