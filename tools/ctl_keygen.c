/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_keygen - "postwarden-ctl keygen": create a DKIM signing key.
 *
 * Writes DIR/SELECTOR.private (PEM, PKCS#8, mode 0600, never over an
 * existing file) and DIR/SELECTOR.txt (the DNS TXT record), and prints
 * the TXT record, the KeyTable line and a SigningTable line.  RSA
 * (rsa-sha256, RFC 6376, key sizes per RFC 8301 §3.2) and Ed25519
 * (ed25519-sha256, RFC 8463).  OpenSSL 3 EVP APIs only.
 *
 * PKCS#8 ("BEGIN PRIVATE KEY") for both key types: libopendkim 2.11
 * reads it for rsa-sha256 and ed25519-sha256 (it also reads PKCS#1), and
 * it is what opendkim-genkey writes with OpenSSL 3, so KeyTables move
 * between OpenDKIM and postwarden unchanged.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/util.h"
#include "ctl.h"

#define KG	"keygen"

/* RFC 1035 §2.3.4: 63 octets per label, 255 per name on the wire, which
   leaves 253 characters in text form without the trailing dot. */
#define KG_LABEL_MAX	63
#define KG_NAME_MAX	253
/* RFC 1035 §3.3.14: a TXT character-string holds at most 255 octets. */
#define KG_TXT_CHUNK	255

enum kg_type { KG_RSA, KG_ED25519 };

struct kg_opts {
	const char	*domain;
	const char	*selector;
	const char	*dir;
	const char	*owner;
	enum kg_type	 type;
	long		 bits;		/* RSA only; 0: default */
};

static int kg_parse(int, char **, struct kg_opts *);
static int kg_check_name(const char *, const char *, size_t);
static int kg_check_paths(const char *, const char *, const char *);
static EVP_PKEY *kg_generate(const struct kg_opts *);
static char *kg_public_b64(EVP_PKEY *, enum kg_type);
static char *kg_txt_record(const struct kg_opts *, const char *);
static int kg_write_private(const char *, const char *, EVP_PKEY *,
    const struct passwd *);
static int kg_write_public(const char *, const char *);
static void kg_ssl_error(const char *);

static const char kg_usage_text[] =
    "usage: postwarden-ctl keygen --domain D --selector S"
    " [--type rsa|ed25519]\n"
    "\t\t[--bits N] [--dir DIR] [--owner USER]\n";

/* kg_usage - print the usage and return EX_USAGE */
static int
kg_usage(const char *why)
{
	if (why != NULL)
		pw_ctl_error(KG, "%s", why);
	fputs(kg_usage_text, stderr);
	return EX_USAGE;
}

/* kg_parse - command line into opts; 0 or EX_USAGE */
static int
kg_parse(int argc, char **argv, struct kg_opts *o)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"selector", required_argument, NULL, 's'},
	    {"type", required_argument, NULL, 't'},
	    {"bits", required_argument, NULL, 'b'},
	    {"dir", required_argument, NULL, 'D'},
	    {"owner", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int ch;

	/* Short letters as in opendkim-genkey (-d -s -b -D).  Leading ":"
	   makes a missing argument ':' so both errors get our wording. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:d:s:t:b:D:o:h", longopts,
		    NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->domain = optarg;
			break;
		case 's':
			o->selector = optarg;
			break;
		case 't':
			if (pw_strcaseeq(optarg, "rsa"))
				o->type = KG_RSA;
			else if (pw_strcaseeq(optarg, "ed25519"))
				o->type = KG_ED25519;
			else
				return kg_usage("--type must be rsa or ed25519");
			break;
		case 'b':
			errno = 0;
			o->bits = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    o->bits < 1024 || o->bits > 8192)
				return kg_usage(
				    "--bits must be a number from 1024 to 8192");
			break;
		case 'D':
			o->dir = optarg;
			break;
		case 'o':
			o->owner = optarg;
			break;
		case 'h':
			fputs(kg_usage_text, stdout);
			exit(0);
		case ':':
			pw_ctl_error(KG, "option %s needs a value",
			    argv[optind - 1]);
			return kg_usage(NULL);
		default:
			pw_ctl_error(KG, "unknown option %s", argv[optind - 1]);
			return kg_usage(NULL);
		}
	}
	if (optind < argc)
		return kg_usage("unexpected arguments");
	if (o->domain == NULL || o->selector == NULL)
		return kg_usage("--domain and --selector are required");
	if (o->type == KG_ED25519 && o->bits != 0)
		return kg_usage("--bits applies to RSA keys only "
				"(Ed25519 keys are always 256 bits)");
	if (o->type == KG_RSA && o->bits == 0)
		o->bits = 2048;
	return 0;
}

/*
 * kg_check_name - DNS name syntax for the domain and the selector.
 *
 * RFC 6376 §3.1: a selector is a sub-domain (dots allowed, e.g.
 * "2026.jan"), and so is d=.  RFC 5321 §4.1.2 sub-domain: labels of
 * letters, digits and hyphens that start and end with a letter or digit.
 * No trailing dot: the name is always relative to the root here.  Also
 * keeps the selector safe to use as a file name (no '/').
 */
static int
kg_check_name(const char *what, const char *name, size_t max)
{
	size_t len = strlen(name), label = 0;

	if (len == 0) {
		pw_ctl_error(KG, "%s is empty", what);
		return -1;
	}
	if (len > max) {
		pw_ctl_error(KG, "%s \"%s\" is longer than %zu characters",
		    what, name, max);
		return -1;
	}
	if (name[0] == '.' || name[len - 1] == '.') {
		pw_ctl_error(KG, "%s \"%s\" must not start or end with a dot",
		    what, name);
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' || c == '\0') {
			if (label == 0) {
				pw_ctl_error(KG, "%s \"%s\" has an empty label",
				    what, name);
				return -1;
			}
			if (name[i - 1] == '-' || name[i - label] == '-') {
				pw_ctl_error(KG,
				    "%s \"%s\": a label must not start or end "
				    "with a hyphen",
				    what, name);
				return -1;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-')) {
			pw_ctl_error(KG,
			    "%s \"%s\": only letters, digits, hyphens and dots "
			    "are allowed",
			    what, name);
			return -1;
		}
		if (++label > KG_LABEL_MAX) {
			pw_ctl_error(KG,
			    "%s \"%s\": a label is longer than %d characters",
			    what, name, KG_LABEL_MAX);
			return -1;
		}
	}
	return 0;
}

/* kg_check_paths - the directory is usable and neither output exists */
static int
kg_check_paths(const char *dir, const char *priv, const char *txt)
{
	struct stat st;
	const char *files[] = {priv, txt};

	if (stat(dir, &st) != 0) {
		pw_ctl_error_errno(KG, "directory %s", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pw_ctl_error(KG, "%s is not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		pw_ctl_error_errno(KG, "cannot create files in %s", dir);
		return -1;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (lstat(files[i], &st) == 0) {
			pw_ctl_error(KG,
			    "%s already exists; refusing to overwrite it "
			    "(choose another selector or remove the file)",
			    files[i]);
			return -1;
		}
		if (errno != ENOENT) {
			pw_ctl_error_errno(KG, "%s", files[i]);
			return -1;
		}
	}
	return 0;
}

/* kg_ssl_error - report the OpenSSL error queue */
static void
kg_ssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e == 0) {
		pw_ctl_error(KG, "%s failed", what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	pw_ctl_error(KG, "%s: %s", what, buf);
	ERR_clear_error();
}

/* kg_generate - a new key pair; NULL after an error message */
static EVP_PKEY *
kg_generate(const struct kg_opts *o)
{
	EVP_PKEY *pkey;

	if (o->type == KG_RSA)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o->bits);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL)
		kg_ssl_error("key generation");
	return pkey;
}

/*
 * kg_public_b64 - the p= value.
 *
 * RFC 6376 §3.6.1: for k=rsa, p= is the base64 of the DER
 * SubjectPublicKeyInfo.  RFC 8463 §4.2: for k=ed25519 it is the base64
 * of the raw 32-byte public key, without any ASN.1 wrapping.
 */
static char *
kg_public_b64(EVP_PKEY *pkey, enum kg_type type)
{
	unsigned char raw[32], *der = NULL;
	const unsigned char *in;
	size_t len;
	char *out;

	if (type == KG_RSA) {
		int n = i2d_PUBKEY(pkey, &der);

		if (n <= 0) {
			kg_ssl_error("encoding the public key");
			return NULL;
		}
		in = der;
		len = (size_t)n;
	} else {
		len = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 ||
		    len != sizeof(raw)) {
			kg_ssl_error("reading the Ed25519 public key");
			return NULL;
		}
		in = raw;
	}
	out = pw_malloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	OPENSSL_free(der);
	return out;
}

/*
 * kg_txt_record - the zone-file text of the TXT record.
 *
 * One record, several character-strings of at most 255 octets each
 * (RFC 1035 §3.3.14); verifiers join them (RFC 6376 §3.6.2.2).  Same
 * layout as opendkim-genkey's .txt, with the name fully qualified.
 */
static char *
kg_txt_record(const struct kg_opts *o, const char *p)
{
	struct pw_buf b = {0};
	size_t plen = strlen(p), off = 0, room;

	pw_buf_printf(&b, "%s._domainkey.%s.\tIN\tTXT\t( \"v=DKIM1; k=%s; \"",
	    o->selector, o->domain, o->type == KG_RSA ? "rsa" : "ed25519");
	room = KG_TXT_CHUNK - 2;	/* first string starts with "p=" */
	pw_buf_puts(&b, "\n\t\"p=");
	do {
		size_t n = plen - off < room ? plen - off : room;

		pw_buf_add(&b, p + off, n);
		off += n;
		pw_buf_puts(&b, "\"");
		if (off < plen)
			pw_buf_puts(&b, "\n\t\"");
		room = KG_TXT_CHUNK;
	} while (off < plen);
	if (o->type == KG_RSA)
		pw_buf_printf(&b, " )\t; DKIM key %s for %s (rsa %ld bits)\n",
		    o->selector, o->domain, o->bits);
	else
		pw_buf_printf(&b, " )\t; DKIM key %s for %s (ed25519)\n",
		    o->selector, o->domain);
	return b.data;
}

/*
 * kg_write_private - write the PEM key to path, all or nothing.
 *
 * The key goes to a temporary file that mkostemp() creates with
 * O_CREAT|O_EXCL and mode 0600, so it is never readable by others, not
 * even for a moment (no chmod after writing).  link() then gives it its
 * name: that fails with EEXIST rather than replace an existing key, and
 * a daemon reloading meanwhile never sees a half-written file.
 */
static int
kg_write_private(const char *dir, const char *path, EVP_PKEY *pkey,
    const struct passwd *pw)
{
	char *tmp = pw_asprintf("%s/.postwarden-keygen.XXXXXX", dir);
	BIO *bio = NULL;
	int fd, ok = 0;

	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		pw_ctl_error_errno(KG, "cannot create a file in %s", dir);
		free(tmp);
		return -1;
	}
	if (pw != NULL && fchown(fd, pw->pw_uid, pw->pw_gid) != 0) {
		pw_ctl_error_errno(KG, "cannot give %s to user %s", path,
		    pw->pw_name);
		goto done;
	}
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) !=
		1 ||
	    BIO_flush(bio) != 1) {
		kg_ssl_error("writing the private key");
		goto done;
	}
	if (fsync(fd) != 0) {
		pw_ctl_error_errno(KG, "writing %s", path);
		goto done;
	}
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			pw_ctl_error(KG,
			    "%s already exists; refusing to overwrite it",
			    path);
		else
			pw_ctl_error_errno(KG, "cannot create %s", path);
		goto done;
	}
	ok = 1;
done:
	BIO_free(bio);
	if (close(fd) != 0 && ok) {
		pw_ctl_error_errno(KG, "writing %s", path);
		unlink(path);
		ok = 0;
	}
	unlink(tmp);
	free(tmp);
	return ok ? 0 : -1;
}

/* kg_write_public - create path with the TXT record; never overwrite */
static int
kg_write_public(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd < 0) {
		pw_ctl_error_errno(KG, "cannot create %s", path);
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || close(fd) != 0) {
		pw_ctl_error_errno(KG, "writing %s", path);
		if (off < len)
			close(fd);
		unlink(path);
		return -1;
	}
	return 0;
}

int
pw_ctl_keygen(struct pw_ctl *ctl, int argc, char **argv)
{
	struct kg_opts o = {NULL, NULL, ".", NULL, KG_RSA, 0};
	struct passwd *pw = NULL;
	char *absdir = NULL, *priv = NULL, *txt = NULL, *p = NULL, *rec = NULL;
	EVP_PKEY *pkey = NULL;
	int rc, status = 1;

	(void)ctl;	/* keygen needs no configuration */
	if ((rc = kg_parse(argc, argv, &o)) != 0)
		return rc;
	if (kg_check_name("domain", o.domain, KG_NAME_MAX) != 0 ||
	    kg_check_name("selector", o.selector, KG_NAME_MAX) != 0)
		return 1;
	/* The whole record name, S._domainkey.D, must fit in DNS too. */
	if (strlen(o.selector) + strlen("._domainkey.") + strlen(o.domain) >
	    KG_NAME_MAX) {
		pw_ctl_error(KG, "%s._domainkey.%s is too long for DNS",
		    o.selector, o.domain);
		return 1;
	}
	if (o.owner != NULL && (pw = getpwnam(o.owner)) == NULL) {
		pw_ctl_error(KG, "--owner: no such user \"%s\"", o.owner);
		return 1;
	}
	if ((absdir = realpath(o.dir, NULL)) == NULL) {
		pw_ctl_error_errno(KG, "directory %s", o.dir);
		return 1;
	}
	/* The KeyTable needs an absolute path: the daemon has its own cwd. */
	priv = pw_asprintf("%s/%s.private",
	    strcmp(absdir, "/") == 0 ? "" : absdir, o.selector);
	txt = pw_asprintf("%s/%s.txt", strcmp(absdir, "/") == 0 ? "" : absdir,
	    o.selector);
	if (kg_check_paths(absdir, priv, txt) != 0)
		goto done;
	/* RFC 8301 §3.2: signers SHOULD use at least 2048 bits; verifiers
	   need only accept 1024..4096. */
	if (o.type == KG_RSA && o.bits < 2048)
		pw_ctl_error(KG, "warning: %ld-bit RSA keys are weak; use at "
				 "least 2048 (RFC 8301 section 3.2)",
		    o.bits);
	if (o.type == KG_RSA && o.bits > 4096)
		pw_ctl_error(KG, "warning: verifiers need only accept RSA keys "
				 "up to 4096 bits (RFC 8301 section 3.2)");
	if ((pkey = kg_generate(&o)) == NULL ||
	    (p = kg_public_b64(pkey, o.type)) == NULL)
		goto done;
	rec = kg_txt_record(&o, p);
	if (kg_write_private(absdir, priv, pkey, pw) != 0)
		goto done;
	if (kg_write_public(txt, rec) != 0) {
		unlink(priv);	/* all or nothing: we created it just now */
		goto done;
	}
	printf("; Publish this TXT record in DNS (also in %s):\n%s\n", txt,
	    rec);
	printf("# KeyTable line (dkim_key_table); private key in %s, mode "
	       "0600%s%s:\n",
	    priv, pw != NULL ? ", owner " : "", pw != NULL ? pw->pw_name : "");
	printf("%s._domainkey.%s %s:%s:%s\n\n", o.selector, o.domain,
	    o.domain, o.selector, priv);
	printf("# SigningTable line (dkim_signing_table = refile:PATH):\n");
	printf("*@%s %s._domainkey.%s\n", o.domain, o.selector, o.domain);
	status = 0;
done:
	EVP_PKEY_free(pkey);
	free(absdir);
	free(priv);
	free(txt);
	free(p);
	free(rec);
	return status;
}
