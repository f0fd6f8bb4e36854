/*
 * Shared by http/tlsctx.c and http/tlsfront.c (private to http/).
 */
#ifndef TLS_INT_H
#define TLS_INT_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tls_ctx {
	SSL_CTX *tx_ctx;
};

/* Why a peer's certificate failed, as the verify callback saw it first. */
struct tls_why {
	int tw_err;	      /* X509_V_ERR_*, 0 = none seen */
	int tw_depth;	      /* 0: the peer's own certificate */
	char tw_subject[256]; /* of the certificate that failed */
	const char *tw_ca;    /* the CA file, for messages (borrowed) */
};

/* Points the verify callback of ssl at w (which must outlive ssl). */
void tls_why_attach(SSL *ssl, struct tls_why *w);

/*
 * After SSL_accept returned rc: why the server refused the client, or the
 * client refused the server, in words that say what to do. Takes the
 * thread's OpenSSL error queue (it is empty afterwards).
 */
void tls_server_refusal(
    SSL *ssl, int rc, const struct tls_why *w, char *out, size_t len);

/* Whether the refusal was plain HTTP sent to the TLS port. */
#define TLS_WHY_HTTP "plain HTTP"

#endif /* TLS_INT_H */
