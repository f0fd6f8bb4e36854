/*
 * NoCloud seed images. See seediso.h.
 *
 * libarchive (3.6) writes the image into memory. Its ISO 9660 writer stamps
 * the time of archive_write_close() into the volume descriptors, the root
 * directory and an "INFO" block (only a DEBUG build takes a "creation"
 * option), renders every date in the local time zone, gives the root
 * directory the caller's uid and gid, and upper-cases the primary volume
 * ID. So the image is normalised before it is written: iso_normalise()
 * walks the volume descriptors and both root directories (with Rock Ridge
 * TF/PX entries and continuation areas) and sets every date to
 * SEEDISO_MTIME in UTC, every owner to 0:0 and the primary volume ID to the
 * caller's. Only the root directories are walked: the image is flat.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "guest/seediso.h"

#define ISO_SECTOR 2048
#define ISO_VD_FIRST 16 /* after the system area */
#define ISO_VD_MAX 32	/* volume descriptors looked at */
#define ISO_DR_MIN 34	/* smallest directory record */
#define ISO_CE_DEPTH 4	/* continuation areas followed */
#define ISO_VD_PRIMARY 1
#define ISO_VD_SUPPLEMENTARY 2
#define ISO_VD_TERMINATOR 255

/* Offsets in a volume descriptor (ECMA-119 8.4). */
#define VD_VOLUME_ID 40
#define VD_VOLUME_ID_LEN 32
#define VD_ROOT_DR 156
#define VD_CREATION 813
#define VD_MODIFICATION 830
#define VD_EFFECTIVE 864

/* Offsets in a directory record (ECMA-119 9.1). */
#define DR_EXTENT 2
#define DR_SIZE 10
#define DR_DATE 18
#define DR_NAME_LEN 32
#define DR_NAME 33

struct iso_img {
	unsigned char *i_p;
	size_t i_len;
	struct tm i_tm; /* SEEDISO_MTIME in UTC */
};

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* ECMA-119 9.1.5: years since 1900, month, day, h, m, s, GMT offset. */
static void
date7(unsigned char *d, const struct tm *tm)
{
	d[0] = (unsigned char)tm->tm_year;
	d[1] = (unsigned char)(tm->tm_mon + 1);
	d[2] = (unsigned char)tm->tm_mday;
	d[3] = (unsigned char)tm->tm_hour;
	d[4] = (unsigned char)tm->tm_min;
	d[5] = (unsigned char)tm->tm_sec;
	d[6] = 0;
}

/* ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" and a GMT offset byte. */
static void
date17(unsigned char *d, const struct tm *tm)
{
	char s[32];

	(void)snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02d00",
	    tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
	    tm->tm_min, tm->tm_sec);
	memcpy(d, s, 16);
	d[16] = 0;
}

static int
iso_bad(const char *path, const char *what, struct err *err)
{
	err_set(err, EIK_INTERNAL,
	    "seed ISO %s: unexpected image from libarchive (%s); report this "
	    "with the libarchive version",
	    path, what);
	return -1;
}

/* Normalises the System Use entries of one record (Rock Ridge). */
static int
iso_fix_susp(struct iso_img *img, unsigned char *a, size_t len, int depth,
    const char *path, struct err *err)
{
	size_t i = 0;

	while (i + 4 <= len) {
		unsigned char *e = a + i;
		size_t el = e[2];

		if (el < 4 || el > len - i)
			break; /* padding */
		if (memcmp(e, "ST", 2) == 0)
			break;
		if (memcmp(e, "TF", 2) == 0 && el >= 5) {
			size_t sz = (e[4] & 0x80) != 0 ? 17 : 7, q = 5;

			for (int bit = 0; bit < 7; bit++) {
				if ((e[4] & (1u << bit)) == 0)
					continue;
				if (q + sz > el)
					return iso_bad(path, "TF entry", err);
				if (sz == 7)
					date7(e + q, &img->i_tm);
				else
					date17(e + q, &img->i_tm);
				q += sz;
			}
		} else if (memcmp(e, "PX", 2) == 0 && el >= 36) {
			memset(e + 20, 0, 16); /* uid and gid, both endians */
		} else if (memcmp(e, "CE", 2) == 0 && el >= 28 &&
		    depth < ISO_CE_DEPTH) {
			uint64_t at =
			    (uint64_t)le32(e + 4) * ISO_SECTOR + le32(e + 12);
			uint32_t cl = le32(e + 20);

			if (at > img->i_len || cl > img->i_len - at)
				return iso_bad(path, "CE entry", err);
			if (iso_fix_susp(img, img->i_p + at, cl, depth + 1,
				path, err) == -1)
				return -1;
		}
		i += el;
	}
	return 0;
}

/* Normalises every record of a directory extent. */
static int
iso_fix_dir(struct iso_img *img, uint32_t lba, uint32_t size, int rr,
    const char *path, struct err *err)
{
	uint64_t base = (uint64_t)lba * ISO_SECTOR;
	size_t pos = 0;

	if (base > img->i_len || size > img->i_len - base)
		return iso_bad(path, "directory extent", err);
	while (pos < size) {
		unsigned char *r = img->i_p + base + pos;
		size_t rl = r[0], in = pos % ISO_SECTOR, su;

		if (rl == 0) {
			pos += ISO_SECTOR - in; /* records never span sectors */
			continue;
		}
		if (rl < ISO_DR_MIN || in + rl > ISO_SECTOR || pos + rl > size)
			return iso_bad(path, "directory record", err);
		date7(r + DR_DATE, &img->i_tm);
		su = DR_NAME + r[DR_NAME_LEN] + (r[DR_NAME_LEN] % 2 == 0);
		if (rr && su < rl &&
		    iso_fix_susp(img, r + su, rl - su, 0, path, err) == -1)
			return -1;
		pos += rl;
	}
	return 0;
}

/* The "INFO <ctime>" block libarchive writes after the descriptors. */
static void
iso_fix_info(struct iso_img *img, size_t sector)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const struct tm *tm = &img->i_tm;
	unsigned char *b;
	char s[64];
	int n;

	if ((sector + 1) * ISO_SECTOR > img->i_len)
		return;
	b = img->i_p + sector * ISO_SECTOR;
	if (memcmp(b, "INFO ", 5) != 0 || b[5 + 24] != '\n')
		return;
	n = snprintf(s, sizeof(s), "%s %s%3d %02d:%02d:%02d %d\n",
	    wday[tm->tm_wday], mon[tm->tm_mon], tm->tm_mday, tm->tm_hour,
	    tm->tm_min, tm->tm_sec, tm->tm_year + 1900);
	if (n == 25)
		memcpy(b + 5, s, 25);
}

static int
iso_normalise(struct iso_img *img, const char *volume_id, const char *path,
    struct err *err)
{
	int seen_primary = 0;

	for (size_t s = ISO_VD_FIRST; s < ISO_VD_FIRST + ISO_VD_MAX; s++) {
		unsigned char *vd, *root;

		if ((s + 1) * ISO_SECTOR > img->i_len)
			return iso_bad(path, "volume descriptor", err);
		vd = img->i_p + s * ISO_SECTOR;
		root = vd + VD_ROOT_DR;
		if (memcmp(vd + 1, "CD001", 5) != 0)
			return iso_bad(path, "volume descriptor", err);
		if (vd[0] == ISO_VD_TERMINATOR) {
			if (!seen_primary)
				return iso_bad(
				    path, "no primary descriptor", err);
			iso_fix_info(img, s + 1);
			return 0;
		}
		if (vd[0] != ISO_VD_PRIMARY && vd[0] != ISO_VD_SUPPLEMENTARY)
			continue;
		date17(vd + VD_CREATION, &img->i_tm);
		date17(vd + VD_MODIFICATION, &img->i_tm);
		date17(vd + VD_EFFECTIVE, &img->i_tm);
		date7(root + DR_DATE, &img->i_tm);
		if (vd[0] == ISO_VD_PRIMARY) {
			memset(vd + VD_VOLUME_ID, ' ', VD_VOLUME_ID_LEN);
			memcpy(vd + VD_VOLUME_ID, volume_id, strlen(volume_id));
			seen_primary = 1;
		}
		if (iso_fix_dir(img, le32(root + DR_EXTENT),
			le32(root + DR_SIZE), vd[0] == ISO_VD_PRIMARY, path,
			err) == -1)
			return -1;
	}
	return iso_bad(path, "no descriptor set terminator", err);
}

static la_ssize_t
mem_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	if (buf_add(ctx, p, n) == -1) {
		archive_set_error(a, errno,
		    errno == E2BIG ? "image larger than %d bytes"
				   : "out of memory",
		    SEEDISO_MAX_SIZE);
		return -1;
	}
	return (la_ssize_t)n;
}

static int
valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return strspn(s,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789._-") == n;
}

/* Checks the volume ID and the file names (valid, unique). */
static int
check_input(const char *path, const char *volume_id,
    const struct seed_file *files, size_t n, struct err *err)
{
	if (volume_id == NULL || !valid_name(volume_id, SEEDISO_VOLID_MAX) ||
	    strchr(volume_id, '.') != NULL) {
		err_set(err, EIK_INVAL,
		    "seed ISO %s: volume ID \"%s\" must be 1-%d characters of "
		    "letters, digits, '_' and '-' (e.g. \"cidata\")",
		    path, volume_id != NULL ? volume_id : "",
		    SEEDISO_VOLID_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (files[i].sf_name == NULL ||
		    !valid_name(files[i].sf_name, SEEDISO_NAME_MAX) ||
		    (files[i].sf_data == NULL && files[i].sf_len > 0)) {
			err_set(err, EIK_INVAL,
			    "seed ISO %s: file name \"%s\" must be 1-%d "
			    "characters of letters, digits, '.', '_' and '-'",
			    path,
			    files[i].sf_name != NULL ? files[i].sf_name : "",
			    SEEDISO_NAME_MAX);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(files[i].sf_name, files[j].sf_name) == 0) {
				err_set(err, EIK_INVAL,
				    "seed ISO %s: file \"%s\" given twice",
				    path, files[i].sf_name);
				return -1;
			}
	}
	return 0;
}

/* Sets one iso9660 option; "volume-id" etc. are documented in
 * archive_write_set_options(3). */
static int
set_opt(struct archive *a, const char *key, const char *value, const char *path,
    struct err *err)
{
	if (archive_write_set_format_option(a, "iso9660", key, value) !=
	    ARCHIVE_OK) {
		err_set(err, EIK_INTERNAL, "seed ISO %s: option %s=%s: %s",
		    path, key, value, archive_error_string(a));
		return -1;
	}
	return 0;
}

/* Writes len bytes of an entry's data; 0 or -1 (error left on a). */
static int
write_data(struct archive *a, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		la_ssize_t w = archive_write_data(a, p, len);

		if (w <= 0) {
			if (w == 0)
				archive_set_error(a, EIO, "short write");
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reports libarchive's error on a. */
static void
archive_fail(struct archive *a, const char *path, struct err *err)
{
	int e = archive_errno(a);
	const char *msg = archive_error_string(a);

	err_set(err,
	    e == E2BIG	      ? EIK_INVAL
		: e == ENOMEM ? EIK_INTERNAL
		: e > 0	      ? err_from_errno(e)
			      : EIK_INTERNAL,
	    "seed ISO %s: libarchive: %s", path,
	    msg != NULL ? msg : "unknown error");
}

int
seediso_write(const char *path, const char *volume_id,
    const struct seed_file *files, size_t n, struct err *err)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct iso_img img;
	struct buf out;
	time_t t = SEEDISO_MTIME;
	int rc = -1;

	buf_init(&out, SEEDISO_MAX_SIZE);
	if (check_input(path, volume_id, files, n, err) == -1)
		goto out;
	a = archive_write_new();
	e = archive_entry_new();
	if (a == NULL || e == NULL) {
		err_set(err, EIK_INTERNAL, "seed ISO %s: out of memory", path);
		goto out;
	}
	/*
	 * Joliet and Rock Ridge keep the names exactly; "strict" Rock Ridge
	 * keeps the modes and owners we give ("useful", the default, makes
	 * every file r--r--r--). ISO level 2 lets the primary names be
	 * USER_DATA.;1 instead of level 1's 8.3 USER_DAT.;1 for readers
	 * without either extension.
	 */
	if (archive_write_set_format_iso9660(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		err_set(err, EIK_INTERNAL, "seed ISO %s: %s", path,
		    archive_error_string(a));
		goto out;
	}
	if (set_opt(a, "volume-id", volume_id, path, err) == -1 ||
	    set_opt(a, "iso-level", "2", path, err) == -1 ||
	    set_opt(a, "joliet", "1", path, err) == -1 ||
	    set_opt(a, "rockridge", "strict", path, err) == -1)
		goto out;
	if (archive_write_open(a, &out, NULL, mem_write, NULL) != ARCHIVE_OK) {
		archive_fail(a, path, err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, files[i].sf_name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, SEEDISO_ENTRY_MODE);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_nlink(e, 1);
		archive_entry_set_size(e, (la_int64_t)files[i].sf_len);
		archive_entry_set_mtime(e, t, 0);
		archive_entry_set_atime(e, t, 0);
		archive_entry_set_ctime(e, t, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    write_data(a, files[i].sf_data, files[i].sf_len) == -1) {
			archive_fail(a, path, err);
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		archive_fail(a, path, err);
		goto out;
	}

	img.i_p = (unsigned char *)out.b_data;
	img.i_len = out.b_len;
	if (img.i_p == NULL || gmtime_r(&t, &img.i_tm) == NULL) {
		(void)iso_bad(path, "empty image", err);
		goto out;
	}
	if (iso_normalise(&img, volume_id, path, err) == -1 ||
	    atomic_write_file(
		path, out.b_data, out.b_len, SEEDISO_FILE_MODE, err) == -1)
		goto out;
	rc = 0;
out:
	archive_entry_free(e);
	if (a != NULL)
		archive_write_free(a);
	buf_free(&out);
	return rc;
}
