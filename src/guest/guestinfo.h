/*
 * The guestinfo encodings of cloud-init's VMware datasource: the documents
 * of cloudinit.h go into .vmx guestinfo keys as base64, or gzip+base64 when
 * they are large, with the encoding in a key of its own. Pure functions: no
 * I/O.
 *
 * Every function that fills a struct buf replaces its content: the caller
 * sets it up with buf_init() (CI_BUF_MAX, cloudinit.h, fits any document)
 * and frees it with buf_free(), on success and on error alike. On error the
 * content is unspecified.
 */
#ifndef GUESTINFO_H
#define GUESTINFO_H

#include <stddef.h>

struct buf;
struct err;

/* Data up to this size is base64'd as is; larger data is gzip'd first. */
#define CI_GZIP_THRESHOLD 4096

/*
 * Encodes len bytes of data for a guestinfo key into out (content
 * replaced): base64 when len <= CI_GZIP_THRESHOLD (*encoding = "base64"),
 * else gzip (level 9) then base64 (*encoding = "gzip+base64"). Standard
 * alphabet, padded, no line breaks. *encoding points to a static string.
 * Returns 0 or -1 with err.
 */
int ci_guestinfo_encode(const char *data, size_t len, struct buf *out,
    const char **encoding, struct err *err);

/*
 * Decodes text in encoding ("base64"/"b64" or "gzip+base64"/"gz+b64", as
 * cloud-init accepts) into out (content replaced; bytes, NUL-terminated by
 * the buffer). ASCII white space in text is skipped. The decoded size is
 * capped by out's cap. Returns 0 or -1 with err.
 */
int ci_guestinfo_decode(
    const char *text, const char *encoding, struct buf *out, struct err *err);

#endif /* GUESTINFO_H */
