/*
 * fuzz_fdms.c - the FDMS response decoder on arbitrary answers: the first
 * byte picks the endpoint and the HTTP status, the rest is the body and
 * must never crash the decoder, whatever FDMS (or whatever answers at its
 * address) sends back.
 */
#include "fuzz_common.h"

#include <string.h>

#include "fdms/fdms.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 400, 401, 422, 429,
	    500 };
	struct fdms_reply rep;
	struct fdms_raw raw;
	enum fdms_op op;

	if (size < 1)
		return 0;
	op = (enum fdms_op)(data[0] % FDMS_OP_COUNT);
	memset(&raw, 0, sizeof(raw));
	raw.transport_fail = FDMS_FAIL_NONE;
	raw.sent = true;
	raw.status = statuses[(data[0] / FDMS_OP_COUNT) % 8];
	raw.body = (const char *)data + 1;
	raw.body_len = size - 1;
	raw.operation_id = (data[0] & 0x80) ? "0HNFUZZ:00000001" : NULL;
	raw.retry_after_s = -1;
	fdms_reply_init(&rep, op);
	fdms_decode(op, &raw, &rep);
	/* A usable answer is only ever a 2xx one. */
	if (rep.res.cls == FDMS_OK && (raw.status < 200 || raw.status > 299))
		abort();
	fdms_reply_free(&rep);
	return 0;
}
