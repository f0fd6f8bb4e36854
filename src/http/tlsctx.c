/*
 * OpenSSL contexts for the TCP listener and the client verbs: the PEM files
 * loaded and checked with errors that name the flag, the file and the fix;
 * why a handshake failed, in words. See tls.h.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http/tls.h"
#include "http/tls_int.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

/* A PEM file read whole, behind a memory BIO. */
struct pem {
	char *pm_text;
	size_t pm_len;
	BIO *pm_bio;
};

static void
pem_free(struct pem *p)
{
	BIO_free(p->pm_bio);
	free(p->pm_text);
	memset(p, 0, sizeof(*p));
}

static int
pem_read(struct pem *p, const char *flag, const char *path, struct err *err)
{
	struct err e;

	memset(p, 0, sizeof(*p));
	err_clear(&e);
	if (read_file_max(path, TLS_PEM_MAX, &p->pm_text, &p->pm_len, &e) ==
	    -1) {
		err_set(err, EIK_INVAL,
		    "%s %s: %s: give a readable PEM file (readable by the "
		    "user this runs as)",
		    flag, path, e.msg);
		return -1;
	}
	p->pm_bio = BIO_new_mem_buf(p->pm_text, (int)p->pm_len);
	if (p->pm_bio == NULL) {
		err_set(err, EIK_INTERNAL, "%s %s: out of memory", flag, path);
		pem_free(p);
		return -1;
	}
	return 0;
}

/* OpenSSL's reason for the last failure, the queue emptied. */
static const char *
ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	(void)snprintf(buf, len, "%s", r != NULL ? r : "unknown error");
	ERR_clear_error();
	return buf;
}

/* An encrypted key would make OpenSSL prompt on the terminal: never. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static void
ctx_common(SSL_CTX *ctx)
{
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* RSA keys of 2048 bits or more, no SHA-1 signatures. */
	SSL_CTX_set_security_level(ctx, 2);
	(void)SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	(void)SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static void
subject_of(const X509 *x, char *out, size_t len)
{
	if (x == NULL ||
	    X509_NAME_oneline(X509_get_subject_name(x), out, (int)len) == NULL)
		(void)snprintf(out, len, "(no subject)");
}

/* Warns about a certificate out of its validity period. */
static void
warn_dates(const X509 *x, const char *flag, const char *path)
{
	char subj[256];

	subject_of(x, subj, sizeof(subj));
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warnx("%s %s: the certificate %s has expired: peers will "
			  "refuse it; issue a new one",
		    flag, path, subj);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		log_warnx("%s %s: the certificate %s is not valid yet: check "
			  "this machine's clock",
		    flag, path, subj);
}

/* The certificate, then any chain certificates after it. */
static int
load_cert(SSL_CTX *ctx, const char *flag, const char *path, struct err *err)
{
	struct pem p;
	X509 *x;
	char why[256];
	int rc = -1;

	if (pem_read(&p, flag, path, err) == -1)
		return -1;
	x = PEM_read_bio_X509(p.pm_bio, NULL, no_passphrase, NULL);
	if (x == NULL) {
		ERR_clear_error();
		err_set(err, EIK_INVAL,
		    "%s %s: no PEM certificate in it: give the certificate "
		    "(a file with -----BEGIN CERTIFICATE-----), not a key or "
		    "a DER file",
		    flag, path);
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		err_set(err, EIK_INVAL,
		    "%s %s: OpenSSL refuses the certificate: %s (use an RSA "
		    "key of 2048 bits or more or an EC key, and SHA-256 "
		    "signatures)",
		    flag, path, ossl_reason(why, sizeof(why)));
		X509_free(x);
		goto out;
	}
	warn_dates(x, flag, path);
	X509_free(x);
	while ((x = PEM_read_bio_X509(p.pm_bio, NULL, no_passphrase, NULL)) !=
	    NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			X509_free(x);
	ERR_clear_error(); /* the end of the file */
	rc = 0;
out:
	pem_free(&p);
	return rc;
}

static int
load_key(SSL_CTX *ctx, const char *flag, const char *path,
    const char *cert_flag, const char *cert_path, bool server, struct err *err)
{
	struct pem p;
	struct stat st;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (pem_read(&p, flag, path, err) == -1)
		return -1;
	if (strstr(p.pm_text, "ENCRYPTED") != NULL) {
		err_set(err, EIK_INVAL,
		    "%s %s: the key is encrypted with a passphrase, which "
		    "nobody is there to type: decrypt it (openssl pkey -in "
		    "KEY -out KEY.plain) and keep that file mode 0600",
		    flag, path);
		goto out;
	}
	k = PEM_read_bio_PrivateKey(p.pm_bio, NULL, no_passphrase, NULL);
	if (k == NULL) {
		ERR_clear_error();
		err_set(err, EIK_INVAL,
		    "%s %s: no PEM private key in it: give the key (a file "
		    "with -----BEGIN PRIVATE KEY-----), not the certificate",
		    flag, path);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, k) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		err_set(err, EIK_INVAL,
		    "%s %s does not match the certificate in %s %s: give the "
		    "key the certificate was issued for (`openssl x509 "
		    "-noout -pubkey -in CERT` and `openssl pkey -pubout -in "
		    "KEY` print the same key)",
		    flag, path, cert_flag, cert_path);
		goto out;
	}
	if (server && stat(path, &st) == 0 && (st.st_mode & 0077) != 0)
		log_warnx("%s %s can be read by other users (mode %03o): "
			  "chmod 600 it",
		    flag, path, (unsigned)(st.st_mode & 0777));
	rc = 0;
out:
	EVP_PKEY_free(k);
	pem_free(&p);
	return rc;
}

/* Every certificate of path trusted; with client_list, also the names
 * the server asks clients for. */
static int
load_ca(SSL_CTX *ctx, const char *flag, const char *path, bool client_list,
    struct err *err)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	struct pem p;
	X509 *x;
	int n = 0;

	if (pem_read(&p, flag, path, err) == -1)
		return -1;
	while ((x = PEM_read_bio_X509(p.pm_bio, NULL, no_passphrase, NULL)) !=
	    NULL) {
		warn_dates(x, flag, path);
		if (X509_STORE_add_cert(store, x) == 1 &&
		    (!client_list || SSL_CTX_add_client_CA(ctx, x) == 1))
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	pem_free(&p);
	if (n == 0) {
		err_set(err, EIK_INVAL,
		    "%s %s: no PEM certificate in it: give the CA's "
		    "certificate (-----BEGIN CERTIFICATE-----)",
		    flag, path);
		return -1;
	}
	return 0;
}

static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_why *w = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

	if (!ok && w != NULL && w->tw_err == 0) {
		w->tw_err = X509_STORE_CTX_get_error(xs);
		w->tw_depth = X509_STORE_CTX_get_error_depth(xs);
		subject_of(X509_STORE_CTX_get_current_cert(xs), w->tw_subject,
		    sizeof(w->tw_subject));
	}
	return ok;
}

void
tls_why_attach(SSL *ssl, struct tls_why *w)
{
	(void)SSL_set_app_data(ssl, w);
}

struct tls_ctx *
tls_server_ctx(const struct tls_server_conf *tc, struct err *err)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));

	if (t == NULL ||
	    (t->tx_ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		err_set(err, EIK_INTERNAL, "TLS: out of memory");
		free(t);
		return NULL;
	}
	ctx_common(t->tx_ctx);
	/* Every connection shows its certificate: no resumed sessions. */
	(void)SSL_CTX_set_session_cache_mode(t->tx_ctx, SSL_SESS_CACHE_OFF);
	(void)SSL_CTX_set_num_tickets(t->tx_ctx, 0);
	if (load_cert(t->tx_ctx, "--tls-cert", tc->ts_cert, err) == -1 ||
	    load_key(t->tx_ctx, "--tls-key", tc->ts_key, "--tls-cert",
		tc->ts_cert, true, err) == -1)
		goto fail;
	if (tc->ts_client_ca != NULL) {
		if (load_ca(t->tx_ctx, "--tls-client-ca", tc->ts_client_ca,
			true, err) == -1)
			goto fail;
		SSL_CTX_set_verify(t->tx_ctx,
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		    verify_cb);
	}
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->tx_ctx);
	free(t);
}

/* The first reason of the OpenSSL library in the thread's error queue
 * (0 when none) and its text; the queue is emptied. */
static int
take_reason(char *text, size_t len)
{
	unsigned long e, first = 0;
	const char *r;

	while ((e = ERR_get_error()) != 0)
		if (first == 0 ||
		    (ERR_GET_LIB(first) != ERR_LIB_SSL &&
			ERR_GET_LIB(e) == ERR_LIB_SSL))
			first = e;
	r = first != 0 ? ERR_reason_error_string(first) : NULL;
	(void)snprintf(text, len, "%s", r != NULL ? r : "no details");
	return first != 0 && ERR_GET_LIB(first) == ERR_LIB_SSL
	    ? ERR_GET_REASON(first)
	    : 0;
}

static bool
unknown_issuer(int v)
{
	return v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
	    v == X509_V_ERR_CERT_SIGNATURE_FAILURE;
}

/* A client certificate that failed verification. */
static void
client_cert_refusal(const struct tls_why *w, char *out, size_t len)
{
	const char *who = w->tw_depth == 0
	    ? "client certificate"
	    : "certificate in the client's chain";

	if (w->tw_err == X509_V_ERR_CERT_HAS_EXPIRED)
		(void)snprintf(out, len,
		    "%s %s has expired: issue the client a new one from the "
		    "CA",
		    who, w->tw_subject);
	else if (w->tw_err == X509_V_ERR_CERT_NOT_YET_VALID)
		(void)snprintf(out, len,
		    "%s %s is not valid yet: check the clocks", who,
		    w->tw_subject);
	else if (unknown_issuer(w->tw_err))
		(void)snprintf(out, len,
		    "%s %s is not from the CA in --tls-client-ca (unknown "
		    "CA: %s)",
		    who, w->tw_subject,
		    X509_verify_cert_error_string(w->tw_err));
	else if (w->tw_err == X509_V_ERR_INVALID_PURPOSE)
		(void)snprintf(out, len,
		    "%s %s is not for client authentication: issue it with "
		    "extendedKeyUsage=clientAuth",
		    who, w->tw_subject);
	else
		(void)snprintf(out, len, "%s %s: %s", who, w->tw_subject,
		    X509_verify_cert_error_string(w->tw_err));
}

void
tls_server_refusal(
    SSL *ssl, int rc, const struct tls_why *w, char *out, size_t len)
{
	int e = SSL_get_error(ssl, rc), r;
	int saved = errno;
	char text[256];

	r = take_reason(text, sizeof(text));
	if (w->tw_err != 0) {
		client_cert_refusal(w, out, len);
		return;
	}
	if (r == SSL_R_HTTP_REQUEST || r == SSL_R_HTTPS_PROXY_REQUEST)
		(void)snprintf(out, len,
		    TLS_WHY_HTTP " on the TLS port: the client must use "
				 "https:// (client verbs: --host tcps://)");
	else if (r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		(void)snprintf(out, len,
		    "no client certificate: the client must present one "
		    "from the CA in --tls-client-ca (client verbs: "
		    "--tls-cert and --tls-key)");
	else if (r == SSL_R_UNSUPPORTED_PROTOCOL)
		(void)snprintf(out, len,
		    "the client offers only TLS versions older than 1.2");
	else if (r == SSL_R_WRONG_VERSION_NUMBER ||
	    r == SSL_R_PACKET_LENGTH_TOO_LONG)
		(void)snprintf(out, len,
		    "not a TLS handshake (%s): garbage, or another protocol",
		    text);
	else if (r >= SSL_AD_REASON_OFFSET)
		(void)snprintf(out, len,
		    "the client refused this server (%s): give the client "
		    "the CA that signed --tls-cert, and connect to a name or "
		    "address in that certificate's subjectAltName",
		    text);
	else if (r == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		(void)snprintf(
		    out, len, "the client hung up during the TLS handshake");
	else if (e == SSL_ERROR_SYSCALL && r == 0)
		(void)snprintf(out, len,
		    "the connection ended during the TLS handshake%s%s",
		    saved != 0 ? ": " : "", saved != 0 ? strerror(saved) : "");
	else
		(void)snprintf(out, len, "TLS handshake failed: %s", text);
}

/* ------------------------------------------------------------------ */
/* The client verbs' side. */

struct tls_conn {
	SSL_CTX *tc_ctx;
	SSL *tc_ssl;
	int tc_fd;
	bool tc_has_cert;
	bool tc_open; /* handshake done, no fatal error since */
	char tc_host[256];
	struct tls_why tc_why;
};

/* Why the plugin's certificate was refused. */
static void
server_cert_failure(const struct tls_conn *t, struct err *err)
{
	const struct tls_why *w = &t->tc_why;
	bool ip = strchr(t->tc_host, ':') != NULL ||
	    strspn(t->tc_host, "0123456789.") == strlen(t->tc_host);

	if (w->tw_err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    w->tw_err == X509_V_ERR_IP_ADDRESS_MISMATCH)
		err_set(err, EIK_IO,
		    "the plugin's certificate %s does not name %s in its "
		    "subjectAltName: connect with a name it has, or issue it "
		    "with subjectAltName=%s:%s",
		    w->tw_subject, t->tc_host, ip ? "IP" : "DNS", t->tc_host);
	else if (w->tw_err == X509_V_ERR_CERT_HAS_EXPIRED)
		err_set(err, EIK_IO,
		    "the plugin's certificate %s has expired: issue it a new "
		    "one",
		    w->tw_subject);
	else if (unknown_issuer(w->tw_err))
		err_set(err, EIK_IO,
		    "the plugin's certificate %s is not signed by %s%s: give "
		    "--tls-ca the CA that signed the plugin's --tls-cert",
		    w->tw_subject,
		    w->tw_ca != NULL ? "the CA in --tls-ca " : "",
		    w->tw_ca != NULL ? w->tw_ca : "a CA this system trusts");
	else
		err_set(err, EIK_IO, "the plugin's certificate %s: %s",
		    w->tw_subject, X509_verify_cert_error_string(w->tw_err));
}

/* After a failed SSL_connect, SSL_read or SSL_write that returned rc. */
static void
client_failure(const struct tls_conn *t, int rc, struct err *err)
{
	int e = SSL_get_error(t->tc_ssl, rc), r;
	int saved = errno;
	char text[256];

	r = take_reason(text, sizeof(text));
	if (t->tc_why.tw_err != 0) {
		server_cert_failure(t, err);
		return;
	}
	if (r == SSL_R_WRONG_VERSION_NUMBER ||
	    r == SSL_R_PACKET_LENGTH_TOO_LONG)
		err_set(err, EIK_IO,
		    "%s does not speak TLS (%s): is it a plain tcp:// "
		    "listener? then use --host tcp://",
		    t->tc_host, text);
	else if (r >= SSL_AD_REASON_OFFSET)
		err_set(err, EIK_IO,
		    "the plugin refused this client (%s); its log says why%s",
		    text,
		    t->tc_has_cert
			? ""
			: ": pass --tls-cert and --tls-key with a certificate "
			  "from the CA in the plugin's --tls-client-ca");
	else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
	    (e == SSL_ERROR_SYSCALL &&
		(saved == EAGAIN || saved == EWOULDBLOCK)))
		err_set(err, EIK_IO, "TLS with %s: timed out", t->tc_host);
	else if (r == SSL_R_UNEXPECTED_EOF_WHILE_READING &&
	    !SSL_is_init_finished(t->tc_ssl))
		/* A plain HTTP server may close on a ClientHello without a
		 * word (it depends on what it has read so far). */
		err_set(err, EIK_IO,
		    "TLS with %s: the connection ended during the handshake: "
		    "not a TLS listener (a plain tcp:// one? then use --host "
		    "tcp://), or a plugin refusing this client (its log says "
		    "why)",
		    t->tc_host);
	else if (e == SSL_ERROR_SYSCALL && r == 0)
		err_set(err, EIK_IO,
		    "TLS with %s: the connection ended%s%s (a plugin refusing "
		    "this client, or not a TLS listener)",
		    t->tc_host, saved != 0 ? ": " : "",
		    saved != 0 ? strerror(saved) : "");
	else
		err_set(err, EIK_IO, "TLS with %s: %s", t->tc_host, text);
}

static SSL_CTX *
client_ctx(const struct tls_client_conf *tc, struct err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		err_set(err, EIK_INTERNAL, "TLS: out of memory");
		return NULL;
	}
	ctx_common(ctx);
	if (tc->tc_ca != NULL) {
		if (load_ca(ctx, "--tls-ca", tc->tc_ca, false, err) == -1)
			goto fail;
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ERR_clear_error();
		err_set(err, EIK_INVAL,
		    "TLS: the system's CAs cannot be loaded: give the CA "
		    "that signed the plugin's certificate with --tls-ca");
		goto fail;
	}
	if (tc->tc_cert != NULL &&
	    (load_cert(ctx, "--tls-cert", tc->tc_cert, err) == -1 ||
		load_key(ctx, "--tls-key", tc->tc_key, "--tls-cert",
		    tc->tc_cert, false, err) == -1))
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_client_check(const struct tls_client_conf *tc, struct err *err)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = client_ctx(tc, err)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}

/* The name or address the plugin's certificate must carry. */
static int
expect_host(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1)
		return 0;
	ERR_clear_error();
	if (SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1)
		return -1;
	return 0;
}

struct tls_conn *
tls_connect(int fd, const char *host, const struct tls_client_conf *tc,
    int timeout_ms, struct err *err)
{
	struct tls_conn *t = calloc(1, sizeof(*t));
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int rc;

	if (t == NULL) {
		(void)close(fd);
		err_set(err, EIK_INTERNAL, "TLS: out of memory");
		return NULL;
	}
	t->tc_fd = fd;
	t->tc_has_cert = tc->tc_cert != NULL;
	t->tc_why.tw_ca = tc->tc_ca;
	(void)snprintf(t->tc_host, sizeof(t->tc_host), "%s", host);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ERR_clear_error();
	if ((t->tc_ctx = client_ctx(tc, err)) == NULL)
		goto fail;
	if ((t->tc_ssl = SSL_new(t->tc_ctx)) == NULL ||
	    SSL_set_fd(t->tc_ssl, fd) != 1 ||
	    expect_host(t->tc_ssl, host) == -1) {
		ERR_clear_error();
		err_set(err, EIK_INVAL, "TLS: cannot set up a session for %s",
		    host);
		goto fail;
	}
	tls_why_attach(t->tc_ssl, &t->tc_why);
	errno = 0;
	if ((rc = SSL_connect(t->tc_ssl)) != 1) {
		client_failure(t, rc, err);
		goto fail;
	}
	t->tc_open = true;
	return t;
fail:
	tls_conn_close(t);
	return NULL;
}

int
tls_conn_write(
    struct tls_conn *t, const void *data, size_t len, struct err *err)
{
	const char *p = data;

	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		int r;

		errno = 0;
		r = SSL_write(t->tc_ssl, p, n);
		if (r <= 0) {
			client_failure(t, r, err);
			t->tc_open = false;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

ssize_t
tls_conn_read(struct tls_conn *t, void *buf, size_t len, struct err *err)
{
	int r;

	errno = 0;
	r = SSL_read(t->tc_ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	if (SSL_get_error(t->tc_ssl, r) == SSL_ERROR_ZERO_RETURN)
		return 0;
	client_failure(t, r, err);
	t->tc_open = false;
	return -1;
}

void
tls_conn_close(struct tls_conn *t)
{
	if (t == NULL)
		return;
	if (t->tc_open)
		(void)SSL_shutdown(t->tc_ssl);
	SSL_free(t->tc_ssl);
	SSL_CTX_free(t->tc_ctx);
	if (t->tc_fd != -1)
		(void)close(t->tc_fd);
	ERR_clear_error();
	free(t);
}
