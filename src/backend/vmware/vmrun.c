/*
 * vmrun. See vmrun.h and spec/vmware.md §1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/proc.h"
#include "backend/vmware/vmrun.h"

/* Where VMware puts vmrun (§1.1), after --vmrun and before $PATH. */
static const char *const vmrun_candidates[] = {
#if defined(__APPLE__)
	"/Applications/VMware Fusion.app/Contents/Library/vmrun",
	"/Library/Application Support/VMware Fusion/vmrun",
#endif
	"/usr/bin/vmrun", "/usr/local/bin/vmrun", NULL
};

#define PLAYER_ONLY_TEXT                                                       \
	"VIX_SERVICEPROVIDER_VMWARE_WORKSTATION was specified, but not installed"

int
vmrun_find(const char *flag, char *out, size_t outlen, struct err *err)
{
	char looked[1024] = "";

	if (flag != NULL && flag[0] != '\0') {
		if (access(flag, X_OK) == 0 &&
		    strlcpy(out, flag, outlen) < outlen)
			return 0;
		err_set(err, EIK_NOTFOUND,
		    "--vmrun %s: not an executable file (%s)", flag,
		    strerror(errno));
		return -1;
	}
	for (size_t i = 0; vmrun_candidates[i] != NULL; i++) {
		if (access(vmrun_candidates[i], X_OK) == 0 &&
		    strlcpy(out, vmrun_candidates[i], outlen) < outlen)
			return 0;
		(void)strlcat(looked, vmrun_candidates[i], sizeof(looked));
		(void)strlcat(looked, ", ", sizeof(looked));
	}
	if (proc_find_in_path("vmrun", out, outlen) == 0)
		return 0;
	err_set(err, EIK_NOTFOUND,
	    "vmrun not found (looked at %sand in PATH): install VMware Fusion "
	    "or Workstation, or point --vmrun at it",
	    looked);
	return -1;
}

int
vmrun_init(struct vmrun *vr, const char *path, struct err *err)
{
	memset(vr, 0, sizeof(*vr));
	if (strlcpy(vr->vr_path, path, sizeof(vr->vr_path)) >=
	    sizeof(vr->vr_path)) {
		err_set(err, EIK_INVAL, "vmrun path too long");
		return -1;
	}
#if defined(__APPLE__)
	(void)strlcpy(vr->vr_type, "fusion", sizeof(vr->vr_type));
#else
	(void)strlcpy(vr->vr_type, "ws", sizeof(vr->vr_type));
#endif
	(void)pthread_mutex_init(&vr->vr_mu, NULL);
	return 0;
}

void
vmrun_fini(struct vmrun *vr)
{
	(void)pthread_mutex_destroy(&vr->vr_mu);
}

int
vmrun_error_text(const char *out, char *msg, size_t msglen)
{
	const char *p = out;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (n >= 7 && strncmp(p, "Error: ", 7) == 0) {
			n -= 7;
			while (n > 0 &&
			    (p[7 + n - 1] == '\r' || p[7 + n - 1] == ' '))
				n--;
			if (n >= msglen)
				n = msglen - 1;
			memcpy(msg, p + 7, n);
			msg[n] = '\0';
			return 0;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return -1;
}

/* The first non-empty line of s, trimmed, into dst. */
static void
first_line(const char *s, char *dst, size_t len)
{
	size_t n;

	while (*s == '\n' || *s == '\r' || *s == ' ')
		s++;
	n = strcspn(s, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int
run_once(struct vmrun *vr, const char *type, const char *const *args,
    int64_t timeout_ms, int64_t deadline, struct proc_result *res,
    struct err *err)
{
	const char *argv[32];
	size_t n = 0;
	struct proc_spec ps;

	argv[n++] = vr->vr_path;
	argv[n++] = "-T";
	argv[n++] = type;
	for (size_t i = 0; args[i] != NULL; i++) {
		if (n >= sizeof(argv) / sizeof(argv[0]) - 1) {
			err_set(err, EIK_INTERNAL, "too many vmrun arguments");
			return -1;
		}
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.ps_argv = argv;
	if (vr->vr_cap_ms > 0 && vr->vr_cap_ms < timeout_ms)
		timeout_ms = vr->vr_cap_ms;
	ps.ps_timeout_ms = timeout_ms;
	ps.ps_deadline = deadline;
	return proc_run(&ps, res, err);
}

int
vmrun_run(struct vmrun *vr, const char *const *args, int64_t timeout_ms,
    int64_t deadline, struct buf *out, struct err *err)
{
	struct proc_result res;
	char type[16], msg[512];
	int64_t limit = timeout_ms, t0 = mono_ms();
	int rc = -1;

	/* What proc_run will wait: the command's budget, the cap, or the
	 * caller's deadline, whichever ends first. */
	if (vr->vr_cap_ms > 0 && vr->vr_cap_ms < limit)
		limit = vr->vr_cap_ms;
	if (deadline != 0 && deadline - t0 < limit)
		limit = deadline - t0 > 0 ? deadline - t0 : 0;
	(void)pthread_mutex_lock(&vr->vr_mu);
	(void)strlcpy(type, vr->vr_type, sizeof(type));
	(void)pthread_mutex_unlock(&vr->vr_mu);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (run_once(vr, type, args, timeout_ms, deadline, &res, err) ==
		    -1) {
			if (err != NULL && err->code == EIK_TIMEOUT)
				err_set(err, EIK_TIMEOUT,
				    "vmrun %s: no answer within %lld s; killed "
				    "it (a known vmrun hang: see the VM's "
				    "vmware.log)",
				    args[0], (long long)((limit + 999) / 1000));
			proc_result_free(&res);
			return -1;
		}
		if (res.pr_status == 0) {
			if (out != NULL &&
			    buf_add(out,
				res.pr_out.b_data != NULL ? res.pr_out.b_data
							  : "",
				res.pr_out.b_len) == -1) {
				err_set(err, EIK_BACKEND,
				    "vmrun %s: output too large", args[0]);
				break;
			}
			rc = 0;
			break;
		}
		if (vmrun_error_text(buf_str(&res.pr_out), msg, sizeof(msg)) ==
		    -1) {
			/* No "Error:" line: show what there is. */
			first_line(res.pr_err.b_len > 0 ? buf_str(&res.pr_err)
							: buf_str(&res.pr_out),
			    msg, sizeof(msg));
			if (msg[0] == '\0')
				(void)strlcpy(msg, "no message", sizeof(msg));
		}
		if (attempt == 0 && strcmp(type, "ws") == 0 &&
		    strstr(msg, PLAYER_ONLY_TEXT) != NULL) {
			/* Only Player is installed: use its service type. */
			(void)pthread_mutex_lock(&vr->vr_mu);
			(void)strlcpy(
			    vr->vr_type, "player", sizeof(vr->vr_type));
			(void)pthread_mutex_unlock(&vr->vr_mu);
			(void)strlcpy(type, "player", sizeof(type));
			proc_result_free(&res);
			continue;
		}
		err_set(err, EIK_BACKEND, "vmrun %s: %s (%s)", args[0], msg,
		    res.pr_desc);
		break;
	}
	proc_result_free(&res);
	return rc;
}

int
vmrun_parse_list(const char *out, void (*fn)(void *, const char *), void *arg,
    struct err *err)
{
	const char *p = out;
	const char *errstr = NULL;
	uint64_t said = 0;
	int headers = 0, n = 0;
	bool too_long = false;

	while (*p != '\0') {
		size_t len = strcspn(p, "\n");
		char line[PATH_BUF];
		size_t k = len;

		while (k > 0 && (p[k - 1] == '\r' || p[k - 1] == ' '))
			k--;
		if (k >= sizeof(line)) {
			/* Cannot be matched, and must not vanish silently:
			 * it may be one of the VMs the header counts. */
			if (headers > 0)
				too_long = true;
		} else {
			memcpy(line, p, k);
			line[k] = '\0';
			if (strncmp(line, VMRUN_LIST_HEADER,
				sizeof(VMRUN_LIST_HEADER) - 1) == 0) {
				const char *num =
				    line + sizeof(VMRUN_LIST_HEADER) - 1;

				while (*num == ' ')
					num++;
				said =
				    parse_uint(num, 0, VMRUN_LIST_MAX, &errstr);
				headers++;
			} else if (headers == 1 && line[0] == '/') {
				fn(arg, line);
				n++;
			}
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (headers == 0) {
		char first[128];

		first_line(out, first, sizeof(first));
		err_set(err, EIK_BACKEND,
		    "vmrun list: unexpected output \"%s\"", first);
		return -1;
	}
	/* An answer that contradicts itself says nothing about any VM: a
	 * header counting VMs whose paths are missing must never read as
	 * "all of them are off" (the group would replace them all). */
	if (headers > 1 || errstr != NULL || too_long || said != (uint64_t)n) {
		if (headers > 1)
			err_set(err, EIK_BACKEND,
			    "vmrun list: inconsistent output: %d \"%s\" "
			    "lines",
			    headers, VMRUN_LIST_HEADER);
		else if (errstr != NULL)
			err_set(err, EIK_BACKEND,
			    "vmrun list: inconsistent output: the VM count "
			    "after \"%s\" is %s",
			    VMRUN_LIST_HEADER, errstr);
		else if (too_long)
			err_set(err, EIK_BACKEND,
			    "vmrun list: inconsistent output: a line longer "
			    "than %d bytes",
			    PATH_BUF - 1);
		else
			err_set(err, EIK_BACKEND,
			    "vmrun list: inconsistent output: the header says "
			    "%llu running VMs but %d paths follow",
			    (unsigned long long)said, n);
		return VMRUN_LIST_INCONSISTENT;
	}
	return n;
}

bool
vmrun_clone_unsupported(const char *msg)
{
	static const char *const texts[] = {
		"One of the parameters was invalid",
		"The operation is not supported",
		"not supported with the current license",
		"not supported for the specified parameters",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strstr(msg, texts[i]) != NULL)
			return true;
	return false;
}

bool
vmrun_not_running(const char *msg)
{
	return strstr(msg, "is not powered on") != NULL ||
	    strstr(msg, "needs to be powered on") != NULL ||
	    strstr(msg, "is not running") != NULL;
}

int
vmrun_has_snapshot(const char *out, const char *name)
{
	const char *p = out;
	bool header = false;

	while (*p != '\0') {
		size_t len = strcspn(p, "\n");
		size_t k = len;
		const char *s = p;

		while (k > 0 && (s[k - 1] == '\r' || s[k - 1] == ' '))
			k--;
		while (k > 0 && (*s == '\t' || *s == ' ')) {
			s++;
			k--;
		}
		if (k >= 16 && strncmp(s, "Total snapshots:", 16) == 0)
			header = true;
		else if (header && k == strlen(name) &&
		    strncmp(s, name, k) == 0)
			return 1;
		p += len;
		if (*p == '\n')
			p++;
	}
	return header ? 0 : -1;
}
