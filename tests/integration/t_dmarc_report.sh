#!/bin/bash
# t_dmarc_report.sh - RFC 9990 aggregate reports sent through the real
# Postfix (issue 11): postwarden-ctl dmarc report as the timer runs it.
#
# Inbound mail from several domains comes in through the private Postfix
# (XCLIENT, an external client): r1.test and r2.test report to themselves,
# ext.test to reports.test (which publishes the authorization record) and
# to noauth.test (which does not), ty.test has t=y, norua.test no rua.
# Then the report job sends through Postfix to the sink:
#   - one mail per (domain, authorized rua), addressed to that rua and
#     nowhere else (the sink's envelope), subject and attachment name as
#     RFC 7489 7.2.1.1 / the dmarcbis drafts say;
#   - every attachment validates against tests/data/dmarc/aggregate-report.xsd
#     (xmllint) and is read by an independent parser, Debian's dmarc-cat,
#     and by Python's email + xml modules: the counts match what was sent;
#   - a second run for the same period sends nothing; a run with Postfix
#     stopped fails (exit 1, recorded), the next one sends what failed;
#   - aggregate report mail that passed DMARC is in no report, a forged
#     one (DMARC fail) is;
#   - a report over dmarc_report_max_bytes is split into parts that each
#     fit, with the same total;
#   - rows older than dmarc_keep_days are deleted by the job, younger kept;
#   - --dry-run writes files and records nothing; --max-reports caps a run
#     and the next run sends the rest;
#   - the sendmail transport (Postfix's sendmail -C) works too;
#   - the same job on PostgreSQL (pg.sh) as the postwarden_report role:
#     sends, records, deletes old rows; the milter's role cannot delete.
#
# Default ports: PW_PORT_BASE=23000.
PW_PORT_BASE=${PW_PORT_BASE:-23000}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
command -v dmarc-cat >/dev/null || pw_bail "dmarc-cat is installed (scripts/install-deps.sh)"

IP=198.51.100.7
allow="v=spf1 ip4:$IP -all"
XSD=$PW_TOP/tests/data/dmarc/aggregate-report.xsd

zone() { printf '    local-zone: "%s." static\n' "$@" >>"$T/dns/zone.conf"; }
txt() { pw_dns_add "$1. 60 IN TXT \"$2\""; }
zone r1.test r2.test ext.test reports.test noauth.test ty.test norua.test
txt r1.test "$allow"
txt r2.test "$allow"
txt ext.test "$allow"
txt norua.test "$allow"
txt _dmarc.r1.test "v=DMARC1; p=none; rua=mailto:agg@r1.test"
txt _dmarc.r2.test "v=DMARC1; p=reject; rua=mailto:dmarc@r2.test"
txt _dmarc.ext.test "v=DMARC1; p=quarantine; rua=mailto:agg@reports.test,mailto:agg@noauth.test"
txt ext.test._report._dmarc.reports.test "v=DMARC1;"
txt _dmarc.ty.test "v=DMARC1; p=reject; t=y; rua=mailto:agg@ty.test"
txt _dmarc.norua.test "v=DMARC1; p=none"

pw_conf "dmarc_report_transport = smtp:127.0.0.1:$PW_SMTP_PORT"
pw_conf "dmarc_report_from = dmarc-reports@mx.example.test"
pw_conf "dmarc_report_org_name = Test Receiver"
pw_conf "dmarc_report_max_bytes = 2k"
pw_setup
postconf -c "$T/pf/etc" -e 'local_header_rewrite_clients =' &&
    postfix -c "$T/pf/etc" reload >/dev/null 2>&1 || pw_bail "postfix reload"
sleep 1

DB=$T/pw/postwarden.db
CONF=$T/pw/postwarden.conf
# the job runs as the milter's user, as the systemd unit does
ctl() { runuser -u postfix -- "$PW_CTL" -c "$CONF" dmarc report "$@"; }
# reports: how many report mails reached the sink (envelope sender)
reports() { grep -l '"mail_from": "dmarc-reports@mx.example.test"' "$T"/sink/*.env 2>/dev/null | wc -l; }

# msg FROM SUBJECT: a message file
msg() {
	local f
	f=$(mktemp "$T/msg/in.XXXXXX")
	{
		printf 'From: %s\nTo: bob@remote.test\nSubject: %s\n' "$1" "$2"
		printf 'Date: %s\nMessage-ID: <%s>\n\n' "$(date -R)" "$(pw_msgid)"
		printf 'Hello,\nthis is an inbound test message.\n'
	} >"$f"
	echo "$f"
}
# send MAILFROM FILE: from the external client; waits for the sink
deliver() {
	pw_send_smtp --xclient "$IP" --from "$1" --data "@$2" >/dev/null
	pw_wait_sent "$PW_QID" >/dev/null
}
# send MAILFROM FILE: from the external client, any answer
send() { pw_send_smtp --xclient "$IP" --from "$1" --data "@$2" >/dev/null; }

# ---- inbound mail ---------------------------------------------------------------
RS="Report Domain: r9.test Submitter: r1.test Report-ID: <x.1@r1.test>"
for i in 1 2; do deliver a@r1.test "$(msg a@r1.test "inbound $i")"; done
deliver a@r2.test "$(msg a@r2.test "inbound")"
deliver a@ext.test "$(msg a@ext.test "inbound")"
deliver a@norua.test "$(msg a@norua.test "inbound")"
send a@ty.test "$(msg a@ty.test "inbound")"
# report mail: r1.test's passes DMARC (no row), ty.test's fails (a row)
deliver a@r1.test "$(msg a@r1.test "$RS")"
send a@ty.test "$(msg a@ty.test "Report Domain: ty.test Submitter: ty.test Report-ID: <f.1@ty.test>")"
for i in $(seq 1 50); do	# rows are written within 0.5 s
	n=$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_eval" 2>/dev/null)
	[ "${n:-0}" -ge 7 ] && break
	sleep 0.1
done
sleep 1	# an eighth row (the report mail's) would be written by now
n=$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_eval" 2>/dev/null)
check "inbound: 7 rows stored, the aggregate report that passed left out ($n)" test "${n:-0}" -eq 7
check "inbound: the report mail is logged as not recorded" \
    grep -aq "an aggregate report, not recorded" "$T/pw/log"

# A domain with many sources, written straight into the store (300 rows,
# 300 source addresses): its report is over 2 kB gzipped and must be split.
now=$(date +%s)
{
	echo "BEGIN;"
	for i in $(seq 1 300); do
		echo "INSERT INTO dmarc_eval (time, from_domain, source_ip, policy, disposition, spf_result, spf_domain, dkim_result, dkim_domain, env_from, spf_scope, dkim_selector, dmarc_result, spf_aligned, dkim_aligned, override, pub_domain, pub_record, discovery) VALUES ($now, 'split.test', '10.$((i / 250)).$((i % 250)).$((i * 7 % 251))', 'none', 'none', 'pass', 'split.test', 'none', '', 'split.test', 'mfrom', '', 'pass', 'pass', 'fail', '', 'split.test', 'v=DMARC1; p=none; rua=mailto:agg@split.test', 'treewalk');"
	done
	# hs.test: a null reverse-path (SPF on postmaster@ the HELO name,
	# stored as scope "helo") and a message SPF was not checked for
	hs="'hs.test', 'v=DMARC1; p=none; rua=mailto:agg@hs.test', 'treewalk'"
	echo "INSERT INTO dmarc_eval (time, from_domain, source_ip, policy, disposition, spf_result, spf_domain, dkim_result, dkim_domain, env_from, spf_scope, dkim_selector, dmarc_result, spf_aligned, dkim_aligned, override, pub_domain, pub_record, discovery) VALUES ($now, 'hs.test', '192.0.2.20', 'none', 'none', 'pass', 'mx.hs.test', 'none', '', '', 'helo', '', 'fail', 'fail', 'fail', '', $hs), ($now, 'hs.test', '192.0.2.21', 'none', 'none', 'none', '', 'none', '', 'hs.test', '', '', 'fail', 'fail', 'fail', '', $hs);"
	# and two rows past dmarc_keep_days (35): the job deletes them
	for d in 40 60; do
		echo "INSERT INTO dmarc_eval (time, from_domain, source_ip, pub_domain, pub_record) VALUES ($((now - d * 86400)), 'old.test', '192.0.2.9', 'old.test', 'v=DMARC1; p=none; rua=mailto:agg@old.test');"
	done
	echo "COMMIT;"
} | runuser -u postfix -- sqlite3 "$DB" || nok "split.test rows inserted"

FROM=$(date -u +%Y-%m-%d)
TO=$(( $(date +%s) + 60 ))
TO_DAY=$(date -u -d "$FROM 00:00:00 UTC" +%s)
mkdir -p "$T/dry" && chown postfix "$T/dry"
# ---- --dry-run: files, nothing recorded, nothing deleted --------------------------
ctl --dry-run "$T/dry" --from "$FROM" --to "$TO" >"$T/dry.out" 2>"$T/dry.err"
check "dry run: exit 0" test $? -eq 0
got=$(ls "$T/dry" 2>/dev/null | cut -d'!' -f1,3 | sort -u | tr '\n' ' ')
check "dry run: files for each (domain, authorized rua) ($got)" \
    test "$got" = "agg@hs.test!hs.test agg@r1.test!r1.test agg@reports.test!ext.test agg@split.test!split.test agg@ty.test!ty.test dmarc@r2.test!r2.test "
check "dry run: nothing recorded, nothing deleted, nothing sent" \
    test "$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM dmarc_report_sent) || '/' || (SELECT count(*) FROM dmarc_eval WHERE from_domain = 'old.test')")" = "0/2"
sleep 1
check "dry run: nothing reached the sink" test "$(reports)" -eq 0

# ---- MTA down: the run fails, records the failure ----------------------------------
postfix -c "$T/pf/etc" stop >/dev/null 2>&1
for i in $(seq 1 50); do pw_port_free "$PW_SMTP_PORT" && break; sleep 0.1; done
ctl --from "$FROM" --to "$TO" >"$T/run0.out" 2>"$T/run0.err"
rc=$?
check "Postfix stopped: the job exits 1" test "$rc" -eq 1
check "Postfix stopped: each failure said (connect)" \
    grep -q "not sent, next run: 127.0.0.1:$PW_SMTP_PORT: connect" "$T/run0.err"
check "Postfix stopped: failures recorded, nothing sent" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_report_sent WHERE status = 'failed'")/$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_report_sent WHERE status = 'sent'")" != "0/0" -a \
    "$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_report_sent WHERE status = 'sent'")" = 0
check "Postfix stopped: old rows deleted all the same" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_eval WHERE from_domain = 'old.test'")" = 0
check "Postfix stopped: young rows kept" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM dmarc_eval")" = 309
postfix -c "$T/pf/etc" start >/dev/null 2>&1
pw_wait_tcp "$PW_SMTP_PORT" || nok "postfix restarted"

# ---- the next run sends --------------------------------------------------------------
ctl --from "$FROM" --to "$TO" >"$T/run1.out" 2>"$T/run1.err"
check "next run: exit 0" test $? -eq 0
nsent=$(grep -c '^sent ' "$T/run1.out")
check "next run: the reports sent ($nsent)" test "$nsent" -ge 6
# wait until Postfix has delivered them all to the sink
for i in $(seq 1 100); do
	n=$(reports)
	[ "$n" -ge "$nsent" ] && break
	sleep 0.2
done
check "next run: $nsent report mails at the sink ($n)" test "$n" -eq "$nsent"

# The independent readers: Python's email module takes the mails apart
# (envelope from the sink's .env), xmllint validates each attachment,
# dmarc-cat reads it, and the counts are compared with the store.
mkdir -p "$T/got"
cat >"$T/report_mail.py" <<'PY'
import email, email.policy, glob, gzip, json, os, re, sqlite3, sys
import xml.etree.ElementTree as ET
sink, out, db, begin, end = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
ok = True
def bad(*a):
    global ok
    print("BAD:", *a); ok = False
db = sqlite3.connect(db)
seen = {}
for path in sorted(glob.glob(sink + "/*.eml")):
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    subj = str(m["Subject"])
    env = json.load(open(path[:-4] + ".env"))
    if env["mail_from"] != "dmarc-reports@mx.example.test":
        continue	# the inbound test mail
    s = re.fullmatch(r"Report Domain: (\S+) Submitter: (\S+) Report-ID: <(\S+)>", subj)
    if not s:
        bad(path, "subject", subj); continue
    dom, sub, rid = s.groups()
    # also the file name's unique-id, which RFC 9990 wants identical
    if not re.fullmatch(r"[A-Za-z0-9]+", rid): bad(path, "Report-ID not 1*(ALPHA / DIGIT)", rid)
    if sub != "mx.example.test": bad(path, "submitter", sub)
    if m["From"].addresses[0].addr_spec != "dmarc-reports@mx.example.test": bad(path, "From", str(m["From"]))
    if m["Auto-Submitted"] != "auto-generated": bad(path, "Auto-Submitted")
    if m.get_content_type() != "multipart/mixed": bad(path, m.get_content_type())
    parts = [p for p in m.iter_attachments()]
    if len(parts) != 1 or parts[0].get_content_type() != "application/gzip":
        bad(path, "attachments", [p.get_content_type() for p in parts]); continue
    fn = parts[0].get_filename()
    want = "mx.example.test!%s!%d!%d!%s.xml.gz" % (dom, begin, end - 1, rid)
    if fn != want: bad(path, "filename", fn, "want", want)
    text = m.get_body(preferencelist=("plain",))
    if text is None or rid not in text.get_content(): bad(path, "no text part naming the Report-ID")
    data = parts[0].get_content()
    open(os.path.join(out, fn), "wb").write(data)
    root = ET.fromstring(gzip.decompress(data))
    if root.find("d:report_metadata/d:report_id", ns).text != rid: bad(path, "report_id")
    if root.find("d:policy_published/d:domain", ns).text != dom: bad(path, "domain")
    if int(root.find("d:report_metadata/d:date_range/d:begin", ns).text) != begin: bad(path, "begin")
    total = sum(int(r.find("d:row/d:count", ns).text) for r in root.findall("d:record", ns))
    to = tuple(env["rcpt_tos"])
    # the To: header and the envelope name the rua, and only it
    if len(to) != 1 or str(m["To"]) != to[0]: bad(path, "recipients", to, str(m["To"]))
    seen.setdefault((dom, to), []).append((rid, total, len(data)))
for (dom, to), reps in sorted(seen.items()):
    ids = [r[0] for r in reps]
    if len(set(ids)) != len(ids): bad(dom, "a Report-ID twice", ids)
    total = sum(r[1] for r in reps)
    want = db.execute("SELECT count(*) FROM dmarc_eval WHERE pub_domain = ? AND time >= ? AND time < ?", (dom, begin, end)).fetchone()[0]
    if total != want: bad(dom, "reported", total, "stored", want)
    print("%s -> %s: %d report(s), %d messages, largest %d bytes" % (dom, ",".join(to), len(reps), total, max(r[2] for r in reps)))
sys.exit(0 if ok else 1)
PY
$PW_PY "$T/report_mail.py" "$T/sink" "$T/got" "$DB" "$TO_DAY" "$TO" >"$T/mail.out" 2>&1
check "report mails: subject, envelope, To, Auto-Submitted, one application/gzip part named receiver!domain!begin!end!id.xml.gz, counts = the store (Python email + xml)" \
    test $? -eq 0
diag "$(cat "$T/mail.out")"
got=$(grep -v '^BAD' "$T/mail.out" | sed 's/:.*//' | tr '\n' ' ')
check "report mails: addressed to each authorized rua and nowhere else ($got)" \
    test "$got" = "ext.test -> agg@reports.test hs.test -> agg@hs.test r1.test -> agg@r1.test r2.test -> dmarc@r2.test split.test -> agg@split.test ty.test -> agg@ty.test "
check "report mails: none to the unauthorized agg@noauth.test" \
    test -z "$(grep -l 'noauth.test' "$T"/sink/*.env 2>/dev/null)"
check "report mails: r1.test counts 2 (its aggregate report mail left out), ty.test 2 (the forged report mail in)" \
    grep -q "r1.test -> agg@r1.test: 1 report(s), 2 messages" "$T/mail.out" && grep -q "ty.test -> agg@ty.test: 1 report(s), 2 messages" "$T/mail.out"
nsplit=$(sed -n 's/^split.test -> agg@split.test: \([0-9]*\) report.*/\1/p' "$T/mail.out")
big=$(sed -n 's/^split.test -> .*largest \([0-9]*\) bytes/\1/p' "$T/mail.out")
check "size limit: split.test's 300 records split into parts (${nsplit:-0}), 300 messages in all, each at most 2 kB (+64) gzipped (largest $big)" \
    test "${nsplit:-0}" -ge 2 -a "${big:-99999}" -le $((2048 + 64)) && grep -q "split.test -> agg@split.test: .* 300 messages" "$T/mail.out"
bad=0
for x in "$T"/got/*.xml.gz; do
	gzip -dc "$x" | xmllint --noout --schema "$XSD" - >>"$T/xmllint.out" 2>&1 || bad=$((bad + 1))
done
check "attachments: every one valid against the aggregate report schema (xmllint, $(ls "$T"/got | wc -l) files)" test "$bad" -eq 0
# RFC 9990: spf optional, its one scope "mfrom"
hsr=$(gzip -dc "$T"/got/*'!hs.test!'*.xml.gz 2>/dev/null | $PW_PY -c '
import sys, xml.etree.ElementTree as ET
ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
r = ET.fromstring(sys.stdin.read())
recs = r.findall("d:record", ns)
print(len(recs), sum(1 for x in recs if x.find("d:auth_results/d:spf", ns) is None),
      ",".join(s.text for s in r.iter("{urn:ietf:params:xml:ns:dmarc-2.0}scope")))')
check "hs.test: 2 records, the one SPF was not checked for without <spf>, the null reverse-path one with scope mfrom ($hsr)" \
    test "$hsr" = "2 1 mfrom"
# dmarc-cat (Debian's, independent, Go): its table's message count per file
bad=0
for x in "$T"/got/*.xml.gz; do
	dom=$(basename "$x" | cut -d'!' -f2)
	# dmarc-cat -N: no reverse DNS (the machine's resolver is never asked)
	out=$(cd "$T/got" && dmarc-cat -N "$(basename "$x")" 2>&1)
	want=$(gzip -dc "$x" | $PW_PY -c 'import sys, xml.etree.ElementTree as ET; r = ET.fromstring(sys.stdin.read()); print(sum(int(c.text) for c in r.iter("{urn:ietf:params:xml:ns:dmarc-2.0}count")))')
	grep -q "Domain: *$dom" <<<"$out" || { diag "dmarc-cat on $x:" "$out"; bad=$((bad + 1)); continue; }
	# the sum of the Count column of its table ("IP Count From ...")
	n=$(awk '/^IP +Count/ { t = 1; next } t && $2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }' <<<"$out")
	[ "$n" = "$want" ] || { diag "dmarc-cat on $x: count $n, the XML says $want:" "$out"; bad=$((bad + 1)); }
done
check "attachments: dmarc-cat reads each, with the same message count" test "$bad" -eq 0

# ---- the same period again: nothing sent -------------------------------------------------
before=$(reports)
ctl --from "$FROM" --to "$TO" >"$T/run2.out" 2>"$T/run2.err"
check "same period again: exit 0" test $? -eq 0
check "same period again: nothing sent ($(grep -c '^sent ' "$T/run2.out"))" test "$(grep -c '^sent ' "$T/run2.out")" -eq 0
check "same period again: all $nsent said sent before" grep -q "0 sent, 0 failed (next run), $nsent sent before" "$T/run2.err"
sleep 1
check "same period again: nothing new at the sink" test "$(reports)" -eq "$before"

# ---- the sendmail transport (Postfix's sendmail -C), another period ------------------------
sed -i "s|^dmarc_report_transport = .*|dmarc_report_transport = sendmail:/usr/sbin/sendmail -C $T/pf/etc|" "$T/pw/extra.conf"
pw_write_conf
TO2=$((TO + 60))
# as root: Postfix's sendmail honours -C (a private instance) for root only
"$PW_CTL" -c "$CONF" dmarc report --from "$FROM" --to "$TO2" >"$T/run3.out" 2>"$T/run3.err"
check "sendmail transport: exit 0" test $? -eq 0
n3=$(grep -c '^sent ' "$T/run3.out")
check "sendmail transport: the reports of the new period sent ($n3)" test "$n3" -eq "$nsent"
for i in $(seq 1 100); do
	n=$(reports)
	[ "$n" -ge $((before + n3)) ] && break
	sleep 0.2
done
check "sendmail transport: $n3 more report mails at the sink" test "$n" -eq $((before + n3))

# ---- postwarden -n knows the keys; bad values are caught -----------------------------------
"$PW_POSTWARDEN" -n -c "$CONF" >/dev/null 2>"$T/n.err"
check "postwarden -n: the dmarc_report keys are accepted" test $? -eq 0
cp "$CONF" "$T/pw/bad.conf"
printf 'dmarc_keep_days = 3\ndmarc_report_transport = lmtp:x\n' >>"$T/pw/bad.conf"
"$PW_POSTWARDEN" -n -c "$T/pw/bad.conf" >/dev/null 2>"$T/n.err"
check "postwarden -n: dmarc_keep_days below 7 refused, with file and line" \
    grep -q "bad.conf:[0-9]*: .*dmarc_keep_days" "$T/n.err"
"$PW_CTL" -c "$T/pw/bad.conf" dmarc report --dry-run "$T/dry2" >/dev/null 2>"$T/n2.err"
check "dmarc report: refuses a bad configuration (exit 1, file:line)" \
    grep -q "bad.conf:[0-9]*: " "$T/n2.err"

# ---- PostgreSQL: the report job as postwarden_report ---------------------------------------
sed -i "s|^dmarc_report_transport = .*|dmarc_report_transport = smtp:127.0.0.1:$PW_SMTP_PORT|" "$T/pw/extra.conf"
pw_write_conf

# ---- the per-run cap: the rest goes with the next run --------------------------------------
TO3=$((TO + 120))
ctl --from "$FROM" --to "$TO3" --max-reports 2 >"$T/cap1.out" 2>"$T/cap1.err"
check "--max-reports 2: exit 2, two sent" test $? -eq 2 -a "$(grep -c '^sent ' "$T/cap1.out")" -eq 2
ctl --from "$FROM" --to "$TO3" >"$T/cap2.out" 2>"$T/cap2.err"
check "--max-reports: the next run sends the other $((nsent - 2)), not the two again" \
    grep -q "$((nsent - 2)) sent, 0 failed (next run), 2 sent before" "$T/cap2.err"

if pg_start "$T" >"$T/pg.out" 2>&1; then
	ok "PostgreSQL 15 on 127.0.0.1:$PW_PG_PORT, roles and schema created"
	now=$(date +%s)
	TOP=$((now + 60))	# a period of its own: the rows are written now
	ins="INSERT INTO dmarc_eval (time, from_domain, source_ip, policy, disposition, spf_result, spf_domain, dkim_result, dkim_domain, env_from, spf_scope, dmarc_result, spf_aligned, dkim_aligned, pub_domain, pub_record, discovery) VALUES"
	rec="'v=DMARC1; p=none; rua=mailto:agg@pgr.test'"
	pg_sql postwarden_milter "$ins ($now, 'pgr.test', '192.0.2.1', 'none', 'none', 'pass', 'pgr.test', 'none', '', 'pgr.test', 'mfrom', 'pass', 'pass', 'fail', 'pgr.test', $rec, 'treewalk'), ($now, 'pgr.test', '192.0.2.1', 'none', 'none', 'pass', 'pgr.test', 'none', '', 'pgr.test', 'mfrom', 'pass', 'pass', 'fail', 'pgr.test', $rec, 'treewalk'), ($((now - 40 * 86400)), 'pgr.test', '192.0.2.2', 'none', 'none', 'pass', 'pgr.test', 'none', '', 'pgr.test', 'mfrom', 'pass', 'pass', 'fail', 'pgr.test', $rec, 'treewalk')" >/dev/null
	out=$(pg_sql postwarden_milter "DELETE FROM dmarc_eval WHERE time < $((now - 30 * 86400))" 2>&1)
	check "PostgreSQL: the milter's role cannot delete DMARC rows" grep -q "permission denied" <<<"$out"
	before=$(reports)
	"$PW_CTL" -c "$CONF" dmarc report --store "$PW_PG_REPORT_URI" --from "$FROM" --to "$TOP" >"$T/pg1.out" 2>"$T/pg1.err"
	check "PostgreSQL: the job as postwarden_report exits 0" test $? -eq 0 || diag "$(cat "$T/pg1.err")"
	check "PostgreSQL: pgr.test's report sent" grep -q "^sent pgr.test report [0-9a-f]\{32\} to agg@pgr.test" "$T/pg1.out"
	check "PostgreSQL: the attempt recorded" test "$(pg_sql postwarden_reader "SELECT status FROM dmarc_report_sent")" = sent
	check "PostgreSQL: the old row deleted, the young ones kept" \
	    test "$(pg_sql postwarden_reader "SELECT count(*) FROM dmarc_eval")" = 2
	"$PW_CTL" -c "$CONF" dmarc report --store "$PW_PG_REPORT_URI" --from "$FROM" --to "$TOP" >"$T/pg2.out" 2>"$T/pg2.err"
	check "PostgreSQL: the same period again sends nothing" grep -q "0 sent, 0 failed (next run), 1 sent before" "$T/pg2.err"
	for i in $(seq 1 100); do [ "$(reports)" -gt "$before" ] && break; sleep 0.2; done
	check "PostgreSQL: one report mail more at the sink" test "$(reports)" -eq $((before + 1))
	pg_stop
else
	nok "PostgreSQL 15 started: $(tail -3 "$T/pg.out")"
fi

pw_done
