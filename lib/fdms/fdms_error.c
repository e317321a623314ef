/*
 * fdms_error.c - what went wrong, and what the caller may do about it
 * (see fdms.h for the classes).
 *
 * The rules, in the order they are applied:
 *
 *   transport failure (no complete HTTP answer)
 *     our own refusal (bad URL, bad key, ...)   LOCAL    not in doubt
 *     DNS, connect, TLS handshake/verification  RETRY    not in doubt
 *     timeout, reset, send/receive error        RETRY    in doubt iff request
 *                                                        bytes had left
 *     answer larger than the cap                RETRY    in doubt
 *   HTTP answer
 *     2xx, body usable                          OK
 *     2xx, body unusable                        RETRY    in doubt
 *     3xx (redirects are never followed)        REJECTED (title says so)
 *     408, 429                                  RETRY    not in doubt
 *     other 4xx                                 REJECTED
 *     5xx                                       RETRY    in doubt
 *     anything else                             RETRY    in doubt
 *
 * "In doubt" is deliberately pessimistic: a 500 may come after FDMS stored
 * the receipt, a 502/504 from a gateway after it forwarded the request.
 * The cost of a false "in doubt" is one idempotent resend; the cost of a
 * false "not sent" could be a renumbered, re-signed receipt.  408 is
 * treated like 429 although the brief rule is "4xx other than 429 is never
 * retried": a 408 says the server gave up waiting for our request, i.e.
 * did not process it.
 *
 * SECURITY: error bodies are untrusted: parsed with jsonrx, every string
 * copied with fdms_copy_text (control bytes replaced, UTF-8-safe cut), an
 * unknown errorCode is kept as text but never matched loosely.
 */
#include "fdms/fdms_int.h"

#include <stdio.h>
#include <string.h>

static const char *const class_names[] = {
	"ok", "retry", "rejected", "local"
};

static const char *const fail_names[] = {
	"none", "local", "connect", "tls", "timeout", "network", "http",
	"response"
};

/* Indexed by enum fdms_errcode. */
static const char *const errcode_names[] = {
	"", "DEV01", "DEV02", "DEV03", "DEV04", "DEV05", "DEV06",
	"RCPT01", "RCPT02", "FISC01", "FISC03", "FISC04",
	"FILE01", "FILE02", "FILE03", "FILE04", "FILE05", "other"
};

_Static_assert(sizeof(errcode_names) / sizeof(errcode_names[0]) ==
    FDMS_EC_OTHER + 1, "errcode_names");

const char *
fdms_class_name(enum fdms_class c)
{
	return (size_t)c < sizeof(class_names) / sizeof(class_names[0]) ?
	    class_names[c] : "?";
}

const char *
fdms_fail_name(enum fdms_fail f)
{
	return (size_t)f < sizeof(fail_names) / sizeof(fail_names[0]) ?
	    fail_names[f] : "?";
}

const char *
fdms_errcode_name(enum fdms_errcode e)
{
	return (size_t)e <= FDMS_EC_OTHER ? errcode_names[e] : "?";
}

enum fdms_errcode
fdms_errcode_parse(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return FDMS_EC_NONE;
	/* Exact match: "dev01 " or "DEV1" is not DEV01, it is unknown. */
	for (i = FDMS_EC_DEV01; i < FDMS_EC_OTHER; i++)
		if (strcmp(s, errcode_names[i]) == 0)
			return (enum fdms_errcode)i;
	return FDMS_EC_OTHER;
}

void
fdms_classify_transport(struct fdms_result *res, const struct fdms_raw *raw)
{
	res->fail = raw->transport_fail;
	res->transport_code = raw->transport_code;
	switch (raw->transport_fail) {
	case FDMS_FAIL_LOCAL:
		res->cls = FDMS_LOCAL;
		res->in_doubt = false;
		break;
	case FDMS_FAIL_CONNECT:
	case FDMS_FAIL_TLS:
		/* No request byte precedes a finished handshake. */
		res->cls = FDMS_RETRY;
		res->in_doubt = false;
		break;
	case FDMS_FAIL_RESPONSE:
		/* An answer came (too big to read): the request arrived. */
		res->cls = FDMS_RETRY;
		res->in_doubt = true;
		break;
	case FDMS_FAIL_TIMEOUT:
	case FDMS_FAIL_NETWORK:
	default:
		res->fail = raw->transport_fail == FDMS_FAIL_TIMEOUT ?
		    FDMS_FAIL_TIMEOUT : FDMS_FAIL_NETWORK;
		res->cls = FDMS_RETRY;
		res->in_doubt = raw->sent;
		break;
	}
	snprintf(res->message, sizeof(res->message), "%s error%s: %s",
	    fdms_fail_name(res->fail),
	    res->in_doubt ? " after the request was sent" : "",
	    raw->transport_msg != NULL ? raw->transport_msg : "(no detail)");
}

/* Non-JSON error bodies (a gateway's HTML page): keep a readable hint. */
static void
body_hint(struct fdms_result *res, const char *body, size_t len)
{
	char tmp[121];
	size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;

	memcpy(tmp, body, n);
	tmp[n] = '\0';
	fdms_copy_text(res->detail, sizeof(res->detail), tmp);
}

static void
add_field_error(struct fdms_result *res, const char *field, const char *msg)
{
	struct fdms_field_error *e;

	if (res->n_errors == FDMS_FIELD_ERRORS_MAX) {
		res->errors_dropped++;
		return;
	}
	e = &res->errors[res->n_errors++];
	fdms_copy_text(e->field, sizeof(e->field), field);
	fdms_copy_text(e->message, sizeof(e->message), msg);
}

/*
 * ApiProblemDetails {type,title,status,detail,errorCode,operationID} or
 * ValidationProblemDetails {..., errors: {field: [msg, ...]}}.  Best
 * effort: nothing here changes the class, which the status alone decides.
 */
static void
parse_problem(struct fdms_result *res, const char *body, size_t len)
{
	char perr[160];
	const cJSON *root, *v, *m, *s;

	if (body == NULL || len == 0)
		return;
	if ((root = jr_parse(body, len, FDMS_MAX_BODY, perr,
	    sizeof(perr))) == NULL || !cJSON_IsObject(root)) {
		cJSON_Delete((cJSON *)root);
		body_hint(res, body, len);
		return;
	}
	if ((v = jr_get(root, "title")) != NULL && cJSON_IsString(v))
		fdms_copy_text(res->title, sizeof(res->title), v->valuestring);
	if ((v = jr_get(root, "detail")) != NULL && cJSON_IsString(v))
		fdms_copy_text(res->detail, sizeof(res->detail),
		    v->valuestring);
	if ((v = jr_get(root, "errorCode")) != NULL && cJSON_IsString(v)) {
		fdms_copy_text(res->code_text, sizeof(res->code_text),
		    v->valuestring);
		res->code = fdms_errcode_parse(v->valuestring);
		if (strlen(v->valuestring) >= sizeof(res->code_text))
			res->code = FDMS_EC_OTHER;
	}
	if ((v = jr_get(root, "operationID")) != NULL && cJSON_IsString(v) &&
	    v->valuestring[0] != '\0')
		fdms_copy_text(res->operation_id, sizeof(res->operation_id),
		    v->valuestring);
	if ((v = jr_get(root, "errors")) != NULL && cJSON_IsObject(v)) {
		for (m = v->child; m != NULL; m = m->next) {
			if (cJSON_IsString(m))
				add_field_error(res, m->string, m->valuestring);
			else if (cJSON_IsArray(m)) {
				for (s = m->child; s != NULL; s = s->next)
					add_field_error(res, m->string,
					    cJSON_IsString(s) ? s->valuestring :
					    "(not a string)");
			} else
				add_field_error(res, m->string, "(no message)");
		}
	}
	cJSON_Delete((cJSON *)root);
}

void
fdms_classify_http(struct fdms_result *res, const struct fdms_raw *raw)
{
	long st = raw->status;

	res->http_status = st;
	res->fail = FDMS_FAIL_HTTP;
	parse_problem(res, raw->body, raw->body_len);
	if (st >= 300 && st < 400) {
		/*
		 * Say what it is; the body (whatever it claims) and the
		 * Location are not ours to repeat.  Not followed: a request
		 * body must never go to a host we were not configured for.
		 */
		snprintf(res->title, sizeof(res->title), "a redirect, not "
		    "followed (fdms_base_url must be FDMS's final URL)");
		res->detail[0] = '\0';
		res->cls = FDMS_REJECTED;
		res->in_doubt = false;
	} else if (st == 408 || st == 429) {
		res->cls = FDMS_RETRY;
		res->in_doubt = false;
	} else if (st >= 400 && st < 500) {
		res->cls = FDMS_REJECTED;
		res->in_doubt = false;
	} else if (st >= 500 && st < 600) {
		res->cls = FDMS_RETRY;
		res->in_doubt = true;
	} else {
		res->cls = FDMS_RETRY;
		res->in_doubt = true;
		res->fail = FDMS_FAIL_RESPONSE;
	}
	snprintf(res->message, sizeof(res->message),
	    "HTTP %ld%s%.15s%s%.60s%s%.140s",
	    st, res->code_text[0] ? " " : "", res->code_text,
	    res->title[0] ? ": " : "", res->title,
	    res->detail[0] ? ": " : "", res->detail);
	if (res->n_errors > 0) {
		size_t n = strlen(res->message);

		snprintf(res->message + n, sizeof(res->message) - n,
		    " (%s: %s%s)", res->errors[0].field, res->errors[0].message,
		    res->n_errors + res->errors_dropped > 1 ? ", ..." : "");
	}
}

uint32_t
fdms_backoff_ms(unsigned attempt, uint64_t rnd)
{
	uint64_t ceiling = FDMS_BACKOFF_BASE_MS;

	while (attempt-- > 0 && ceiling < FDMS_BACKOFF_CAP_MS)
		ceiling *= 2;
	if (ceiling > FDMS_BACKOFF_CAP_MS)
		ceiling = FDMS_BACKOFF_CAP_MS;
	/* Full jitter (Brooker, "Exponential Backoff And Jitter"). */
	return (uint32_t)(rnd % (ceiling + 1));
}

uint32_t
fdms_retry_delay_ms(const struct fdms_result *res, unsigned attempt,
    uint64_t rnd)
{
	uint32_t d = fdms_backoff_ms(attempt, rnd);
	long ra;

	if (res != NULL && res->retry_after_s >= 0) {
		ra = res->retry_after_s > FDMS_RETRY_AFTER_MAX_S ?
		    FDMS_RETRY_AFTER_MAX_S : res->retry_after_s;
		if ((uint32_t)ra * 1000 > d)
			d = (uint32_t)ra * 1000;
	}
	return d;
}
