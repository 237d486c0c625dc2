#!/bin/bash
# t_report_html.sh - "postwarden-ctl audit report --format html", the page
# for an auditor, read back through a real browser.
#
# Mail goes through the real Postfix and postwarden (XCLIENT LOGIN =
# acme-news, as t_consent.sh) to make audit rows of every kind: delivered
# on express and implied consent, refused at RCPT (none, withdrawn),
# rejected for missing identification.  Then the same period is reported
# as CSV (audit report, unsubscribe report, audit verify) and as HTML;
# headless Chromium (Debian's chromium) loads the page, its DOM is dumped
# and every counted cell (data-key) is compared with what the CSV says.
# The page is also printed to PDF (pdftotext must find the numbers in the
# printed text) and to PNG ($T/report.png, kept with PW_KEEP=1).
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
command -v chromium >/dev/null || pw_bail "chromium installed (scripts/install-deps.sh)"
command -v pdftotext >/dev/null || pw_bail "pdftotext installed (poppler-utils)"

DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
ctl() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" "$@"
	else
		"$PW_CTL" "$@"
	fi
}
FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
cat >"$T/pw/organisations.conf" <<'EOF'
[org acme]
domains = acme.test
sasl_logins = acme-news
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://unsub.acme.test/u/
class_header_mode = off
multi_recipient = rcpt_limit
missing_consent = refuse_at_rcpt
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1 acme.test sel1 "$key"
pw_signing '*@acme.test' sel1
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_write_conf
CONF=$T/pw/postwarden.conf
[ -z "$PW_USER" ] || chown "$PW_USER" "$T/pw/organisations.conf"

for a in alice carol dave; do
	ctl consent add "$a@remote.test" --org acme --type express \
	    --source web_form --store "sqlite:$DB" >/dev/null || pw_bail "consent add ($a)"
done
ctl consent add erin@remote.test --org acme --type implied-purchase \
    --obtained "$(date -u +%Y-%m-%d)" --source pos --store "sqlite:$DB" >/dev/null ||
    pw_bail "consent add (erin)"

pw_setup

acme() {	# acme TO [BODY]: commercial mail from acme-news
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$1" --header "Subject: sale" \
	    --body "${2:-Everything 50% off! $FOOTER}"
}
sent() { [ -n "$(pw_wait_sent "$PW_QID")" ]; }

acme alice@remote.test; check "mail 1 (alice) delivered" sent
acme alice@remote.test; check "mail 2 (alice) delivered" sent
acme erin@remote.test; check "mail 3 (erin, implied) delivered" sent
acme carol@remote.test; check "mail 4 (carol) delivered" sent
acme nobody@remote.test
check "mail 5 (nobody): refused at RCPT" grep -q '<\*\* *550 5.7.1' "$PW_SWAKS"
acme dave@remote.test 'No footer here.'
check "mail 6 (no identification): rejected" grep -q '<\*\* *550 5.7.1 .*identification' "$PW_SWAKS"
sleep 1.1	# a message in the same second as the request counts as after it
ctl consent withdraw carol@remote.test --org acme --store "sqlite:$DB" >/dev/null ||
    nok "withdraw carol"
acme carol@remote.test
check "mail 7 (carol after her request): refused" grep -q '<\*\* *550 5.7.1' "$PW_SWAKS"
sleep 1		# the rows of the refusals are written at the end of the session

SINCE=$(date -u +%Y-%m-%d)
UNTIL=$(date -u -d tomorrow +%Y-%m-%d)
R=$T/report
mkdir -p "$R" && chmod 777 "$R"
ctl -c "$CONF" audit report --org acme --since "$SINCE" --until "$UNTIL" \
    --format html >"$R/report.html" 2>"$R/html.err"
check "html report: exit 0" test $? = 0 || diag "$(cat "$R/html.err")"
ctl -c "$CONF" audit report --org acme --since "$SINCE" --until "$UNTIL" \
    >"$R/report.csv" 2>"$R/csv.err"
check "csv report of the same period: exit 0" test $? = 0
ctl -c "$CONF" unsubscribe report --org acme >"$R/unsub.csv" 2>"$R/unsub.err"
check "unsubscribe report: exit 0 (no mail after a request)" test $? = 0
ctl -c "$CONF" audit verify >"$R/verify.txt"
check "audit verify: intact" grep -q '^audit chain intact' "$R/verify.txt"

check "html: no script, nothing loaded from elsewhere (no src=, href=, url(), @import)" \
    ! grep -qiE '<script|src=|href=|url\(|@import' "$R/report.html"
check "html: a print stylesheet" grep -q '@media print' "$R/report.html"
check "html: inline SVG charts" test "$(grep -c '<svg' "$R/report.html")" -ge 3

# ---- the browser ---------------------------------------------------------------
# A private profile; no first-run, sync or update traffic.  As root
# Chromium needs --no-sandbox.
chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$R/profile" --no-first-run \
	    --disable-background-networking --disable-component-update \
	    --disable-sync --hide-scrollbars "$@" 2>>"$R/chromium.log"
}
chrome --dump-dom "file://$R/report.html" >"$R/dom.html"
check "chromium loaded the page (DOM dumped)" grep -q 'data-key="total/rows"' "$R/dom.html" ||
    diag "$(tail -5 "$R/chromium.log")"
chrome --print-to-pdf="$R/report.pdf" --no-pdf-header-footer "file://$R/report.html" >/dev/null
check "chromium printed it to PDF" test -s "$R/report.pdf"
chrome --screenshot="$R/report.png" --window-size=1000,3300 "file://$R/report.html" >/dev/null
check "chromium rendered it to PNG" test -s "$R/report.png"

# ---- the page's numbers against the CSV ---------------------------------------
"$PW_PY" - "$R/dom.html" "$R/report.csv" "$R/unsub.csv" "$R/verify.txt" \
    "$SINCE" "$UNTIL" >"$R/compare.txt" 2>&1 <<'EOF'
import csv, re, statistics, sys
from html.parser import HTMLParser
dom, rep, uns, ver, since, until = sys.argv[1:7]

class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.cells = {}; self.key = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            self.key = a["data-key"]; self.cells[self.key] = ""
    def handle_endtag(self, tag):
        if tag in ("td", "p"): self.key = None
    def handle_data(self, d):
        if self.key is not None: self.cells[self.key] += d
p = P(); p.feed(open(dom, encoding="utf-8").read())
page = {k: v.strip() for k, v in p.cells.items()}

rows = list(csv.DictReader(open(rep, newline="")))
want = {}
def inc(k): want[k] = want.get(k, 0) + 1
none = lambda s: s if s else "(none)"
for r in rows:
    inc("day/%s/%s/%s" % (r["time"][:10], none(r["class"]), none(r["action"])))
    inc("class/" + none(r["class"])); inc("action/" + none(r["action"]))
    if r["class"] == "commercial": inc("basis/" + none(r["basis_type"]))
    if r["action"] not in ("delivered", "quarantined"):
        inc("refusal/%s/%s" % (none(r["action"]), none(r["reason"])))
want["total/rows"] = len(rows)
q = [none(r["queue_id"]) for r in rows]
want["total/messages"] = len({x for x in q if x not in ("NOQUEUE", "(none)")}) + \
    sum(1 for x in q if x in ("NOQUEUE", "(none)"))
want["ident/rows"] = sum(1 for r in rows if "identification" in r["reason"])
u = [w for w in csv.DictReader(open(uns, newline=""))
     if since <= w["requested_at"][:10] < until]
d = sorted(int(w["delay_s"]) for w in u)
want["unsub/requests"] = len(u)
if d:
    want["unsub/median_s"] = d[(len(d) - 1) // 2]; want["unsub/max_s"] = d[-1]
want["unsub/sent_after"] = sum(int(w["sent_after"]) for w in u)
m = re.search(r"intact: (\d+) rows, head ([0-9a-f]{64})", open(ver).read())
want["chain/head"] = m.group(2); want["chain/rows"] = int(m.group(1))

bad = 0
for k, v in sorted(want.items()):
    got = page.get(k)
    if got != str(v):
        print("MISMATCH %s: page %r, csv %r" % (k, got, v)); bad += 1
counted = {k for k in page if re.match(r"(day|class|action|basis|refusal)/", k)}
for k in sorted(counted - set(want)):
    print("EXTRA on the page: %s = %s" % (k, page[k])); bad += 1
print("compared %d numbers, %d rows, %d mismatches" % (len(want), len(rows), bad))
sys.exit(1 if bad else 0)
EOF
cmp_rc=$?
check "every number on the page equals the CSV's ($(tail -1 "$R/compare.txt"))" \
    test "$cmp_rc" = 0
grep -E 'MISMATCH|EXTRA|Error|Traceback' "$R/compare.txt" | head -20 | while read -r l; do diag "$l"; done
n=$(tail -1 "$R/compare.txt" | sed -n 's/^compared \([0-9]*\) numbers, \([0-9]*\) rows.*/\2/p')
check "the period holds the 7 messages' rows (csv: ${n:-?})" test "${n:-0}" -ge 7

# the printed text (what the auditor reads on paper)
pdftotext -layout "$R/report.pdf" "$R/report.txt"
head=$(sed -n 's/.*head \([0-9a-f]\{64\}\).*/\1/p' "$R/verify.txt")
check "PDF text: the title" grep -q 'Compliance report: acme' "$R/report.txt"
check "PDF text: the chain's head hash" grep -q "$head" <<<"$(tr -d ' \n' <"$R/report.txt")"
check "PDF text: 'no consent on record' refusal with its count" \
    grep -qE 'refused_rcpt +no consent on record +1' "$R/report.txt"
check "PDF text: complaints not recorded" grep -q 'Complaints *not recorded' "$R/report.txt"
check "PDF text: business name of the profile" grep -q 'Acme Widgets Inc\.' "$R/report.txt"
check "PDF text: the identification failure's reason" \
    grep -q 'lacks sender identification' "$R/report.txt"

# ---- bad input, empty period ---------------------------------------------------------
ctl -c "$CONF" audit report --org acme --format pdf >/dev/null 2>"$R/err"
frc=$?
check "--format pdf: exit 64, says what is expected" \
    eval '[ $frc = 64 ] && grep -q "expected csv, json or html" "$R/err"'
ctl -c "$CONF" audit report --org acme --since "$UNTIL" --format html >"$R/empty.html"
check "empty period: exit 0, 0 rows, says so" \
    eval 'grep -q "data-key=\"total/rows\">0<" "$R/empty.html" && grep -q "No audit rows in this period" "$R/empty.html"'
[ "${PW_KEEP:-0}" = 1 ] && diag "page: $R/report.html, $R/report.png, $R/report.pdf"
pw_done
