#!/usr/bin/python3
"""v3store.py - make a new SQLite store (postwarden-ctl store init) look
like one that a postwarden of schema version 3 left: the columns of
version 5 (microseconds, issue 10) dropped, and audit rows hashed the way
that postwarden hashed them (the "pw-audit-v1" canonical form, whole
seconds; policies/compliance/audit_chain.c), written here independently
of the C code.

usage: v3store.py DB ORG N    (SQLite) prints the head hash (hex) of the
                              N rows
       v3store.py --pg SQLFILE ORG N
                              (PostgreSQL) writes the same as SQL for
                              psql into SQLFILE; prints the head
"""
import hashlib
import sqlite3
import sys


def canon_v1(row):
    """The v1 canonical text: every field named, strings with length."""
    out = ["pw-audit-v1"]
    for name in ("id", "time", "queue_id", "message_id", "org", "recipient",
                 "class", "class_source", "consent", "basis_id",
                 "basis_type", "basis_expires", "reason", "token_id",
                 "dkim_d", "dkim_s", "action"):
        v = row[name]
        if isinstance(v, int):
            out.append("%s=%d" % (name, v))
        elif v is None:
            out.append("%s=-" % name)
        else:
            b = v.encode()
            out.append("%s=%d:%s" % (name, len(b), v))
    return ("\n".join(out) + "\n").encode()


# the schema version of a new store of this postwarden: DOWNGRADE takes
# it back to version 3 (each step's additions, newest first)
SCHEMA = 7
DOWNGRADE = ("ALTER TABLE audit DROP COLUMN time_us",
             "ALTER TABLE suppression DROP COLUMN requested_us",
             "ALTER TABLE feedback_event DROP COLUMN time_us",
             "ALTER TABLE dmarc_eval DROP COLUMN time_us",
             "DROP TABLE quota_delta",
             "DROP TABLE complaint_hold",
             "DROP INDEX audit_time")
# ... and version 4 (issue 11: dmarc_report_sent; old dmarc_eval rows
# deletable), back to the version 3 triggers, one list per backend
DOWNGRADE_V4_SQ = ("DROP TABLE dmarc_report_sent",
                   "DROP TRIGGER dmarc_eval_keep",
                   "CREATE TRIGGER dmarc_eval_no_delete BEFORE DELETE ON "
                   "dmarc_eval BEGIN SELECT RAISE(ABORT, "
                   "'dmarc_eval is append-only'); END")
DOWNGRADE_V4_PG = ("DROP TABLE dmarc_report_sent",
                   "DROP TRIGGER dmarc_eval_keep ON dmarc_eval",
                   "DROP TRIGGER dmarc_eval_no_update ON dmarc_eval",
                   "DROP FUNCTION pw_dmarc_keep()",
                   "CREATE TRIGGER dmarc_eval_append_only BEFORE UPDATE OR "
                   "DELETE ON dmarc_eval FOR EACH ROW EXECUTE FUNCTION "
                   "pw_append_only()")


def v1_rows(org, n):
    """(row, prev, hash) of n rows of org, chained from zeros."""
    prev = bytes(32)
    for i in range(1, n + 1):
        row = {"id": i, "time": 1748779200 + i, "queue_id": "4QV3%02d" % i,
               "message_id": "<v3-%d@legacy.test>" % i, "org": org,
               "recipient": "r%d@remote.test" % i, "class": "commercial",
               "class_source": "organisation", "consent": "express",
               "basis_id": 0, "basis_type": None, "basis_expires": 0,
               "reason": None, "token_id": None, "dkim_d": None,
               "dkim_s": None, "action": "delivered"}
        h = hashlib.sha256(prev + canon_v1(row)).digest()
        yield row, prev, h
        prev = h


def pg_main(path, org, n):
    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, int):
            return str(v)
        return "'" + v.replace("'", "''") + "'"

    # one psql -c: one transaction
    out = list(DOWNGRADE + DOWNGRADE_V4_PG)
    out.append("UPDATE pw_schema SET version = 3")
    head = bytes(32)
    for row, prev, h in v1_rows(org, n):
        out.append("INSERT INTO audit (id, time, queue_id, message_id, org, "
                   "recipient, class, class_source, consent, basis_id, "
                   "basis_type, basis_expires, reason, token_id, dkim_d, "
                   "dkim_s, action, prev_hash, hash) VALUES (%s, "
                   "decode('%s', 'hex'), decode('%s', 'hex'))" % (
                       ", ".join(lit(row[k]) for k in (
                           "id", "time", "queue_id", "message_id", "org",
                           "recipient", "class", "class_source", "consent",
                           "basis_id", "basis_type", "basis_expires",
                           "reason", "token_id", "dkim_d", "dkim_s",
                           "action")), prev.hex(), h.hex()))
        head = h
    with open(path, "w") as f:
        f.write(";\n".join(out) + ";\n")
    print(head.hex())


def main():
    if sys.argv[1] == "--pg":
        pg_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    db, org, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    (version,) = con.execute("PRAGMA user_version").fetchone()
    if version != SCHEMA:
        sys.exit("%s: schema version %d, expected a new store (%d)" %
                 (db, version, SCHEMA))
    (rows,) = con.execute("SELECT count(*) FROM audit").fetchone()
    if rows != 0:
        sys.exit("%s: audit rows present" % db)
    for sql in DOWNGRADE + DOWNGRADE_V4_SQ + ("PRAGMA user_version = 3",):
        con.execute(sql)
    head = bytes(32)
    for row, prev, h in v1_rows(org, n):
        con.execute(
            "INSERT INTO audit (id, time, queue_id, message_id, org, "
            "recipient, class, class_source, consent, basis_id, basis_type, "
            "basis_expires, reason, token_id, dkim_d, dkim_s, action, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?)",
            (row["id"], row["time"], row["queue_id"], row["message_id"],
             row["org"], row["recipient"], row["class"], row["class_source"],
             row["consent"], row["basis_id"], row["basis_type"],
             row["basis_expires"], row["reason"], row["token_id"],
             row["dkim_d"], row["dkim_s"], row["action"], prev, h))
        head = h
    con.execute("COMMIT")
    con.close()
    print(head.hex())


if __name__ == "__main__":
    main()
