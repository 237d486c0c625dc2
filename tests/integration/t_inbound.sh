#!/bin/bash
# t_inbound.sh - inbound authentication end to end (issue 3): SPF, DKIM
# verification, DMARC alignment and policy, Authentication-Results.
#
# Mail comes in through the private Postfix with an external client
# address set by XCLIENT (libspf2 passes 127.0.0.0/8 as "localhost"), DNS
# is the test unbound.  Every SPF result is compared with python3-spf,
# every DKIM result with dkimpy (dkimverify.py), and every delivered A-R
# header is parsed by python3-authres (authcheck.py): a difference fails.
# The last test stops the DNS server: the result must be a 4xx, never a
# DMARC failure.
#
# Default ports: PW_PORT_BASE=27000 (the inbound helper's range).
PW_PORT_BASE=${PW_PORT_BASE:-27000}
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

IP=198.51.100.7		# the external client every test sends from
AC="$PW_PY $PW_IT/authcheck.py"

# ---- zone -------------------------------------------------------------------
# The PSL with the test TLD added, so that x.org.test has the organizational
# domain org.test (harness-notes 4c); example.co.uk uses the real PSL.
{ cat /usr/share/publicsuffix/public_suffix_list.dat; printf '\ntest\n'; } \
    >"$T/pw/psl.dat"
pw_conf "dmarc_psl_file = $T/pw/psl.dat"
pw_conf "dns_timeout = 2s"
pw_conf "dkim_verify_max_signatures = 3"

zone() { printf '    local-zone: "%s." static\n' "$@" >>"$T/dns/zone.conf"; }
txt() { pw_dns_add "$1. 60 IN TXT \"$2\""; }
zone spf.test a.test k.test u.test r.test rel.test str.test sp.test \
    pct.test pq.test q.test nodmarc.test tf.test tf2.test late.test \
    example.co.uk rows.test
printf '    local-zone: "refused.test." always_refuse\n' >>"$T/dns/zone.conf"
# issue 13: the sender picks %{l}; a local part that makes a label over 63
# octets is a name that cannot exist (no match), not a DNS failure
zone lp.test
txt lp.test "v=spf1 exists:%{l}._spf.lp.test -all"
pw_dns_add "_dmarc.lp.test. 60 IN TXT \"v=DMARC1; p=reject\""

# SPF matrix (no DMARC record under spf.test)
txt pass.spf.test "v=spf1 ip4:$IP -all"
txt fail.spf.test "v=spf1 ip4:192.0.2.1 -all"
txt soft.spf.test "v=spf1 ~all"
txt neutral.spf.test "v=spf1 ?all"
pw_dns_add "none.spf.test. 60 IN A 192.0.2.1"
txt perm.spf.test "v=spf1 frobnicate:x -all"
txt temp.spf.test "v=spf1 include:x.refused.test -all"
txt helo.spf.test "v=spf1 ip4:$IP -all"
# exp= (RFC 7208 section 6.2): the explanation goes into the 550 reply
txt exp.spf.test "v=spf1 ip4:192.0.2.1 exp=why.%{d} -all"
txt why.exp.spf.test "%{i} is not one of the servers of %{d} (user %{l}), see https://%{d}/spf"
# issue 13: an include's exp= is never the explanation (6.2); an upper-case
# macro is URL-escaped (7.3) and its '%' reaches the reply
txt inc.exp.spf.test "v=spf1 include:exp.spf.test -all"
txt url.exp.spf.test "v=spf1 ip4:192.0.2.1 exp=why.%{d} -all"
txt why.url.exp.spf.test "see https://url.exp.spf.test/?u=%{L}"
# six includes, the client in the last: within RFC 7208's 10 lookups, over
# a dns_max_queries of 5
inc=
for i in 1 2 3 4 5; do
	txt "i$i.six.spf.test" "v=spf1 ip4:192.0.2.$i -all"
	inc="$inc include:i$i.six.spf.test"
done
txt i6.six.spf.test "v=spf1 ip4:$IP -all"
txt six.spf.test "v=spf1$inc include:i6.six.spf.test -all"
# DMARC domains
allow="v=spf1 ip4:$IP -all"
txt a.test "$allow"
txt rows.test "$allow"			# the batched-rows checks only
txt _dmarc.rows.test "v=DMARC1; p=none"
txt _dmarc.a.test "v=DMARC1; p=reject"
txt _dmarc.k.test "v=DMARC1; p=reject"
txt _dmarc.u.test "v=DMARC1; p=reject"
txt bounce.r.test "$allow"
txt rel.test "$allow"
txt _dmarc.rel.test "v=DMARC1; p=reject"
txt str.test "$allow"
txt _dmarc.str.test "v=DMARC1; p=reject; aspf=s"
txt _dmarc.sp.test "v=DMARC1; p=reject; sp=none"
txt _dmarc.pct.test "v=DMARC1; p=reject; pct=0"
txt _dmarc.pq.test "v=DMARC1; p=quarantine; pct=0"
txt _dmarc.q.test "v=DMARC1; p=quarantine"
txt example.co.uk "$allow"
txt _dmarc.example.co.uk "v=DMARC1; p=reject"
printf '    local-zone: "_dmarc.tf.test." always_refuse\n' >>"$T/dns/zone.conf"
# kt.test: p=reject, its DKIM key queries are REFUSED (the issue's chain
# failure: a DKIM DNS error must not become a DMARC fail)
zone kt.test
txt _dmarc.kt.test "v=DMARC1; p=reject"
printf '    local-zone: "_domainkey.kt.test." always_refuse\n' >>"$T/dns/zone.conf"
txt tf2.test "v=spf1 include:x.refused.test -all"
txt _dmarc.tf2.test "v=DMARC1; p=reject"
txt late.test "$allow"
txt _dmarc.late.test "v=DMARC1; p=reject"
# Issue 11 regressions.  Real public suffixes (.test is not in the PSL),
# resolved only by the test unbound: "*.ck" makes shop.co.ck and evil.co.ck
# two registrations; "*.alces.network" is a private-section wildcard.
zone co.ck b.alces.network ws.test wsn.test twop.test ruanop.test
# where libopendmarc looked; psd=y as RFC 9989 asks of a PSO, so the tree
# walk keeps the registrations apart (t_dmarc_verify t_7489_vs_9989: without
# it they align)
txt _dmarc.co.ck "v=DMARC1; p=none; psd=y"
txt _dmarc.shop.co.ck "v=DMARC1; p=reject"
txt mail.shop.co.ck "$allow"
txt _dmarc.shopn.co.ck "v=DMARC1; p=none"
txt _dmarc.spx.co.ck "v=DMARC1; p=none; sp=reject"
txt evil.co.ck "$allow"
txt _dmarc.alice.b.alces.network "v=DMARC1; p=reject"
txt bob.b.alces.network "$allow"
txt ws.test "$allow"
txt _dmarc.ws.test "v = DMARC1; p = reject"
txt _dmarc.wsn.test "v = DMARC1 ; p = none"
txt _dmarc.twop.test "v=DMARC1; p=reject"
txt _dmarc.sub.twop.test "v=DMARC1; p=reject"
txt _dmarc.sub.twop.test "v=DMARC1; p=quarantine"
txt _dmarc.ruanop.test "v=DMARC1; rua=mailto:dmarc@ruanop.test"
# RFC 9989 (issue 11): t=y, np for a name that does not exist, psd=y at a
# public-suffix operator (bank.psd.test and other.psd.test are two
# registrations), a temporary failure above the From domain in the walk
zone ty.test npx.test psd.test twf.test
txt _dmarc.ty.test "v=DMARC1; p=reject; t=y; rua=mailto:agg@ty.test"
txt _dmarc.npx.test "v=DMARC1; p=quarantine; sp=none; np=reject"
pw_dns_add "npx.test. 60 IN A 192.0.2.1"
pw_dns_add "exists.npx.test. 60 IN A 192.0.2.1"
txt _dmarc.psd.test "v=DMARC1; p=reject; sp=quarantine; psd=y"
pw_dns_add "mail.bank.psd.test. 60 IN A 192.0.2.1"
txt other.psd.test "$allow"
txt x.bank.psd.test "$allow"
printf '    local-zone: "_dmarc.twf.test." always_refuse\n' >>"$T/dns/zone.conf"
# RFC 9990 reports (postwarden-ctl dmarc report): rua1.test reports to
# itself; ext.test to reports.test, which publishes the authorization
# record, and to noauth.test, which does not
zone rua1.test ext.test reports.test noauth.test
txt rua1.test "$allow"
txt _dmarc.rua1.test "v=DMARC1; p=none; rua=mailto:agg@rua1.test"
txt _dmarc.ext.test "v=DMARC1; p=quarantine; rua=mailto:agg@reports.test,mailto:agg@noauth.test"
txt ext.test._report._dmarc.reports.test "v=DMARC1;"
# DKIM keys
kr=$(pw_key rsa k.test rsa1) || pw_bail "RSA key"
ke=$(pw_key ed25519 k.test ed1) || pw_bail "Ed25519 key"
kx=$(pw_key rsa r.test x1) || pw_bail "RSA key for r.test"
# a key whose record is not published (same PEM, other selector)
kn=$kr
# a revoked key: empty p= (RFC 6376 section 3.6.1)
pw_dns_add 'rev._domainkey.k.test. 60 IN TXT "v=DKIM1; k=rsa; p="'

pw_setup
# A real MX does not rewrite the headers of remote clients; here the
# XCLIENT'd client would otherwise get its From "fixed" (and a missing From
# added) by cleanup before the milter sees it.
postconf -c "$T/pf/etc" -e 'local_header_rewrite_clients =' &&
    postfix -c "$T/pf/etc" reload >/dev/null 2>&1 || pw_bail "postfix reload"
sleep 1

# ---- helpers ----------------------------------------------------------------

# msg FROM-HEADER [EXTRA-HEADER-LINES...]: a message file, path printed
msg() {
	local f from=$1
	shift
	f=$(mktemp "$T/msg/in.XXXXXX")
	{
		printf 'From: %s\n' "$from"
		local h
		for h in "$@"; do printf '%s\n' "$h"; done
		printf 'To: bob@remote.test\nSubject: inbound test\n'
		printf 'Date: %s\nMessage-ID: <%s>\n\n' "$(date -R)" "$(pw_msgid)"
		printf 'Hello,\nthis is an inbound test message.\n'
	} >"$f"
	echo "$f"
}
# sign FILE KEY DOMAIN SELECTOR [ed25519]: add a dkimpy signature in place
sign() { $AC sign "$1" "$1.s" "$2" "$3" "$4" "${5:-rsa}" && mv "$1.s" "$1"; }
# send MAILFROM FILE: through Postfix from the external client
send() { pw_send_smtp --xclient "$IP" --from "$1" --data "@$2"; }
# ar FILE: python3-authres's view of the delivered message's A-R headers
ar() { $AC ar "$1" mx.example.test; }
# ar_has FILE TEXT...: the topmost A-R, as parsed, has every TEXT
ar_has() {
	local f=$1 out t
	shift
	out=$(ar "$f") || { diag "A-R unparseable:" "$out"; return 1; }
	for t in "$@"; do
		grep -qF -- "$t" <<<"$out" || { diag "A-R lacks '$t':" "$out"; return 1; }
	done
}
# reply_has TEXT: the swaks transcript shows this server reply
reply_has() { grep -qF -- "$1" "$PW_SWAKS" || { diag "swaks:" "$(grep '<[*~-]' "$PW_SWAKS" | tail -3)"; return 1; }; }
# deliver MAILFROM FILE: send and print the delivered file (empty if not)
deliver() { send "$1" "$2" >/dev/null; pw_wait_sent "$PW_QID"; }

# ---- SPF: every result, compared with pyspf ---------------------------------
for r in pass fail soft neutral none perm temp; do
	f=$(msg "Alice <alice@$r.spf.test>")
	d=$(deliver "alice@$r.spf.test" "$f")
	want=$($AC spf "$IP" "alice@$r.spf.test" client.example.test "$PW_DNS_PORT")
	check "SPF $r: delivered" test -n "$d"
	check "SPF $r: A-R spf=$want (pyspf) with smtp.mailfrom" ar_has "$d" \
	    "spf=$want smtp.mailfrom=alice@$r.spf.test"
done

f=$(msg "Alice <alice@six.spf.test>")
d=$(deliver alice@six.spf.test "$f")
want=$($AC spf "$IP" alice@six.spf.test client.example.test "$PW_DNS_PORT")
check "SPF six includes (7 queries), default dns_max_queries: pass, spf=$want (pyspf)" \
    ar_has "$d" "spf=pass smtp.mailfrom=alice@six.spf.test" "spf=$want smtp.mailfrom"

# the null sender: the HELO identity is checked (RFC 7208 section 2.4)
f=$(msg "Mailer <daemon@helo.spf.test>")
pw_send_smtp --xclient "$IP" --helo helo.spf.test --from '<>' --data "@$f" >/dev/null
d=$(pw_wait_sent "$PW_QID")
want=$($AC spf "$IP" "" helo.spf.test "$PW_DNS_PORT")
check "SPF null sender: MAIL FROM:<> queued" grep -qF "MAIL FROM:<>" "$PW_SWAKS"
check "SPF null sender: HELO checked, spf=$want (pyspf) smtp.helo" ar_has "$d" \
    "spf=$want smtp.helo=helo.spf.test"

# ---- DKIM: pass, tampered, missing key, ed25519, two signatures -------------
f=$(msg "a@k.test"); sign "$f" "$kr" k.test rsa1
d=$(deliver x@bounce.r.test "$f")
check "DKIM rsa: pass, header.d/s/a" ar_has "$d" "dkim=pass header.d=k.test header.s=rsa1 header.a=rsa-sha256"
check "DKIM rsa: dkimpy agrees (pass)" pw_verify_dkimpy "$d"
check "DMARC via DKIM only: pass" ar_has "$d" "dmarc=pass header.from=k.test policy.dmarc=reject"

f=$(msg "a@k.test"); sign "$f" "$ke" k.test ed1 ed25519
d=$(deliver x@bounce.r.test "$f")
check "DKIM ed25519: pass" ar_has "$d" "dkim=pass header.d=k.test header.s=ed1 header.a=ed25519-sha256"
check "DKIM ed25519: dkimpy agrees (pass)" pw_verify_dkimpy "$d"

# DKIM failures from a domain without DMARC record: delivered, A-R shows why
f=$(msg "a@nodmarc.test"); sign "$f" "$kr" k.test rsa1
sed -i 's/inbound test message/inbound TAMPERED message/' "$f"
d=$(deliver x@bounce.r.test "$f")
check "DKIM body modified: fail (body hash)" ar_has "$d" "dkim=fail reason=body hash mismatch" "header.d=k.test"
check "DKIM body modified: dkimpy agrees (fail)" bash -c "! $PW_PY $PW_IT/dkimverify.py $d $PW_DNS_PORT >/dev/null"

f=$(msg "a@nodmarc.test"); sign "$f" "$kn" k.test nokey
d=$(deliver x@bounce.r.test "$f")
check "DKIM missing key: permerror (not fail, not temperror)" ar_has "$d" "dkim=permerror reason=key not found" "header.d=k.test header.s=nokey"

f=$(msg "a@nodmarc.test"); sign "$f" "$kr" k.test rev
d=$(deliver x@bounce.r.test "$f")
check "DKIM revoked key (empty p=): fail, reason key revoked" ar_has "$d" "dkim=fail reason=key revoked" "header.d=k.test header.s=rev"
check "DKIM revoked key: dkimpy agrees (not pass)" bash -c "! $PW_PY $PW_IT/dkimverify.py $d $PW_DNS_PORT >/dev/null"

# expired: x= long past (RFC 6376 section 3.5); dkimpy cannot sign with x=,
# so t=/x= are put into a good signature afterwards
f=$(msg "a@nodmarc.test"); sign "$f" "$kr" k.test rsa1
sed -i '1,/^$/s/ t=[0-9]*;/ t=1000000000; x=1000000001;/' "$f"
d=$(deliver x@bounce.r.test "$f")
check "DKIM expired signature (x= past): fail, reason signature expired" ar_has "$d" "dkim=fail reason=signature expired" "header.d=k.test header.s=rsa1"
check "DKIM expired signature: dkimpy agrees (not pass)" bash -c "! $PW_PY $PW_IT/dkimverify.py $d $PW_DNS_PORT >/dev/null"

# rsa-sha1 verifies cryptographically but must not count (RFC 8301 3.1)
f=$(msg "a@nodmarc.test"); sign "$f" "$kr" k.test rsa1 rsa-sha1
d=$(deliver x@bounce.r.test "$f")
check "DKIM rsa-sha1: not a pass (RFC 8301): dkim=policy, header.a=rsa-sha1" \
    ar_has "$d" "dkim=policy reason=rsa-sha1" "header.d=k.test header.s=rsa1 header.a=rsa-sha1"
f=$(msg "a@k.test"); sign "$f" "$kr" k.test rsa1 rsa-sha1; send x@bounce.r.test "$f"
check "DKIM rsa-sha1 only, p=reject: DMARC fails, 550 5.7.1" \
    reply_has "550 5.7.1 Email from k.test rejected per its DMARC policy"

f=$(msg "a@k.test"); sign "$f" "$kr" k.test rsa1; sign "$f" "$kx" r.test wrongsel
d=$(deliver x@bounce.r.test "$f")
out=$(ar "$d")
check "DKIM two signatures: one permerror, one pass" ar_has "$d" "dkim=permerror" "dkim=pass header.d=k.test"
check "DKIM two signatures: dmarc still passes" ar_has "$d" "dmarc=pass"
dk=$($PW_PY "$PW_IT/dkimverify.py" "$d" "$PW_DNS_PORT" 2>&1 | awk '{print $3}' | tr '\n' ' ')
ours=$(grep '^dkim=' <<<"$out" | sed 's/^dkim=\([a-z]*\).*/\1/' | sed 's/^\(permerror\|temperror\|policy\|neutral\)$/fail/' | tr '\n' ' ')
check "DKIM two signatures: per-signature results equal dkimpy's ($dk)" test "$ours" = "$dk"

# the cap: 4 signatures, dkim_verify_max_signatures = 3 -> 3 checked
f=$(msg "a@k.test")
for i in 1 2 3 4; do sign "$f" "$kr" k.test rsa1; done
d=$(deliver x@bounce.r.test "$f")
check "DKIM cap: 4 signatures, 3 checked and reported" \
    test "$(ar "$d" | grep -c '^dkim=pass')" = 3
check "DKIM cap: logged" grep -aq "1 signature(s) over dkim_verify_max_signatures" "$T/pw/log"

# ---- DMARC -------------------------------------------------------------------
f=$(msg "a@a.test"); d=$(deliver bounce@a.test "$f")
check "DMARC via SPF only: pass" ar_has "$d" "spf=pass smtp.mailfrom=bounce@a.test" "dmarc=pass header.from=a.test"

f=$(msg "a@u.test"); sign "$f" "$kx" r.test x1
send x@bounce.r.test "$f"
check "DMARC unaligned SPF pass + unaligned DKIM pass: rejected 550 5.7.1 naming u.test" \
    reply_has "550 5.7.1 Email from u.test rejected per its DMARC policy"
check "DMARC fail: nothing queued" test -z "$PW_QID"

f=$(msg "a@sub.rel.test"); d=$(deliver x@rel.test "$f")
check "DMARC relaxed: sub.rel.test aligned with rel.test (record at the org domain)" \
    ar_has "$d" "dmarc=pass header.from=sub.rel.test"
f=$(msg "a@sub.str.test"); send x@str.test "$f"
check "DMARC strict (aspf=s): sub.str.test vs str.test rejected" reply_has "550 5.7.1 Email from sub.str.test"
f=$(msg "a@str.test"); d=$(deliver x@str.test "$f")
check "DMARC strict: exact match passes" ar_has "$d" "dmarc=pass header.from=str.test"

f=$(msg "a@sub.sp.test"); d=$(deliver x@bounce.r.test "$f")
check "DMARC sp=none: subdomain failure delivered, reported fail with policy none" \
    ar_has "$d" "dmarc=fail header.from=sub.sp.test policy.dmarc=none"
f=$(msg "a@sp.test"); send x@bounce.r.test "$f"
check "DMARC p=reject at the org domain itself: rejected" reply_has "550 5.7.1 Email from sp.test"

# RFC 9989: pct is no tag any more ("unknown tags MUST be ignored"): pct=0
# no longer samples the policy out (RFC 7489 applied the next one down)
held() { local i; for i in $(seq 1 50); do grep -q "$1: .*milter triggers HOLD" "$T/pf/maillog" && return 0; sleep 0.1; done; return 1; }
f=$(msg "a@pq.test"); send x@bounce.r.test "$f"
check "DMARC p=quarantine pct=0 (RFC 9989: pct ignored): held by Postfix (RFC 7489: delivered)" held "$PW_QID"
f=$(msg "a@pct.test"); send x@bounce.r.test "$f"
check "DMARC p=reject pct=0 (RFC 9989: pct ignored): 550 (RFC 7489: quarantine)" \
    reply_has "550 5.7.1 Email from pct.test rejected per its DMARC policy"
f=$(msg "a@q.test"); send x@bounce.r.test "$f"
check "DMARC p=quarantine: held by Postfix" held "$PW_QID"

f=$(msg "a@sub.example.co.uk"); d=$(deliver x@example.co.uk "$f")
check "DMARC org domain via the real PSL: sub.example.co.uk aligned with example.co.uk" \
    ar_has "$d" "dmarc=pass header.from=sub.example.co.uk"

# ---- issue 11 regressions (defects found against Mail::DMARC) ----------------
# PSL wildcard rules: evil.co.ck's SPF pass does not align with shop.co.ck
f=$(msg "a@shop.co.ck"); send x@evil.co.ck "$f"
check "DMARC tree walk, psd=y at co.ck: evil.co.ck does not align with shop.co.ck, p=reject: 550" \
    reply_has "550 5.7.1 Email from shop.co.ck rejected per its DMARC policy"
f=$(msg "a@shopn.co.ck"); d=$(deliver x@evil.co.ck "$f")
check "DMARC tree walk, psd=y at co.ck: shopn.co.ck vs evil.co.ck delivered as dmarc=fail, policy none" \
    ar_has "$d" "spf=pass smtp.mailfrom=x@evil.co.ck" "dmarc=fail header.from=shopn.co.ck policy.dmarc=none"
f=$(msg "a@shop.co.ck"); d=$(deliver x@mail.shop.co.ck "$f")
check "DMARC tree walk, psd=y at co.ck: mail.shop.co.ck aligns with shop.co.ck (relaxed): pass" \
    ar_has "$d" "dmarc=pass header.from=shop.co.ck policy.dmarc=reject"
f=$(msg "a@mail.spx.co.ck"); send x@bounce.r.test "$f"
check "DMARC tree walk, psd=y at co.ck: sp=reject of spx.co.ck applies (not p=none of _dmarc.co.ck): 550" \
    reply_has "550 5.7.1 Email from mail.spx.co.ck rejected per its DMARC policy"
f=$(msg "a@alice.b.alces.network"); send x@bob.b.alces.network "$f"
check "DMARC tree walk: bob.b.alces.network does not align with alice: 550" \
    reply_has "550 5.7.1 Email from alice.b.alces.network rejected"
# white space around "=": a record, not ignored
f=$(msg "a@ws.test"); send x@bounce.r.test "$f"
check "DMARC 'v = DMARC1; p = reject': unaligned mail rejected 550" \
    reply_has "550 5.7.1 Email from ws.test rejected per its DMARC policy"
f=$(msg "a@ws.test"); d=$(deliver x@ws.test "$f")
check "DMARC 'v = DMARC1; p = reject': aligned mail passes, policy reject in A-R" \
    ar_has "$d" "dmarc=pass header.from=ws.test policy.dmarc=reject"
f=$(msg "a@wsn.test"); d=$(deliver x@bounce.r.test "$f")
check "DMARC 'v = DMARC1 ; p = none': dmarc=fail (not none), delivered" \
    ar_has "$d" "dmarc=fail header.from=wsn.test policy.dmarc=none"
# two records at the From domain: RFC 9989 4.10 step 2 discards them and the
# walk goes on to the parent's p=reject (RFC 7489 6.6.3 step 5: no DMARC;
# dmarc_org_domain = psl, t_dmarc_verify t_two_records_no_fallthrough)
f=$(msg "a@sub.twop.test"); send x@bounce.r.test "$f"
check "DMARC two records at _dmarc.sub.twop.test: discarded, the parent's p=reject applies (RFC 9989; RFC 7489: none)" \
    reply_has "550 5.7.1 Email from sub.twop.test rejected per its DMARC policy"
ar_raw_has() { pw_header "$1" Authentication-Results | grep -qF -- "$2"; }
# RFC 9989 t=y: the policy is not applied
f=$(msg "a@ty.test"); d=$(deliver x@bounce.r.test "$f")
check "DMARC t=y with p=reject: delivered, dmarc=fail, policy reject not applied (dis=none)" \
    ar_has "$d" "dmarc=fail header.from=ty.test policy.dmarc=reject"
check "DMARC t=y: the A-R comment says dis=none" ar_raw_has "$d" "(p=reject dis=none)"
# RFC 9989 np: ghost.npx.test does not exist (NXDOMAIN): np=reject
f=$(msg "a@ghost.npx.test"); send x@bounce.r.test "$f"
check "DMARC np=reject, From domain NXDOMAIN: 550" \
    reply_has "550 5.7.1 Email from ghost.npx.test rejected per its DMARC policy"
f=$(msg "a@exists.npx.test"); d=$(deliver x@bounce.r.test "$f")
check "DMARC np=reject, From domain exists: sp=none, delivered" \
    ar_has "$d" "dmarc=fail header.from=exists.npx.test policy.dmarc=none"
# RFC 9989 psd=y: another registrant of the PSD does not align; the PSD's sp
# applies to a registration without a record
f=$(msg "a@mail.bank.psd.test"); send x@other.psd.test "$f"
check "DMARC psd=y: other.psd.test does not align with mail.bank.psd.test, PSD sp=quarantine: held" \
    held "$PW_QID"
f=$(msg "a@mail.bank.psd.test"); d=$(deliver x@x.bank.psd.test "$f")
check "DMARC psd=y: x.bank.psd.test aligns with mail.bank.psd.test (org bank.psd.test): pass" \
    ar_has "$d" "dmarc=pass header.from=mail.bank.psd.test"
# a temporary failure in the walk above the From domain: 4xx, never a fail
f=$(msg "a@sub.twf.test"); send x@bounce.r.test "$f"
check "DMARC tree walk REFUSED at _dmarc.twf.test: 4xx, not a DMARC fail" \
    reply_has "451 4.7.1 DMARC check for sub.twf.test could not be completed"
# a valid rua and no p: p=none (RFC 7489 6.6.3), not permerror
f=$(msg "a@ruanop.test"); d=$(deliver x@bounce.r.test "$f")
check "DMARC record with rua and no p: dmarc=fail policy none (not permerror)" \
    ar_has "$d" "dmarc=fail header.from=ruanop.test policy.dmarc=none"

f=$(msg "a@nodmarc.test"); d=$(deliver x@bounce.r.test "$f")
check "DMARC no record: none, delivered" ar_has "$d" "dmarc=none header.from=nodmarc.test"

f=$(msg "a@tf.test"); send x@bounce.r.test "$f"
check "DMARC record lookup REFUSED: 4xx, not a DMARC fail" reply_has "451 4.7.1 DMARC check for tf.test could not be completed"
f=$(msg "a@tf2.test"); send x@tf2.test "$f"
check "SPF temperror on the aligned domain, p=reject: 4xx, not 5xx" reply_has "451 4.7.1"
lp=$(printf 'x%.0s' $(seq 70))
f=$(msg "a@lp.test"); send "$lp@lp.test" "$f"
check "SPF exists:%{l} with a 70-octet local part, p=reject: 550 (no match, fail), not a 451" \
    reply_has "550 5.7.1 Email from lp.test rejected per its DMARC policy"
f=$(msg "a@kt.test"); sign "$f" "$kr" kt.test rsa1; send x@bounce.r.test "$f"
check "DKIM key query REFUSED on the aligned domain, p=reject: 4xx, not 5xx" \
    reply_has "451 4.7.1 DMARC check for kt.test could not be completed"
f=$(msg "a@nodmarc.test"); sign "$f" "$kr" kt.test rsa1; d=$(deliver x@bounce.r.test "$f")
check "DKIM key query REFUSED: dkim=temperror (key query failed)" \
    ar_has "$d" "dkim=temperror reason=key query failed header.d=kt.test"

# ---- From header checks (CVE-2019-16378 class) --------------------------------
f=$(msg "a@a.test" "From: b@u.test"); send bounce@a.test "$f"
check "two From headers: 550 5.7.1" reply_has "550 5.7.1 more than one From header"
f=$(msg "a@a.test, b@u.test"); send bounce@a.test "$f"
check "From with two addresses: 550 5.7.1" reply_has "550 5.7.1 From header with more than one address"
f=$(msg "\"unbalanced <a@a.test>"); send bounce@a.test "$f"
check "unparseable From: 550 5.6.0" reply_has "550 5.6.0 From header cannot be parsed"
f=$(msg "a@a.test"); sed -i '/^From:/d' "$f"; send bounce@a.test "$f"
check "no From header: 550 5.7.1" reply_has "550 5.7.1 no From header"

# ---- forged Authentication-Results --------------------------------------------
f=$(msg "a@a.test" "Authentication-Results: mx.example.test; dkim=pass header.d=u.test" \
    "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example" \
    "Authentication-Results: (sneaky) MX.EXAMPLE.TEST 1; dmarc=pass header.from=u.test" \
    "Authentication-Results: mx.example.test dmarc=pass")
d=$(deliver bounce@a.test "$f")
check "forged A-R: delivered" test -n "$d"
check "forged A-R: only ours claims mx.example.test, the other one is kept" \
    ar_has "$d" "count=2 ours=1"
check "forged A-R: ours is the topmost A-R and says spf=pass dmarc=pass" \
    ar_has "$d" "id=mx.example.test" "spf=pass" "dmarc=pass header.from=a.test"
check "A-R inserted above Postfix's Received header" \
    test "$(tr -d '\r' <"$d" | grep -n -m1 -i '^Authentication-Results: mx' | cut -d: -f1)" -lt \
    "$(tr -d '\r' <"$d" | grep -n -m1 '^Received:' | cut -d: -f1)"

# ---- internal mail is not verified (verify_outbound = no, the default) ----------
# From u.test (p=reject, no SPF for us) sent by an internal client: a check
# would reject it.
f=$(msg "a@u.test")
pw_send_smtp --from x@bounce.r.test --data "@$f" >/dev/null
d=$(pw_wait_sent "$PW_QID")
check "internal client (127.0.0.1): not verified, delivered" test -n "$d"
check "internal client: no Authentication-Results added" ar_has "$d" "count=0 ours=0"

# ---- DMARC evaluations stored for aggregate reports ----------------------------------
for i in $(seq 1 30); do	# rows are written in batches, within 0.5 s
	rows=$(sqlite3 "$T/pw/postwarden.db" "SELECT count(*) FROM dmarc_eval" 2>/dev/null)
	[ "${rows:-0}" -ge 10 ] && break
	sleep 0.1
done
check "DMARC evaluations stored in the store ($rows rows)" test "${rows:-0}" -ge 10
check "a stored row: u.test from $IP, policy reject, disposition reject, dkim pass for r.test" \
    test -n "$(sqlite3 "$T/pw/postwarden.db" "SELECT 1 FROM dmarc_eval WHERE from_domain = 'u.test' AND source_ip = '$IP' AND policy = 'reject' AND disposition = 'reject' AND dkim_domain = 'r.test' AND dkim_result = 'pass'" 2>/dev/null)"
# issue 11, schema version 2: what an RFC 9990 report needs
check "a stored row has the report columns: envelope From, SPF scope, DKIM selector, alignment, published record, discovery" \
    test -n "$(sqlite3 "$T/pw/postwarden.db" "SELECT 1 FROM dmarc_eval WHERE from_domain = 'u.test' AND env_from = 'bounce.r.test' AND spf_scope = 'mfrom' AND dkim_selector = 'x1' AND dmarc_result = 'fail' AND spf_aligned = 'fail' AND dkim_aligned = 'fail' AND pub_domain = 'u.test' AND pub_record = 'v=DMARC1; p=reject' AND discovery = 'treewalk'" 2>/dev/null)"
check "a t=y row: disposition none, override policy_test_mode" \
    test -n "$(sqlite3 "$T/pw/postwarden.db" "SELECT 1 FROM dmarc_eval WHERE from_domain = 'ty.test' AND policy = 'reject' AND disposition = 'none' AND override = 'policy_test_mode' AND pub_record = 'v=DMARC1; p=reject; t=y; rua=mailto:agg@ty.test'" 2>/dev/null)"

# Rows are queued and written in batches (policies/store/dmarc_rows.c): within
# half a second, and at a stop before the daemon exits.
nrows() {
	sqlite3 "$T/pw/postwarden.db" \
	    "SELECT count(*) FROM dmarc_eval WHERE from_domain = 'rows.test'" 2>/dev/null
}
n0=$(nrows)
send a@rows.test "$(msg a@rows.test)" >/dev/null	# dmarc=pass: one row
for i in $(seq 1 30); do [ "$(nrows)" = $((n0 + 1)) ] && break; sleep 0.1; done
diag "the row was in the store after about $((i / 10)).$((i % 10)) s"
check "a new evaluation is in the store within 3 s, the daemon running" \
    test "$(nrows)" = $((n0 + 1))
send a@rows.test "$(msg a@rows.test)" >/dev/null
kill -TERM "$PW_MILTER_PID"		# at once: the row is still queued
pw_wait_gone "$PW_MILTER_PID" 150
PW_MILTER_PID=
check "SIGTERM right after a message: its row was written before the exit" \
    test "$(nrows)" = $((n0 + 2))
pw_start_milter || pw_bail "milter restarted"

# ---- hostile headers: no crash, sane results ---------------------------------------
deep=$(printf '(%.0s' $(seq 1 3000))x$(printf ')%.0s' $(seq 1 3000))
f=$(msg "a@a.test" "DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=;;; b=;bh=" \
    "Authentication-Results: $deep mx.example.test; dkim=pass" \
    "Authentication-Results: mx.example.test; spf=pass $(printf 'caf\xc3\xa9 \xff\xfe')")
d=$(deliver bounce@a.test "$f")
check "hostile headers: delivered" test -n "$d"
check "hostile headers: bad DKIM-Signature is a permerror (bad syntax), DMARC passes via SPF" \
    ar_has "$d" "dkim=permerror reason=bad syntax" "dmarc=pass"
check "hostile headers: both forged A-R (deep comment, 8-bit) removed" ar_has "$d" "count=1 ours=1"
many=$(for i in $(seq 1 300); do printf 'u%d@a.test, ' "$i"; done)
f=$(msg "${many}last@a.test"); send bounce@a.test "$f"
check "From with 301 addresses: 550 5.7.1" reply_has "550 5.7.1 From header with more than one address"
check "hostile headers: postwarden still running" pw_milter_running

# ---- other settings: spf_reject_fail, Received-SPF, HELO check, DMARC warn ------
pw_stop_milter || nok "milter stopped for the restart"
pw_conf "spf_reject_fail = yes"
pw_conf "spf_received_header = yes"
pw_conf "spf_check_helo = yes"
pw_conf "dmarc_mode = warn"
pw_conf "dns_max_queries = 5"
pw_start_milter || pw_bail "milter restarted with new settings"
f=$(msg "Alice <alice@six.spf.test>")
d=$(deliver alice@six.spf.test "$f")
check "dns_max_queries = 5: the same SPF check is a permerror, not a fail" \
    ar_has "$d" "spf=permerror smtp.mailfrom=alice@six.spf.test"
check "dns_max_queries = 5: the A-R says why" \
    grep -q "spf=permerror (too many DNS lookups)" <(tr -d '\r' <"$d")
f=$(msg "a@fail.spf.test"); send alice@fail.spf.test "$f"
check "spf_reject_fail: SPF fail rejected at MAIL FROM with 550 5.7.23" \
    reply_has "550 5.7.23 SPF check failed: $IP is not allowed to send mail for fail.spf.test"
f=$(msg "a@exp.spf.test"); send alice@exp.spf.test "$f"
check "spf_reject_fail: the domain's exp= explanation, expanded, is in the reply" \
    reply_has "550 5.7.23 SPF check failed: $IP is not allowed to send mail for exp.spf.test ($IP is not one of the servers of exp.spf.test (user alice), see https://exp.spf.test/spf)"
f=$(msg "a@inc.exp.spf.test"); send alice@inc.exp.spf.test "$f"
check "spf_reject_fail: an included record's exp= is not the explanation (RFC 7208 6.2)" \
    reply_has "550 5.7.23 SPF check failed: $IP is not allowed to send mail for inc.exp.spf.test"
check "spf_reject_fail: ... and the reply has no explanation at all" \
    ! reply_has "inc.exp.spf.test ("
f=$(msg "a@url.exp.spf.test"); send al+ice@url.exp.spf.test "$f"
check "spf_reject_fail: %{L} is URL-escaped and '%' reaches the reply (RFC 7208 7.3)" \
    reply_has "550 5.7.23 SPF check failed: $IP is not allowed to send mail for url.exp.spf.test (see https://url.exp.spf.test/?u=al%2Bice)"
f=$(msg "a@a.test"); d=$(deliver bounce@a.test "$f")
check "spf_received_header: Received-SPF: pass added" \
    grep -q "^Received-SPF: pass" <(tr -d '\r' <"$d")
check "spf_check_helo: A-R has the HELO identity too" ar_has "$d" "smtp.helo=client.example.test"
f=$(msg "a@u.test"); sign "$f" "$kx" r.test x1
d=$(deliver x@bounce.r.test "$f")
check "dmarc_mode = warn: failing p=reject mail delivered, A-R dmarc=fail" \
    ar_has "$d" "dmarc=fail header.from=u.test"
check "dmarc_mode = warn: logged what enforce would do" \
    grep -aq "u.test: fail, policy reject (warn only)" "$T/pw/log"
# the stored row (and the report) says what was done, RFC 9990's
# disposition, with the reason; rows are written within 0.5 s
row_has() {
	for _ in $(seq 1 30); do
		[ -n "$(sqlite3 "$T/pw/postwarden.db" "SELECT 1 FROM dmarc_eval WHERE $1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
check "dmarc_mode = warn: the row says disposition none, override local_policy (policy reject)" \
    row_has "from_domain = 'u.test' AND policy = 'reject' AND disposition = 'none' AND override = 'local_policy'"
# ---- the DMARC actions are configurable ---------------------------------------
pw_stop_milter || nok "milter stopped for the restart"
sed -i '/^spf_\|^dmarc_mode\|^dns_max_queries/d' "$T/pw/extra.conf"
pw_conf "dmarc_on_reject = quarantine"
pw_conf "dmarc_on_quarantine = accept"
pw_conf "dmarc_on_temperror = accept"
pw_conf "dmarc_from_check = warn"
pw_start_milter || pw_bail "milter restarted with new settings"
f=$(msg "a@u.test"); sign "$f" "$kx" r.test x1; send x@bounce.r.test "$f"
check "dmarc_on_reject = quarantine: p=reject failure accepted" test -n "$PW_QID"
check "dmarc_on_reject = quarantine: held by Postfix" held "$PW_QID"
check "dmarc_on_reject = quarantine: the row says disposition quarantine, override local_policy" \
    row_has "from_domain = 'u.test' AND policy = 'reject' AND disposition = 'quarantine' AND override = 'local_policy'"
f=$(msg "a@q.test"); d=$(deliver x@bounce.r.test "$f")
check "dmarc_on_quarantine = accept: p=quarantine failure delivered, dmarc=fail" \
    ar_has "$d" "dmarc=fail header.from=q.test"
f=$(msg "a@tf.test"); d=$(deliver x@bounce.r.test "$f")
check "dmarc_on_temperror = accept: delivered with dmarc=temperror" \
    ar_has "$d" "dmarc=temperror" "header.from=tf.test"
f=$(msg "a@a.test" "From: b@u.test"); d=$(deliver bounce@a.test "$f")
check "dmarc_from_check = warn: two From headers delivered, dmarc=permerror" \
    ar_has "$d" "dmarc=permerror"
check "dmarc_from_check = warn: logged" \
    grep -aq "more than one From header (warn only)" "$T/pw/log"
# back to the defaults for the last test
pw_stop_milter || nok "milter stopped for the restart"
sed -i '/^dmarc_on_\|^dmarc_from_check/d' "$T/pw/extra.conf"
pw_start_milter || pw_bail "milter restarted with the defaults"

# ---- RFC 9990 aggregate reports (postwarden-ctl dmarc report --dry-run) ----------
f=$(msg "a@rua1.test"); deliver x@rua1.test "$f" >/dev/null
f=$(msg "a@rua1.test"); deliver x@rua1.test "$f" >/dev/null
f=$(msg "a@ext.test"); send x@bounce.r.test "$f" >/dev/null
for i in $(seq 1 30); do	# rows are written within 0.5 s
	n=$(sqlite3 "$T/pw/postwarden.db" "SELECT count(*) FROM dmarc_eval WHERE from_domain IN ('rua1.test', 'ext.test')" 2>/dev/null)
	[ "${n:-0}" -ge 3 ] && break
	sleep 0.1
done
rep="$T/reports"
"$PW_CTL" -c "$T/pw/postwarden.conf" dmarc report --dry-run "$rep" \
    --from "$(date -u +%Y-%m-%d)" --to "$(( $(date +%s) + 60 ))" \
    --org-name "Test Receiver" --email dmarc-reports@example.test \
    >"$T/report.out" 2>"$T/report.err"
check "dmarc report --dry-run: exit 0" test $? -eq 0
got=$(ls "$rep" 2>/dev/null | cut -d'!' -f1,3 | sort | tr '\n' ' ')
check "dmarc report: one report per (domain, rua), the unauthorized external one left out ($got)" \
    test "$got" = "agg@reports.test!ext.test agg@rua1.test!rua1.test agg@ty.test!ty.test dmarc@ruanop.test!ruanop.test "
check "dmarc report: the destination without authorization is named on stderr" \
    grep -q "ext.test: agg@noauth.test skipped: no authorization record" "$T/report.err"
bad=0
for x in "$rep"/*.xml.gz; do
	gzip -dc "$x" | xmllint --noout --schema "$PW_TOP/tests/data/dmarc/aggregate-report.xsd" - \
	    >>"$T/report.xmllint" 2>&1 || bad=$((bad + 1))
done
check "dmarc report: every file is gzip'd XML valid against the aggregate report schema (xmllint)" test "$bad" -eq 0
# an independent reader (python's XML parser): the counts in each report are
# the rows the store holds for its domain; what the t=y and pass rows say
cat >"$T/report_check.py" <<'PY'
import glob, gzip, sqlite3, sys, xml.etree.ElementTree as ET
ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
db = sqlite3.connect(sys.argv[2])
ok = True
for path in glob.glob(sys.argv[1] + "/*.xml.gz"):
    root = ET.fromstring(gzip.open(path).read())
    dom = root.find("d:policy_published/d:domain", ns).text
    begin = int(root.find("d:report_metadata/d:date_range/d:begin", ns).text)
    end = int(root.find("d:report_metadata/d:date_range/d:end", ns).text)
    total = sum(int(r.find("d:row/d:count", ns).text)
                for r in root.findall("d:record", ns))
    want = db.execute("SELECT count(*) FROM dmarc_eval WHERE pub_domain = ?"
                      " AND time >= ? AND time <= ?", (dom, begin, end)).fetchone()[0]
    if total != want or total == 0:
        print("%s: %d messages reported, %d stored" % (dom, total, want)); ok = False
    if dom == "ty.test":
        if root.find("d:policy_published/d:testing", ns).text != "y" or \
           root.find("d:record/d:row/d:policy_evaluated/d:reason/d:type", ns).text != "policy_test_mode" or \
           root.find("d:record/d:row/d:policy_evaluated/d:disposition", ns).text != "none":
            print("ty.test: t=y not reported as policy_test_mode"); ok = False
    if dom == "rua1.test":
        recs = root.findall("d:record", ns)
        if len(recs) != 1 or recs[0].find("d:row/d:count", ns).text != "2" or \
           recs[0].find("d:row/d:policy_evaluated/d:spf", ns).text != "pass" or \
           recs[0].find("d:auth_results/d:spf/d:scope", ns).text != "mfrom":
            print("rua1.test: two identical messages are not one record of 2"); ok = False
    print(dom, total)
sys.exit(0 if ok else 1)
PY
check "dmarc report: counts read back by python's XML parser match the store" \
    $PW_PY "$T/report_check.py" "$rep" "$T/pw/postwarden.db"
# sending the reports (without --dry-run): t_dmarc_report.sh

# ---- the DNS server stops: tempfail, never fail ---------------------------------
kill "${PW_PIDS[0]}" 2>/dev/null	# unbound is the first process started
pw_wait_gone "${PW_PIDS[0]}" 50
f=$(msg "a@late.test"); send bounce@late.test "$f"
check "DNS server stopped: 451 (tempfail), not 550" reply_has "451 4.7.1"
check "DNS server stopped: postwarden still running" pw_milter_running

pw_done
