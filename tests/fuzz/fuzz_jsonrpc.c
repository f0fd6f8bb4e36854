/*
 * Fuzz target: a request body through the JSON-RPC envelope, the dispatch
 * table and the typed-struct parsers to the (double) service and back. The
 * answer must always be one JSON object (or empty for a notification)
 * with an id that is a string, a number or null.
 */
#include <jansson.h>
#include <stdlib.h>

#include "util/buf.h"
#include "fuzz_common.h"
#include "rpc/rpc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	json_t *v;

	log_init(LOG_LVL_QUIET, NULL);
	buf_init(&out, 64 * 1024 * 1024);
	if (rpc_handle(&fz_svc, (const char *)data, size, &out, 1) == 0 &&
	    out.b_len > 0) {
		json_t *id;

		v = json_loadb(out.b_data, out.b_len, 0, NULL);
		if (v == NULL || !json_is_object(v))
			abort(); /* the answer is always a JSON object */
		/* ... whose id is one JSON-RPC allows: never an object or
		 * an array (issue 11 #15). */
		id = json_object_get(v, "id");
		if (id == NULL || json_is_object(id) || json_is_array(id))
			abort();
		json_decref(v);
	}
	buf_free(&out);
	return 0;
}
