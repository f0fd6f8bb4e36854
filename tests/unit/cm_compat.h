/*
 * Includes cmocka with what it needs before it, for cmocka 1.1 (Debian 12)
 * and 2.x (Homebrew), and a few helpers the unit tests share. Only cmocka's
 * stable core is used (assert_*, cmocka_unit_test*, cmocka_run_group_tests).
 */
#ifndef CM_COMPAT_H
#define CM_COMPAT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh temporary directory; the caller removes it with rm_tree. */
static inline char *
cm_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	char *d;

	(void)snprintf(tmpl, sizeof(tmpl), "%s/ikvf-unit-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

#endif /* CM_COMPAT_H */
