/*
 * The network of the QEMU backend's VMs. See qemu_net.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/leases.h"
#include "backend/qemu/qemu_net.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"

#define NET_FORMS "use user or bridge=NAME[,leases=FILE][,helper=PATH]"
#define ACL_LINE_MAX 512 /* a bridge.conf line; longer ones are refused */
#define LEASE_PATHS_MAX 8

/* ---- the option -------------------------------------------------------- */

static bool
ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > QEMU_BRIDGE_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
			*s == '.'))
			return false;
	return true;
}

/* One "key=value" of the option into n. */
static int
net_part(const char *spec, const char *key, const char *val, struct qemu_net *n,
    struct err *err)
{
	char *dst = NULL;

	if (strcmp(key, "leases") == 0)
		dst = n->qn_leases;
	else if (strcmp(key, "helper") == 0)
		dst = n->qn_helper;
	else {
		err_set(err, EIK_INVAL,
		    "--qemu-network %s: unknown option %s: %s", spec, key,
		    NET_FORMS);
		return -1;
	}
	if (val[0] != '/' || strlcpy(dst, val, PATH_BUF) >= PATH_BUF) {
		err_set(err, EIK_INVAL,
		    "--qemu-network %s: %s=%s: give an absolute path", spec,
		    key, val);
		return -1;
	}
	return 0;
}

int
qemu_net_parse(const char *spec, struct qemu_net *n, struct err *err)
{
	char buf[3 * PATH_BUF], *p, *part;
	int first = 1;

	memset(n, 0, sizeof(*n));
	if (spec == NULL || spec[0] == '\0' || strcmp(spec, "user") == 0)
		return 0;
	if (strncmp(spec, "bridge=", 7) != 0 ||
	    strlcpy(buf, spec, sizeof(buf)) >= sizeof(buf)) {
		err_set(
		    err, EIK_INVAL, "--qemu-network %s: %s", spec, NET_FORMS);
		return -1;
	}
	n->qn_bridge = true;
	for (p = buf; p != NULL; first = 0) {
		char *eq;

		part = p;
		p = strchr(p, ',');
		if (p != NULL)
			*p++ = '\0';
		if ((eq = strchr(part, '=')) == NULL) {
			err_set(err, EIK_INVAL,
			    "--qemu-network %s: \"%s\" is not key=value: %s",
			    spec, part, NET_FORMS);
			return -1;
		}
		*eq++ = '\0';
		if (first) {
			if (!ifname_valid(eq)) {
				err_set(err, EIK_INVAL,
				    "--qemu-network %s: \"%s\" is not a "
				    "network interface name (1 to %d of "
				    "A-Z a-z 0-9 _ - .)",
				    spec, eq, QEMU_BRIDGE_NAME_MAX);
				return -1;
			}
			(void)strlcpy(n->qn_br, eq, sizeof(n->qn_br));
		} else if (net_part(spec, part, eq, n, err) == -1)
			return -1;
	}
	return 0;
}

/* ---- bridge.conf ------------------------------------------------------- */

/* The words of an ACL line: keyword and argument. */
static int
acl_words(char *line, char **kw, char **arg)
{
	char *p = line;

	line[strcspn(line, "#\r\n")] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	*kw = p;
	p += strcspn(p, " \t");
	if (*p != '\0')
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*arg = p;
	p += strcspn(p, " \t");
	*p = '\0';
	return 1;
}

/*
 * Reads one ACL file into the verdict: *allow (an allow matched) and, on a
 * deny that matches, err set and 0. 1 when the file was read, -1 when a
 * file cannot be read.
 */
static int
acl_file(
    const char *path, const char *br, int depth, bool *allow, struct err *err)
{
	char *text = NULL, *line, *next;
	size_t len;
	int rc = 1, lineno = 0;

	if (depth > QEMU_ACL_DEPTH) {
		err_set(err, EIK_INVAL, "%s: includes nested deeper than %d",
		    path, QEMU_ACL_DEPTH);
		return -1;
	}
	if (read_file_max(path, QEMU_ACL_FILE_MAX, &text, &len, err) == -1)
		return -1;
	for (line = text; line != NULL && rc == 1; line = next) {
		char *kw, *arg;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (!acl_words(line, &kw, &arg))
			continue;
		if (strcmp(kw, "include") == 0)
			rc = acl_file(arg, br, depth + 1, allow, err);
		else if (strcmp(kw, "allow") == 0) {
			if (strcmp(arg, "all") == 0 || strcmp(arg, br) == 0)
				*allow = true;
		} else if (strcmp(kw, "deny") == 0 &&
		    (strcmp(arg, "all") == 0 || strcmp(arg, br) == 0)) {
			err_set(err, EIK_INVAL,
			    "QEMU's bridge helper may not use bridge %s: line "
			    "%d of %s says \"deny %s\"; remove it and add "
			    "\"allow %s\" to %s",
			    br, lineno, path, arg, br, path);
			rc = 0;
		}
	}
	free(text);
	return rc;
}

int
qemu_net_acl(const char *path, const char *br, struct err *err)
{
	const char *slash = strrchr(path, '/');
	bool allow = false;
	int rc;

	if (access(path, F_OK) == -1 && errno == ENOENT) {
		err_set(err, EIK_NOTFOUND,
		    "QEMU's bridge helper reads its ACL %s, which does not "
		    "exist: create it with the line \"allow %s\" (mkdir -p "
		    "%.*s && echo 'allow %s' >>%s)",
		    path, br, slash != NULL ? (int)(slash - path) : 1,
		    slash != NULL ? path : ".", br, path);
		return 0;
	}
	rc = acl_file(path, br, 0, &allow, err);
	if (rc != 1)
		return rc;
	if (!allow) {
		err_set(err, EIK_INVAL,
		    "QEMU's bridge helper may not use bridge %s: %s has no "
		    "\"allow %s\" line; add it (echo 'allow %s' >>%s)",
		    br, path, br, br, path);
		return 0;
	}
	return 1;
}

/* ---- checks ------------------------------------------------------------ */

static int
find_helper(struct qemu_net *n, const char *qemu_bin)
{
	static const char *const rel[] = { "../lib/qemu", "../libexec" };
	static const char *const abs[] = { "/usr/lib/qemu", "/usr/libexec",
		"/usr/local/libexec", "/usr/lib/qemu-kvm" };
	const char *slash = strrchr(qemu_bin, '/');
	char cand[PATH_BUF];
	int k;

	for (size_t i = 0; slash != NULL && i < 2; i++) {
		k = snprintf(cand, sizeof(cand), "%.*s/%s/qemu-bridge-helper",
		    (int)(slash - qemu_bin), qemu_bin, rel[i]);
		if (k > 0 && (size_t)k < sizeof(cand) &&
		    access(cand, X_OK) == 0 &&
		    realpath(cand, n->qn_helper) != NULL)
			return 0;
	}
	for (size_t i = 0; i < sizeof(abs) / sizeof(abs[0]); i++) {
		(void)snprintf(
		    cand, sizeof(cand), "%s/qemu-bridge-helper", abs[i]);
		if (access(cand, X_OK) == 0)
			return strlcpy(n->qn_helper, cand, PATH_BUF) < PATH_BUF
			    ? 0
			    : -1;
	}
	return -1;
}

static int
check_bridge(const char *br, struct err *err)
{
#if defined(__linux__)
	char path[PATH_BUF];

	(void)snprintf(path, sizeof(path), "/sys/class/net/%s", br);
	if (!is_dir(path)) {
		err_set(err, EIK_NOTFOUND,
		    "--qemu-network bridge=%s: there is no network interface "
		    "%s: create the bridge (ip link add %s type bridge, with "
		    "a DHCP server on it) or start libvirt's default network "
		    "(virsh net-start default makes virbr0)",
		    br, br, br);
		return -1;
	}
	(void)snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", br);
	if (!is_dir(path)) {
		err_set(err, EIK_INVAL,
		    "--qemu-network bridge=%s: %s is not a bridge; name a "
		    "bridge (ip -d link show type bridge lists them)",
		    br, br);
		return -1;
	}
	return 0;
#else
	err_set(err, EIK_INVAL,
	    "--qemu-network bridge=%s: bridge networking needs Linux "
	    "(qemu-bridge-helper); use --qemu-network user",
	    br);
	return -1;
#endif
}

int
qemu_net_check(struct qemu_net *n, const char *qemu_bin, char *warn,
    size_t wlen, struct err *err)
{
	struct stat st;
	const char *etc;

	warn[0] = '\0';
	if (!n->qn_bridge)
		return 0;
	if (check_bridge(n->qn_br, err) == -1)
		return -1;
	if (n->qn_helper[0] != '\0' ? access(n->qn_helper, X_OK) == -1
				    : find_helper(n, qemu_bin) == -1) {
		err_set(err, EIK_NOTFOUND,
		    "--qemu-network bridge=%s: qemu-bridge-helper not found%s%s "
		    "(it comes with QEMU: Debian's qemu-system-common puts it "
		    "in /usr/lib/qemu); give its path with ,helper=PATH",
		    n->qn_br, n->qn_helper[0] != '\0' ? " at " : "",
		    n->qn_helper);
		return -1;
	}
	/* Its ACL is CONFDIR/bridge.conf, where CONFDIR is the sysconfdir
	 * of the QEMU build it belongs to. */
	etc = strncmp(n->qn_helper, "/usr/local/", 11) == 0 ? "/usr/local/etc"
							    : "/etc";
	(void)snprintf(
	    n->qn_acl, sizeof(n->qn_acl), "%s/qemu/bridge.conf", etc);
	if (access(n->qn_acl, R_OK) == -1 && errno == EACCES)
		(void)snprintf(warn, wlen,
		    "cannot read %s to check that it allows bridge %s",
		    n->qn_acl, n->qn_br);
	else if (qemu_net_acl(n->qn_acl, n->qn_br, err) != 1)
		return -1;
	if (geteuid() != 0 && stat(n->qn_helper, &st) == 0 &&
	    (st.st_uid != 0 || (st.st_mode & S_ISUID) == 0))
		(void)snprintf(warn, wlen,
		    "%s is not setuid root: unless it has CAP_NET_ADMIN it "
		    "cannot make the tap for a user other than root (chmod "
		    "u+s %s, or run the plugin as root)",
		    n->qn_helper, n->qn_helper);
	return 0;
}

/* ---- leases ------------------------------------------------------------ */

int
qemu_net_lease(const struct qemu_net *n, const char *mac, char *ip,
    size_t iplen, struct err *err)
{
	char paths[LEASE_PATHS_MAX][LEASES_PATH_LEN], tried[512] = "";
	size_t np;
	int64_t now = wall_ms() / 1000;

	if (n->qn_leases[0] != '\0') {
		if (strlcpy(paths[0], n->qn_leases, LEASES_PATH_LEN) >=
		    LEASES_PATH_LEN) {
			err_set(err, EIK_INVAL, "lease file path too long");
			return -1;
		}
		np = 1;
	} else
		np = leases_dnsmasq_paths(n->qn_br, paths, LEASE_PATHS_MAX);
	for (size_t i = 0; i < np; i++) {
		char *text = NULL;
		size_t len;
		int rc;

		(void)strlcat(tried, i > 0 ? ", " : "", sizeof(tried));
		(void)strlcat(tried, paths[i], sizeof(tried));
		if (read_file_max(paths[i], QEMU_LEASES_FILE_MAX, &text, &len,
			NULL) == -1)
			continue;
		rc = leases_find_dnsmasq(text, len, mac, now, ip, iplen, NULL);
		free(text);
		if (rc == 0)
			return 0;
	}
	err_set(err, EIK_NOTFOUND,
	    "no DHCP lease for %s on bridge %s yet (read %s)", mac, n->qn_br,
	    tried);
	return -1;
}
