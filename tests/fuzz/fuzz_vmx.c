/*
 * Fuzz target: the .vmx parser. Whatever parses must come back byte for
 * byte, survive edits, and parse again after them.
 */
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "fuzz_common.h"
#include "vmx/vmx.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmx *v = NULL, *w = NULL;
	struct err err;
	char *out;
	size_t len;

	if (vmx_parse((const char *)data, size, &v, &err) == -1)
		return 0;
	out = vmx_emit(v, &len);
	if (out == NULL || len != size || memcmp(out, data, size) != 0)
		abort(); /* round trip must be byte-identical */
	free(out);
	(void)vmx_get(v, "memsize");
	(void)vmx_first_dup(v);
	(void)vmx_set(v, "memsize", "1024");
	(void)vmx_set(v, "guestinfo.x", "a\"b|c\nd");
	(void)vmx_del_matching(v, "ethernet*.generatedAddress*");
	(void)vmx_del(v, "uuid.bios");
	out = vmx_emit(v, &len);
	if (out == NULL)
		abort();
	if (vmx_parse(out, len, &w, &err) == -1)
		abort(); /* edits keep the file parseable */
	if (strcmp(vmx_get(w, "guestinfo.x"), "a\"b|c\nd") != 0)
		abort();
	free(out);
	vmx_free(w);
	vmx_free(v);
	return 0;
}
