/*
 * fdms_http.c - the libcurl transport of the FDMS client (see fdms.h).
 *
 * Design.  One struct fdms_client owns one curl multi handle and one share
 * handle.  The multi handle keeps the connection cache, so consecutive
 * calls reuse a kept-alive TLS connection; the share handle keeps TLS
 * sessions and DNS answers, so a new connection resumes the session.  curl
 * keys both by the whole TLS configuration, client certificate included,
 * so two devices never share a connection or a session.  The multi handle
 * runs in "socket action" mode: curl tells us (on_socket, on_timer) which
 * descriptors to watch and when it wants the clock; the daemon merges
 * those into its own poll() and calls fdms_perform(); no threads.  A
 * finished call waits on the done list until fdms_take_done() (or
 * fdms_call(), the blocking wrapper for spoolctl) collects it.
 *
 * What "sent" means.  curl does not say whether the server processed a
 * request; we record whether any request byte may have left (pretransfer
 * reached, request or upload bytes counted) and classify a failure after
 * that point as in doubt (fdms_error.c).
 *
 * At most once on the wire per call.  libcurl (7.88, and still in 8.x:
 * Curl_retry_request, no option to turn it off before the proposed
 * CURLOPT_FORBID_RETRY_ON_REUSE) silently sends a request again, on a new
 * connection and up to 5 times, when a REUSED keep-alive connection dies
 * before any answer byte.  That happens exactly when the server read the
 * request and its answer was lost (or it closed an idle connection as the
 * request arrived), so FDMS may have processed it: for a state-changing
 * POST that is a second submission nobody journaled (a second CloseDay
 * may meet the first one's close in progress and be refused, hiding that
 * the first was accepted).  The retry is only ever
 * made for a reused connection, so every state-changing call
 * (state_changing()) gets a fresh connection (CURLOPT_FRESH_CONNECT) and
 * closes it afterwards (CURLOPT_FORBID_REUSE, so that no idle connection
 * per POST piles up); a lost answer then comes back to the caller as an
 * in-doubt failure, and the caller's resend is journaled.  GETs and Ping
 * change nothing at FDMS and keep the kept-alive connection; the TLS
 * session cache keeps the cost of the fresh connections low.
 *
 * State of a call: built (fdms_req_*) -> started (fdms_start: easy handle
 * in the multi handle, or refused at once) -> done (finish(): reply
 * decoded, on the done list) -> taken (fdms_take_done / fdms_call).
 *
 * SECURITY.
 *  - HTTPS only: the base URL must be https:// unless allow_http (tests
 *    and development), and CURLOPT_PROTOCOLS_STR enforces it again per
 *    handle.  Redirects are never followed (a 3xx is REJECTED).
 *  - The server is always verified (VERIFYPEER on, VERIFYHOST 2, TLS 1.2
 *    or later) against fdms_ca_file or the system store.  There is no
 *    switch to turn verification off.
 *  - The device certificate and key reach curl as in-memory blobs, never
 *    as files.  The key blob is CURL_BLOB_NOCOPY: curl hands our buffer to
 *    OpenSSL while connecting and keeps no copy of its own; our buffer is
 *    wiped (OPENSSL_cleanse) when the identity is freed.  Hence the rule
 *    that an identity outlives the calls that use it.
 *  - Client certificates go only to /Device/v1 endpoints.
 *  - Header values we send are checked for CR/LF (no header injection).
 *  - Responses: body capped (max_body), headers read for two names only,
 *    every value copied through fdms_copy_text; the body is decoded by
 *    fdms_decode (untrusted input, see fdms_json.c).
 *  - Logs: method, endpoint, status, class, operationID and sizes at debug
 *    level; never bodies of requests (activation keys, CSRs) nor any key.
 *
 * Invariants.
 *  1. Every call is on exactly one of the active list or the done list
 *     until it is taken.
 *  2. A call on the active list has an easy handle inside the multi
 *     handle; a call on the done list has none.
 *  3. deadline_ms is curl's last timer request (-1: none) and is cleared
 *     before we act on it, since acting may set a new one.
 */
#include "fdms/fdms_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "fdms/csr.h"
#include "fiscal/sign.h"
#include "util/log.h"

#define BASE_URL_MAX	512
#define SOCKS_MAX	4096
#define MODEL_MAX	100

struct fdms_identity {
	char	*cert;
	size_t	 cert_len;
	char	*key;		/* PEM, wiped on free */
	size_t	 key_len;
};

struct sockent {
	curl_socket_t	 fd;
	int		 what;	/* CURL_POLL_IN / OUT / INOUT */
};

struct fdms_call {
	struct fdms_client	*cl;
	struct fdms_call	*prev, *next;
	CURL			*easy;
	enum fdms_op		 op;
	void			*udata;
	struct curl_slist	*hdrs;
	struct buf		 target, body, resp, url;
	bool			 too_large, has_retry_after, done;
	char			 opid[FDMS_OPID_MAX + 1];
	char			 errbuf[CURL_ERROR_SIZE];
	char			 device[64];
	int64_t			 t0;
	struct fdms_reply	 reply;
};

struct fdms_client {
	CURLM			*multi;
	CURLSH			*share;
	char			 base[BASE_URL_MAX + 1];
	char			*ca_file;
	long			 connect_timeout_ms, timeout_ms;
	bool			 allow_http;
	size_t			 max_body;
	struct sockent		*socks;
	size_t			 n_socks, cap_socks;
	int64_t			 deadline_ms;
	struct fdms_call	*active;
	struct fdms_call	*done_head, *done_tail;
	size_t			 n_active;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum fdms_fail
fdms_curl_fail(int code)
{
	switch ((CURLcode)code) {
	case CURLE_OK:
		return FDMS_FAIL_NONE;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_FUNCTION_NOT_FOUND:
	case CURLE_RECURSIVE_API_CALL:
	case CURLE_SSL_CERTPROBLEM:	/* our client certificate or key */
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_TOO_MANY_REDIRECTS:
		return FDMS_FAIL_LOCAL;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return FDMS_FAIL_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_USE_SSL_FAILED:
		return FDMS_FAIL_TLS;
	case CURLE_OPERATION_TIMEDOUT:
		return FDMS_FAIL_TIMEOUT;
	case CURLE_WRITE_ERROR:
		return FDMS_FAIL_RESPONSE;
	default:
		/* Reset, EOF, send/recv errors, out of memory: maybe sent. */
		return FDMS_FAIL_NETWORK;
	}
}

/* ---- identity ---- */

struct fdms_identity *
fdms_identity_new(const char *cert, size_t len, const struct sigkey *key,
    char *err, size_t errlen)
{
	struct fdms_identity *id;
	int m;

	if (cert == NULL || key == NULL) {
		snprintf(err, errlen, "certificate and key are both required");
		return NULL;
	}
	/* A mismatch would surface as an obscure TLS error; say it plainly. */
	if ((m = fdms_cert_matches_key(cert, len, key)) != 1) {
		snprintf(err, errlen, "%s", m == 0 ?
		    "the certificate is not for this key" :
		    "not a PEM certificate");
		return NULL;
	}
	if ((id = calloc(1, sizeof(*id))) == NULL ||
	    (id->cert = malloc(len + 1)) == NULL) {
		free(id);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(id->cert, cert, len);
	id->cert[len] = '\0';
	id->cert_len = len;
	if ((id->key = sigkey_private_pem(key, NULL)) == NULL) {
		free(id->cert);
		free(id);
		snprintf(err, errlen,
		    "cannot export the private key to memory");
		return NULL;
	}
	id->key_len = strlen(id->key);
	return id;
}

void
fdms_identity_free(struct fdms_identity *id)
{
	if (id == NULL)
		return;
	OPENSSL_cleanse(id->key, id->key_len);
	free(id->key);
	free(id->cert);
	free(id);
}

/* ---- client ---- */

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *sp)
{
	struct fdms_client *cl = ud;
	struct sockent *p;
	size_t i, cap;

	(void)easy;
	(void)sp;
	for (i = 0; i < cl->n_socks; i++)
		if (cl->socks[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE) {
		if (i < cl->n_socks)
			cl->socks[i] = cl->socks[--cl->n_socks];
		return 0;
	}
	if (i == cl->n_socks) {
		if (cl->n_socks == cl->cap_socks) {
			cap = cl->cap_socks ? cl->cap_socks * 2 : 16;
			if (cap > SOCKS_MAX || (p = realloc(cl->socks,
			    cap * sizeof(*p))) == NULL)
				return -1;	/* curl fails the transfer */
			cl->socks = p;
			cl->cap_socks = cap;
		}
		cl->socks[cl->n_socks++].fd = fd;
	}
	cl->socks[i].what = what;
	return 0;
}

static int
on_timer(CURLM *multi, long ms, void *ud)
{
	struct fdms_client *cl = ud;

	(void)multi;
	cl->deadline_ms = ms < 0 ? -1 : now_ms() + ms;
	return 0;
}

/* https://host[:port][/prefix], printable, no query, fragment or userinfo. */
static int
check_base(const char *url, bool allow_http, char *err, size_t errlen)
{
	size_t i, n;

	if (url == NULL || (n = strlen(url)) == 0 || n > BASE_URL_MAX) {
		snprintf(err, errlen, "FDMS base URL missing or too long");
		return -1;
	}
	if (strncasecmp(url, "https://", 8) != 0 &&
	    !(allow_http && strncasecmp(url, "http://", 7) == 0)) {
		snprintf(err, errlen, "FDMS base URL must be https:// "
		    "(http:// only with the development flag)");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (url[i] <= 0x20 || url[i] >= 0x7f || url[i] == '?' ||
		    url[i] == '#' || url[i] == '@') {
			snprintf(err, errlen, "FDMS base URL has a forbidden "
			    "character at %zu", i);
			return -1;
		}
	return 0;
}

struct fdms_client *
fdms_client_new(const struct fdms_client_opts *o, char *err, size_t errlen)
{
	static bool curl_ready;
	struct fdms_client *cl;
	size_t n;

	if (check_base(o->base_url, o->allow_http, err, errlen) == -1)
		return NULL;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "curl_global_init failed");
			return NULL;
		}
		curl_ready = true;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(cl->base, sizeof(cl->base), "%s", o->base_url);
	n = strlen(cl->base);
	while (n > 0 && cl->base[n - 1] == '/')
		cl->base[--n] = '\0';
	cl->allow_http = o->allow_http;
	cl->connect_timeout_ms = o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : FDMS_CONNECT_TIMEOUT_MS;
	cl->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : FDMS_TIMEOUT_MS;
	cl->max_body = o->max_body > 0 ? o->max_body : FDMS_MAX_BODY;
	cl->deadline_ms = -1;
	if ((o->ca_file != NULL &&
	    (cl->ca_file = strdup(o->ca_file)) == NULL) ||
	    (cl->multi = curl_multi_init()) == NULL ||
	    (cl->share = curl_share_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		fdms_client_free(cl);
		return NULL;
	}
	curl_share_setopt(cl->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(cl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	return cl;
}

static void
unlink_call(struct fdms_call **head, struct fdms_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
call_free(struct fdms_call *c)
{
	if (c->easy != NULL) {
		curl_multi_remove_handle(c->cl->multi, c->easy);
		curl_easy_cleanup(c->easy);
	}
	curl_slist_free_all(c->hdrs);
	buf_free(&c->target);
	buf_free(&c->body);
	buf_free(&c->resp);
	buf_free(&c->url);
	fdms_reply_free(&c->reply);
	free(c);
}

void
fdms_client_free(struct fdms_client *cl)
{
	struct fdms_call *c;

	if (cl == NULL)
		return;
	while ((c = cl->active) != NULL) {
		unlink_call(&cl->active, c);
		call_free(c);
	}
	while ((c = cl->done_head) != NULL) {
		cl->done_head = c->next;
		call_free(c);
	}
	if (cl->multi != NULL)
		curl_multi_cleanup(cl->multi);
	if (cl->share != NULL)
		curl_share_cleanup(cl->share);
	free(cl->socks);
	free(cl->ca_file);
	free(cl);
}

/* ---- one call ---- */

static void
push_done(struct fdms_client *cl, struct fdms_call *c)
{
	c->done = true;
	c->next = NULL;
	c->prev = cl->done_tail;
	if (cl->done_tail != NULL)
		cl->done_tail->next = c;
	else
		cl->done_head = c;
	cl->done_tail = c;
}

static void
log_done(const struct fdms_call *c)
{
	const struct fdms_result *r = &c->reply.res;
	struct log_ctx ctx = { c->device[0] ? c->device : NULL, NULL,
	    r->operation_id[0] ? r->operation_id : NULL };

	log_debug(&ctx, "fdms", "%s %s: %s%s: %s (%lld ms, %zu bytes in)",
	    fdms_opinfo(c->op)->method, fdms_op_name(c->op),
	    fdms_class_name(r->cls), r->in_doubt ? ", in doubt" : "",
	    r->message, (long long)(now_ms() - c->t0), c->resp.len);
}

static void
refuse_call(struct fdms_call *c, const char *msg)
{
	struct fdms_raw raw;

	memset(&raw, 0, sizeof(raw));
	raw.transport_fail = FDMS_FAIL_LOCAL;
	raw.retry_after_s = -1;
	raw.transport_msg = msg;
	fdms_decode(c->op, &raw, &c->reply);
	push_done(c->cl, c);
	log_done(c);
}

/* Did any request byte leave?  Conservative: when unsure, yes. */
static bool
was_sent(CURL *e)
{
	curl_off_t pre = 0, up = 0;
	long reqsize = 0;

	(void)curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
	(void)curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &reqsize);
	(void)curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
	return pre > 0 || reqsize > 0 || up > 0;
}

static void
finish(struct fdms_call *c, CURLcode rc)
{
	struct fdms_client *cl = c->cl;
	struct fdms_raw raw;
	curl_off_t ra = -1;
	long status = 0;

	memset(&raw, 0, sizeof(raw));
	raw.retry_after_s = -1;
	(void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK) {
		raw.transport_fail = FDMS_FAIL_NONE;
		raw.status = status;
		raw.body = buf_str(&c->resp);
		raw.body_len = c->resp.len;
	} else {
		raw.transport_fail = c->too_large ? FDMS_FAIL_RESPONSE :
		    fdms_curl_fail(rc);
		raw.sent = was_sent(c->easy);
		raw.transport_code = (int)rc;
		if (c->too_large)
			raw.transport_msg = "answer larger than the cap";
		else if (c->errbuf[0] != '\0')
			raw.transport_msg = c->errbuf;
		else
			raw.transport_msg = curl_easy_strerror(rc);
	}
	if (c->has_retry_after &&
	    curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra >= 0)
		raw.retry_after_s = ra > LONG_MAX ? LONG_MAX : (long)ra;
	raw.operation_id = c->opid[0] != '\0' ? c->opid : NULL;
	fdms_decode(c->op, &raw, &c->reply);

	unlink_call(&cl->active, c);
	cl->n_active--;
	curl_multi_remove_handle(cl->multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
	push_done(cl, c);
	log_done(c);
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct fdms_call *c = ud;
	size_t len = size * n;

	if (buf_add(&c->resp, p, len) == -1) {
		c->too_large = true;
		return 0;	/* CURLE_WRITE_ERROR */
	}
	return len;
}

/* Header value after "name:", trimmed, or NULL. */
static const char *
header_value(const char *p, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name), i, e;

	if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return NULL;
	for (i = nl + 1; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	for (e = len; e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' ||
	    p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
		;
	*vlen = e - i;
	return p + i;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct fdms_call *c = ud;
	size_t len = size * n, vlen;
	const char *v;
	char tmp[FDMS_OPID_MAX + 1];

	/* A new status line (100-continue, curl's retry) starts afresh. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		c->opid[0] = '\0';
		c->has_retry_after = false;
	} else if ((v = header_value(p, len, "operationId", &vlen)) != NULL &&
	    vlen > 0) {
		if (vlen >= sizeof(tmp))
			vlen = sizeof(tmp) - 1;
		memcpy(tmp, v, vlen);
		tmp[vlen] = '\0';
		fdms_copy_text(c->opid, sizeof(c->opid), tmp);
	} else if (header_value(p, len, "Retry-After", &vlen) != NULL)
		c->has_retry_after = true;
	return len;
}

static bool
good_header_value(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > MODEL_MAX)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static int
add_header(struct fdms_call *c, const char *name, const char *value)
{
	char line[256];
	struct curl_slist *l;

	snprintf(line, sizeof(line), "%s:%s%s", name, value[0] ? " " : "",
	    value);
	if ((l = curl_slist_append(c->hdrs, line)) == NULL)
		return -1;
	c->hdrs = l;
	return 0;
}

/*
 * Does FDMS change state on this call?  Every POST but Ping (which only
 * records the time of contact, harmless twice).  See "At most once on the
 * wire" at the top.
 */
static bool
state_changing(enum fdms_op op)
{
	return strcmp(fdms_opinfo(op)->method, "POST") == 0 &&
	    op != FDMS_PING;
}

static int
setup_easy(struct fdms_call *c, const struct fdms_device *dev)
{
	struct fdms_client *cl = c->cl;
	const struct fdms_opinfo *oi = fdms_opinfo(c->op);
	const struct fdms_identity *id = dev->identity;
	struct curl_blob cert, key;
	CURL *e;
	CURLcode rc = CURLE_OK;

	if ((c->easy = e = curl_easy_init()) == NULL)
		return -1;
	if (add_header(c, "Accept", "application/json") == -1 ||
	    add_header(c, "Content-Type", oi->ctype ? oi->ctype : "") == -1 ||
	    add_header(c, "Expect", "") == -1 ||
	    (dev->model_name != NULL &&
	    add_header(c, "DeviceModelName", dev->model_name) == -1) ||
	    (dev->model_version != NULL &&
	    add_header(c, "DeviceModelVersion", dev->model_version) == -1))
		return -1;

#define SET(opt, val)	do { if (rc == CURLE_OK) \
			    rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, buf_str(&c->url));
	SET(CURLOPT_PROTOCOLS_STR, cl->allow_http ? "http,https" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cl->ca_file != NULL)
		SET(CURLOPT_CAINFO, cl->ca_file);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, cl->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, cl->timeout_ms);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	/* HTTP/1.1 keep-alive: the simplest "what was sent" semantics. */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (state_changing(c->op)) {
		/* Never a reused connection: no silent resend by curl. */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	SET(CURLOPT_SHARE, cl->share);
	SET(CURLOPT_PRIVATE, c);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, c);
	SET(CURLOPT_HTTPHEADER, c->hdrs);
	SET(CURLOPT_USERAGENT, "spoold");
	if (oi->mtls && id != NULL) {
		cert.data = id->cert;
		cert.len = id->cert_len;
		cert.flags = CURL_BLOB_COPY;
		key.data = id->key;
		key.len = id->key_len;
		key.flags = CURL_BLOB_NOCOPY;
		SET(CURLOPT_SSLCERT_BLOB, &cert);
		SET(CURLOPT_SSLCERTTYPE, "PEM");
		SET(CURLOPT_SSLKEY_BLOB, &key);
		SET(CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (strcmp(oi->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, buf_str(&c->body));
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
	} else
		SET(CURLOPT_HTTPGET, 1L);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

static void
move_buf(struct buf *dst, struct buf *src)
{
	*dst = *src;
	buf_init(src, src->max);
}

static struct fdms_call *
start_call(struct fdms_client *cl, const struct fdms_device *dev,
    struct fdms_request *req, void *udata)
{
	struct fdms_call *c;
	struct log_ctx ctx;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cl = cl;
	c->op = req->op < FDMS_OP_COUNT ? req->op : FDMS_GET_STATUS;
	c->udata = udata;
	c->t0 = now_ms();
	fdms_reply_init(&c->reply, c->op);
	move_buf(&c->target, &req->target);
	move_buf(&c->body, &req->body);
	buf_init(&c->resp, cl->max_body);
	buf_init(&c->url, BASE_URL_MAX + c->target.max + 1);
	if (dev->name != NULL)
		fdms_copy_text(c->device, sizeof(c->device), dev->name);

	if (req->op >= FDMS_OP_COUNT || c->target.len == 0) {
		snprintf(c->errbuf, sizeof(c->errbuf), "request was not built: "
		    "%s", req->err[0] ? req->err : "no endpoint");
		refuse_call(c, c->errbuf);
		return c;
	}
	if ((dev->model_name != NULL && !good_header_value(dev->model_name)) ||
	    (dev->model_version != NULL &&
	    !good_header_value(dev->model_version))) {
		refuse_call(c, "device model name or version is not "
		    "1..100 printable ASCII characters");
		return c;
	}
	if (buf_adds(&c->url, cl->base) == -1 ||
	    buf_add(&c->url, c->target.p, c->target.len) == -1 ||
	    setup_easy(c, dev) == -1) {
		refuse_call(c, "cannot set up the transfer");
		return c;
	}
	if (curl_multi_add_handle(cl->multi, c->easy) != CURLM_OK) {
		refuse_call(c, "cannot start the transfer");
		return c;
	}
	c->next = cl->active;
	if (cl->active != NULL)
		cl->active->prev = c;
	cl->active = c;
	cl->n_active++;
	ctx.device = c->device[0] ? c->device : NULL;
	ctx.file = NULL;
	ctx.operation_id = NULL;
	log_debug(&ctx, "fdms", "%s %s (%zu bytes)", fdms_opinfo(c->op)->method,
	    buf_str(&c->target), c->body.len);
	return c;
}

int
fdms_start(struct fdms_client *cl, const struct fdms_device *dev,
    struct fdms_request *req, void *udata)
{
	return start_call(cl, dev, req, udata) != NULL ? 0 : -1;
}

static void
collect(struct fdms_client *cl)
{
	CURLMsg *m;
	struct fdms_call *c;
	CURLcode rc;
	int left;
	char *priv;

	while ((m = curl_multi_info_read(cl->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		priv = NULL;
		(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    &priv);
		if ((c = (struct fdms_call *)(void *)priv) != NULL)
			finish(c, rc);	/* m is invalid from here on */
	}
}

size_t
fdms_pollfds(struct fdms_client *cl, struct pollfd *pfd, size_t max)
{
	size_t i;

	for (i = 0; i < cl->n_socks && i < max; i++) {
		pfd[i].fd = cl->socks[i].fd;
		pfd[i].events = 0;
		pfd[i].revents = 0;
		if (cl->socks[i].what & CURL_POLL_IN)
			pfd[i].events |= POLLIN;
		if (cl->socks[i].what & CURL_POLL_OUT)
			pfd[i].events |= POLLOUT;
	}
	return cl->n_socks;
}

int
fdms_timeout_ms(struct fdms_client *cl)
{
	int64_t d;

	if (cl->deadline_ms < 0)
		return -1;
	d = cl->deadline_ms - now_ms();
	return d <= 0 ? 0 : d > INT_MAX ? INT_MAX : (int)d;
}

static bool
ours(const struct fdms_client *cl, int fd)
{
	size_t i;

	for (i = 0; i < cl->n_socks; i++)
		if (cl->socks[i].fd == fd)
			return true;
	return false;
}

void
fdms_perform(struct fdms_client *cl, const struct pollfd *pfd, size_t n)
{
	size_t i;
	int running, ev;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0 || !ours(cl, pfd[i].fd))
			continue;
		ev = 0;
		if (pfd[i].revents & (POLLIN | POLLHUP))
			ev |= CURL_CSELECT_IN;
		if (pfd[i].revents & POLLOUT)
			ev |= CURL_CSELECT_OUT;
		if (pfd[i].revents & (POLLERR | POLLNVAL))
			ev |= CURL_CSELECT_ERR;
		curl_multi_socket_action(cl->multi, pfd[i].fd, ev, &running);
	}
	if (cl->deadline_ms >= 0 && now_ms() >= cl->deadline_ms) {
		cl->deadline_ms = -1;	/* invariant 3 */
		curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0,
		    &running);
	}
	collect(cl);
}

static void
take(struct fdms_client *cl, struct fdms_call *c, struct fdms_reply *out)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cl->done_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		cl->done_tail = c->prev;
	*out = c->reply;
	fdms_reply_init(&c->reply, c->op);	/* ownership moved to out */
	call_free(c);
}

int
fdms_take_done(struct fdms_client *cl, struct fdms_reply *out, void **udata)
{
	struct fdms_call *c = cl->done_head;

	if (c == NULL)
		return 0;
	if (udata != NULL)
		*udata = c->udata;
	take(cl, c, out);
	return 1;
}

size_t
fdms_in_flight(const struct fdms_client *cl)
{
	return cl->n_active;
}

enum fdms_class
fdms_call(struct fdms_client *cl, const struct fdms_device *dev,
    struct fdms_request *req, struct fdms_reply *out)
{
	struct pollfd *pfd = NULL, *np;
	size_t n, cap = 0;
	struct fdms_call *c;
	int t;

	if ((c = start_call(cl, dev, req, NULL)) == NULL) {
		struct fdms_raw raw;

		memset(&raw, 0, sizeof(raw));
		raw.transport_fail = FDMS_FAIL_LOCAL;
		raw.retry_after_s = -1;
		raw.transport_msg = "out of memory";
		fdms_reply_init(out, req->op);
		fdms_decode(req->op, &raw, out);
		return out->res.cls;
	}
	while (!c->done) {
		n = fdms_pollfds(cl, pfd, cap);
		if (n > cap) {
			if ((np = realloc(pfd, n * sizeof(*pfd))) == NULL)
				n = cap;	/* poll what fits; time runs */
			else {
				pfd = np;
				cap = n;
				n = fdms_pollfds(cl, pfd, cap);
			}
		}
		t = fdms_timeout_ms(cl);
		if (t < 0 || t > 1000)
			t = 1000;
		if (poll(pfd, (nfds_t)n, t) == -1 && errno != EINTR)
			break;
		fdms_perform(cl, pfd, n);
	}
	free(pfd);
	if (!c->done) {
		/* poll() itself failed: give up on the transfer, in doubt. */
		struct fdms_raw raw;

		memset(&raw, 0, sizeof(raw));
		raw.transport_fail = FDMS_FAIL_NETWORK;
		raw.sent = true;
		raw.retry_after_s = -1;
		raw.transport_msg = "poll failed";
		unlink_call(&cl->active, c);
		cl->n_active--;
		fdms_reply_init(out, c->op);
		fdms_decode(c->op, &raw, out);
		call_free(c);
		return out->res.cls;
	}
	take(cl, c, out);
	return out->res.cls;
}
