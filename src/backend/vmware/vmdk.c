/*
 * VMDK disks made without VMware's tools. See vmdk.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend/vmware/vmdk.h"
#include "util/compat.h"
#include "util/defaults.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/proc.h"

int
vmdk_flat_descriptor(
    char *out, size_t len, uint64_t sectors, const char *extent, uint32_t cid)
{
	/* The BIOS geometry VMware gives an LSI Logic disk: 255 heads, 63
	 * sectors per track, at most 65535 cylinders. */
	uint64_t cyl = sectors / (255 * 63);
	int n;

	if (extent[0] == '\0' || strpbrk(extent, "/\"\n") != NULL)
		return -1;
	if (cyl > 65535)
		cyl = 65535;
	n = snprintf(out, len,
	    "# Disk DescriptorFile\n"
	    "version=1\n"
	    "encoding=\"UTF-8\"\n"
	    "CID=%08x\n"
	    "parentCID=ffffffff\n"
	    "createType=\"monolithicFlat\"\n"
	    "\n"
	    "# Extent description\n"
	    "RW %llu FLAT \"%s\" 0\n"
	    "\n"
	    "# The Disk Data Base\n"
	    "#DDB\n"
	    "\n"
	    "ddb.virtualHWVersion = \"4\"\n"
	    "ddb.adapterType = \"lsilogic\"\n"
	    "ddb.geometry.cylinders = \"%llu\"\n"
	    "ddb.geometry.heads = \"255\"\n"
	    "ddb.geometry.sectors = \"63\"\n",
	    (unsigned)cid, (unsigned long long)sectors, extent,
	    (unsigned long long)cyl);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A content ID: VMware changes it at the first write anyway; it need
 * only not be parentCID's ffffffff. */
static uint32_t
new_cid(void)
{
	uint32_t cid = (uint32_t)wall_ms() ^ ((uint32_t)getpid() << 16);

	return cid == 0xffffffffu ? 0x1u : cid;
}

int
vmdk_create_flat(const char *path, unsigned size_gb, struct err *err)
{
	char extent[PATH_BUF], text[1024];
	const char *base;
	size_t n = strlen(path);
	uint64_t bytes = (uint64_t)size_gb << 30;

	if (n < 6 || strcasecmp(path + n - 5, ".vmdk") != 0 ||
	    n + 6 > sizeof(extent)) {
		err_set(err, EIK_INVAL, "%s: a disk's name must end in .vmdk",
		    path);
		return -1;
	}
	(void)snprintf(
	    extent, sizeof(extent), "%.*s-flat.vmdk", (int)(n - 5), path);
	base = strrchr(extent, '/');
	base = base != NULL ? base + 1 : extent;
	if (vmdk_flat_descriptor(text, sizeof(text), bytes / VMDK_SECTOR, base,
		new_cid()) == -1) {
		err_set(err, EIK_INVAL, "%s: not a plain file name", base);
		return -1;
	}
	if (sparse_file_create(extent, bytes, 0600, err) == -1)
		return -1;
	if (atomic_write_file(path, text, strlen(text), 0600, err) == -1) {
		(void)unlink(extent);
		return -1;
	}
	return 0;
}

int
vmdk_tool_find(const char *vmrun, char *out, size_t len)
{
	const char *slash = strrchr(vmrun, '/');
	int n;

	if (slash != NULL) {
		n = snprintf(
		    out, len, "%.*s/" VMDK_TOOL, (int)(slash - vmrun), vmrun);
		if (n > 0 && (size_t)n < len && access(out, X_OK) == 0)
			return 0;
	}
	return proc_find_in_path(VMDK_TOOL, out, len);
}

/* The last line of text that is not blank, into out. */
static void
last_line(const char *text, char *out, size_t len)
{
	const char *start = NULL, *p = text;

	out[0] = '\0';
	while (*p != '\0') {
		size_t n = strcspn(p, "\r\n");

		if (strspn(p, " \t") < n)
			start = p;
		p += n;
		p += strspn(p, "\r\n");
	}
	if (start != NULL)
		(void)snprintf(
		    out, len, "%.*s", (int)strcspn(start, "\r\n"), start);
}

int
vmdk_create_tool(const char *tool, const char *path, unsigned size_gb,
    int64_t deadline, struct err *err)
{
	char size[32];
	const char *argv[] = { tool, "-c", "-s", size, "-a", "lsilogic", "-t",
		"0", path, NULL };
	struct proc_result res;
	struct proc_spec ps;
	int rc = -1;

	(void)snprintf(size, sizeof(size), "%uGB", size_gb);
	memset(&ps, 0, sizeof(ps));
	ps.ps_argv = argv;
	ps.ps_timeout_ms = VMDK_TOOL_TIMEOUT_MS;
	ps.ps_deadline = deadline;
	if (proc_run(&ps, &res, err) == 0) {
		if (res.pr_status == 0 && is_file(path))
			rc = 0;
		else {
			char msg[512];

			/* It reports on stdout, after its progress lines
			 * ("Failed to create disk: ..."); stderr when worse. */
			last_line(buf_str(&res.pr_err)[0] != '\0'
				? buf_str(&res.pr_err)
				: buf_str(&res.pr_out),
			    msg, sizeof(msg));
			err_set(err, EIK_BACKEND, "%s %s: %s (%s)", VMDK_TOOL,
			    path, msg[0] != '\0' ? msg : "made no disk",
			    res.pr_desc);
		}
	}
	proc_result_free(&res);
	return rc;
}
