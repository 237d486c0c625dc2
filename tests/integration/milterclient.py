#!/usr/bin/python3
# milterclient.py - the MTA side of milter option negotiation, for tests
# that look at what postwarden asks for and at its threads.
#
#   milterclient.py SOCKET N HOLD
#
# Opens N sessions to SOCKET (unix:PATH, PATH or inet:PORT@HOST), sends each
# the option negotiation Postfix 3.7 sends (version 6, every action, every
# protocol step and no-reply flag offered), prints the flags postwarden
# returned for the first as "actions=0x.. protocol=0x..", prints "held" once
# every session has its reply, keeps them open HOLD seconds, then closes.
import socket
import struct
import sys
import time

path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


def connect():
    if path.startswith("inet:"):
        port, host = path[5:].split("@")
        return socket.create_connection((host, int(port)), timeout=10)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path[5:] if path.startswith("unix:") else path)
    return s


def recv_exact(s, k):
    b = b""
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c:
            raise EOFError("milter closed the connection")
        b += c
    return b


sessions, first = [], None
for i in range(n):
    s = connect()
    body = b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
    s.sendall(struct.pack(">I", len(body)) + body)
    (ln,) = struct.unpack(">I", recv_exact(s, 4))
    reply = recv_exact(s, ln)
    if reply[:1] != b"O":
        sys.exit("session %d: reply %r, not an option negotiation" % (i, reply[:1]))
    if first is None:
        first = struct.unpack(">III", reply[1:13])
    sessions.append(s)
print("actions=0x%x protocol=0x%x" % (first[1], first[2]), flush=True)
print("held", flush=True)
time.sleep(hold)
for s in sessions:
    s.close()
