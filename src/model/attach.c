/*
 * Persistent disks of pets: their IDs and names. See attach.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/attach.h"
#include "util/err.h"

bool
attach_is_disk(const char *type)
{
	return type != NULL &&
	    (strcasecmp(type, "disk") == 0 || strcasecmp(type, "vmdk") == 0);
}

static bool
name_byte(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

int
attach_disk_name(
    const char *id, const char *field, char *out, size_t len, struct err *err)
{
	size_t n = strlen(id);

	if (n == 0) {
		err_set(err, EIK_INVAL,
		    "%s is empty; a disk attachment needs an ID naming its "
		    "disk, e.g. \"db-data\"",
		    field);
		return -1;
	}
	if (n > ATTACH_ID_MAX || n >= len) {
		err_set(err, EIK_INVAL,
		    "%s is %zu bytes; a disk's ID names its file and is at most "
		    "%d bytes (ATTACH_ID_MAX)",
		    field, n, ATTACH_ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)id[i])) {
			err_set(err, EIK_INVAL,
			    "%s contains a control or non-ASCII byte; a disk's "
			    "ID names its file under --vm-dir/attachments: use "
			    "letters, digits, '.', '_' and '-' only",
			    field);
			return -1;
		}
	/* Printable from here on: the ID can be shown. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!name_byte(c)) {
			err_set(err, EIK_INVAL,
			    "%s \"%s\" contains '%c'%s; a disk's ID names its "
			    "file under --vm-dir/attachments: use letters, "
			    "digits, '.', '_' and '-' only",
			    field, id, c,
			    c == '/' || c == '\\' ? " (a path)" : "");
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	if (!isalnum((unsigned char)id[0])) {
		err_set(err, EIK_INVAL,
		    "%s \"%s\" starts with '%c'; a disk's ID is a plain name "
		    "starting with a letter or a digit, not a path or an "
		    "option (e.g. \"db-data\")",
		    field, id, id[0]);
		return -1;
	}
	out[n] = '\0';
	return 0;
}

long
attach_disks(const struct inst_spec *s, const char *field, struct att_name *out,
    size_t max, struct err *err)
{
	size_t n = 0;

	for (size_t i = 0; i < s->s_n_att; i++) {
		const struct attachment *a = &s->s_att[i];
		char en[128];

		if (!attach_is_disk(a->a_type))
			continue;
		(void)snprintf(en, sizeof(en), "%s[%zu].ID", field, i);
		if (n == max) {
			err_set(err, EIK_INVAL,
			    "%s: an instance has at most %zu disk attachments "
			    "(ATTACH_MAX_DISKS); this is one more",
			    en, max);
			return -1;
		}
		if (attach_disk_name(a->a_id, en, out[n].an_name,
			sizeof(out[n].an_name), err) == -1)
			return -1;
		out[n].an_index = i;
		for (size_t k = 0; k < n; k++)
			if (strcmp(out[k].an_name, out[n].an_name) == 0) {
				err_set(err, EIK_INVAL,
				    "%s \"%s\" names the disk of %s[%zu] again "
				    "(IDs ignore case); each disk is attached "
				    "once",
				    en, a->a_id, field, out[k].an_index);
				return -1;
			}
		n++;
	}
	return (long)n;
}
