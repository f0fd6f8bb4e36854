/*
 * cloud-init documents for a new instance: user-data built from InfraKit's
 * Spec.Init (plus SSH keys), and meta-data with the instance ID, hostname,
 * keys and tags. They reach the guest through guestinfo keys in the .vmx,
 * encoded for cloud-init's VMware datasource (guestinfo.h), or a NoCloud
 * seed ISO (seediso.h). Pure functions: no I/O, no JSON library; YAML and
 * MIME are written here with their own escaping.
 *
 * Every function that fills a struct buf replaces its content: the caller
 * sets it up with buf_init() (CI_BUF_MAX fits the largest Init) and frees it
 * with buf_free(), on success and on error alike. On error the content is
 * unspecified.
 */
#ifndef CLOUDINIT_H
#define CLOUDINIT_H

#include <stddef.h>

#include "util/defaults.h"

struct buf;
struct err;
struct tags;

/* A buffer cap that holds any document built from an Init of
 * INIT_MAX_SIZE bytes, with every SSH key, in any encoding. */
#define CI_BUF_MAX (4 * 1024 * 1024)
/* Size of the buffer ci_hostname() writes: 253 characters and a NUL. */
#define CI_HOSTNAME_MAX 254

/* What the documents are built from; every pointer is borrowed. */
struct ci_input {
	const char *ci_instance_id; /* e.g. "i-6h26tjjs800" */
	const char *ci_logical_id;  /* NULL for cattle */
	const char *ci_init;	    /* InfraKit Spec.Init, may be "" or NULL */
	const char *const *ci_ssh_keys;
	size_t ci_n_ssh_keys;
	const struct tags *ci_tags; /* the instance's tags, may be NULL */
};

/*
 * Checks an Init of len bytes: at most INIT_MAX_SIZE bytes, no NUL byte,
 * valid UTF-8. Returns 0, or -1 with err (EIK_INVAL) naming "Spec.Init".
 */
int ci_check_init(const char *init, size_t len, struct err *err);

/*
 * Builds the user-data into out (content replaced). CRLF line ends become
 * LF. An Init that starts with a cloud-init marker ("#cloud-config", "#!",
 * "#include", "#include-once", "#cloud-boothook", "#part-handler",
 * "#upstart-job", "#cloud-config-archive", "#cloud-config-jsonp",
 * "## template: jinja") or a MIME header ("Content-Type:", "MIME-Version:",
 * any case) passes through; an empty or blank Init becomes
 * "#cloud-config\n{}\n"; anything else is taken as shell lines and becomes
 * "#!/bin/sh\n" + Init (+ "\n" when missing). With SSH keys the result is
 * a MIME multipart/mixed document: a text/cloud-config part with
 * ssh_authorized_keys, then the user-data above with its content type
 * (7bit when it is short-lined printable ASCII, base64 otherwise). A MIME
 * Init is never wrapped: the keys then reach the guest through meta-data
 * only. Returns 0 or -1 with err.
 */
int ci_user_data(const struct ci_input *in, struct buf *out, struct err *err);

/*
 * Builds the meta-data YAML into out (content replaced). Every scalar is a
 * JSON-quoted string:
 *	instance-id: "<id>"
 *	local-hostname: "<ci_hostname()>"
 *	public-keys-data: "<keys joined by \n>"	(with keys; VMware)
 *	public-keys:				(with keys; NoCloud)
 *	  - "<key>"
 *	infrakit:				(when it has content)
 *	  logical-id: "<logical id>"		(when set)
 *	  tags:					(when there are tags)
 *	    "<key>": "<value>"			(sorted)
 * Strings must be valid UTF-8. Returns 0 or -1 with err.
 */
int ci_meta_data(const struct ci_input *in, struct buf *out, struct err *err);

/*
 * Writes the guest's hostname into out (outlen bytes, CI_HOSTNAME_MAX
 * fits any result; a smaller buffer truncates): the LogicalID folded to
 * lowercase when it is an RFC 1123 host name (labels of [a-z0-9-], 1-63
 * characters, no '-' at either end, 253 characters in all); an IPv4
 * LogicalID such as "192.168.0.11" becomes "ip-192-168-0-11"; otherwise
 * the instance ID, lowercased, with characters a host name cannot hold
 * replaced by '-' ("localhost" if nothing is left).
 */
void ci_hostname(
    const char *logical_id, const char *instance_id, char *out, size_t outlen);

#endif /* CLOUDINIT_H */
