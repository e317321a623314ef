/*
 * fdms.h - the FDMS client: every Fiscal Device Gateway endpoint
 * (fdms-reference §2), typed requests and replies, error classification,
 * retry policy and a non-blocking libcurl transport.
 *
 * Three layers, usable separately:
 *
 *   codec      fdms_req_*() build a request (path, JSON body) from typed
 *              arguments; fdms_decode() turns what came back (HTTP status,
 *              body, headers, or a transport failure) into a typed reply
 *              and a classification.  Pure: no I/O, no clock.
 *   policy     fdms_backoff_ms() / fdms_retry_delay_ms(): capped
 *              exponential backoff with full jitter, a pure function of the
 *              attempt number and a random value the caller supplies.
 *   transport  struct fdms_client: one curl multi handle (keep-alive
 *              connections and TLS sessions reused across calls and
 *              devices), driven from the caller's poll loop
 *              (fdms_pollfds / fdms_timeout_ms / fdms_perform /
 *              fdms_take_done), plus fdms_call(), a blocking wrapper for
 *              spoolctl.
 *
 * Classification (struct fdms_result, set by fdms_decode):
 *
 *   FDMS_OK        2xx with a usable body.
 *   FDMS_RETRY     try again later, with the same bytes: transport failure
 *                  (DNS, connect, TLS - a server certificate that does not
 *                  verify too: alarm if it persists), 408, 429 (Retry-After
 *                  honoured), 5xx, or a 2xx whose body is unusable.
 *   FDMS_REJECTED  FDMS (or whatever answers at its address) said no: every
 *                  other 4xx (401: certificate refused), and 3xx (never
 *                  followed).  Never retry unchanged.
 *   FDMS_LOCAL     refused by this client before anything was sent: a
 *                  builder's refusal, a bad model header, an unusable
 *                  client certificate.  (An http:// base URL is refused
 *                  earlier still, by fdms_client_new.)
 *
 * and, orthogonal to it, `in_doubt`: the request MAY HAVE REACHED FDMS and
 * changed its state although we got no definite answer (timeout or dropped
 * connection after the request went out, 5xx, an unusable 2xx).  After an
 * in-doubt SubmitReceipt the caller must resend the identical bytes, which
 * FDMS answers idempotently with the original receiptID; it must never
 * re-sign or renumber.  An in-doubt OpenDay or CloseDay is settled with
 * GetStatus before anything else is tried.
 *
 * Replies hold untrusted data: every string is valid UTF-8 without NUL,
 * bounded in length, and lives in the reply's arena (fdms_reply_free).
 */
#ifndef FDMS_FDMS_H
#define FDMS_FDMS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "util/buf.h"

struct arena;
struct sigkey;

#define FDMS_MAX_BODY		(1024 * 1024)	/* response body cap */
#define FDMS_MAX_REQUEST	(4 * 1024 * 1024)
#define FDMS_MAX_FILE		(3 * 1024 * 1024) /* SubmitFile, FILE01 */
#define FDMS_OPID_MAX		100
#define FDMS_DATE_LEN		19		/* YYYY-MM-DDTHH:MM:SS */
#define FDMS_DEVICE_ID_MAX	INT64_C(2147483647)	/* int32 in the OAS */
#define FDMS_FIELD_ERRORS_MAX	16
#define FDMS_CONNECT_TIMEOUT_MS	10000
#define FDMS_TIMEOUT_MS		60000	/* FDMS itself gives up after 30 s */
#define FDMS_BACKOFF_BASE_MS	1000
#define FDMS_BACKOFF_CAP_MS	300000
#define FDMS_RETRY_AFTER_MAX_S	3600	/* a larger Retry-After is clamped */

enum fdms_op {
	FDMS_VERIFY_TAXPAYER = 0,	/* POST /Public/v1/{id}/VerifyTaxpayerInformation */
	FDMS_REGISTER_DEVICE,		/* POST /Public/v1/{id}/RegisterDevice */
	FDMS_GET_SERVER_CERT,		/* GET  /Public/v1/GetServerCertificate */
	FDMS_GET_CONFIG,		/* GET  /Device/v1/{id}/GetConfig */
	FDMS_GET_STATUS,		/* GET  /Device/v1/{id}/GetStatus */
	FDMS_OPEN_DAY,			/* POST /Device/v1/{id}/OpenDay */
	FDMS_SUBMIT_RECEIPT,		/* POST /Device/v1/{id}/SubmitReceipt */
	FDMS_CLOSE_DAY,			/* POST /Device/v1/{id}/CloseDay */
	FDMS_ISSUE_CERT,		/* POST /Device/v1/{id}/IssueCertificate */
	FDMS_PING,			/* POST /Device/v1/{id}/Ping */
	FDMS_SUBMIT_FILE,		/* POST /Device/v1/{id}/SubmitFile */
	FDMS_FILE_LIST,			/* GET  /Device/v1/{id}/SubmittedFileList */
	FDMS_OP_COUNT
};

const char	*fdms_op_name(enum fdms_op);	/* "GetConfig" */
bool		 fdms_op_mtls(enum fdms_op);	/* needs the device certificate */

/* ---- requests ------------------------------------------------------ */

struct fdms_request {
	enum fdms_op	 op;
	struct buf	 target;	/* path and query */
	struct buf	 body;		/* empty: no body */
	char		 err[160];	/* why a builder refused */
};

struct fdms_open_day_args {
	bool		 has_day_no;	/* false: FDMS chooses */
	int64_t		 day_no;
	const char	*opened;	/* YYYY-MM-DDTHH:MM:SS, local */
};

struct fdms_close_day_args {
	int64_t			 day_no;
	const struct counters	*counters;	/* finished: no zeros, canonical order */
	const char		*hash, *signature;	/* base64 */
	int64_t			 receipt_counter;	/* last of the day, 0 if none */
};

struct fdms_file_query {
	const char	*from, *till;		/* YYYY-MM-DDTHH:MM:SS */
	int64_t		 offset, limit;
	const char	*operation_id;		/* NULL: all */
	const char	*sort, *order, *oper;	/* NULL: server default */
};

void	fdms_request_init(struct fdms_request *);
void	fdms_request_free(struct fdms_request *);

/* Builders: 0, or -1 with req->err set.  device_id is 1..2^31-1. */
int	fdms_req_verify_taxpayer(struct fdms_request *, int64_t device_id,
	    const char *activation_key, const char *serial_no);
int	fdms_req_register(struct fdms_request *, int64_t device_id,
	    const char *activation_key, const char *csr_pem);
/* thumbprint NULL: the active signing certificate. */
int	fdms_req_server_cert(struct fdms_request *, const char *thumbprint);
/* The requests without arguments: GetConfig, GetStatus, Ping. */
int	fdms_req_simple(struct fdms_request *, enum fdms_op, int64_t device_id);
int	fdms_req_open_day(struct fdms_request *, int64_t device_id,
	    const struct fdms_open_day_args *);
/*
 * wire[0..len) is the receipt object exactly as signed and journaled; it is
 * wrapped as {"receipt":<wire>} byte for byte, never re-serialised.
 */
int	fdms_req_submit_receipt(struct fdms_request *, int64_t device_id,
	    const char *wire, size_t len);
int	fdms_req_close_day(struct fdms_request *, int64_t device_id,
	    const struct fdms_close_day_args *);
int	fdms_req_issue_cert(struct fdms_request *, int64_t device_id,
	    const char *csr_pem);
int	fdms_req_submit_file(struct fdms_request *, int64_t device_id,
	    const char *file_json, size_t len);
int	fdms_req_file_list(struct fdms_request *, int64_t device_id,
	    const struct fdms_file_query *);

/* ---- results and errors -------------------------------------------- */

enum fdms_class {
	FDMS_OK = 0,
	FDMS_RETRY,
	FDMS_REJECTED,
	FDMS_LOCAL
};

enum fdms_fail {
	FDMS_FAIL_NONE = 0,
	FDMS_FAIL_LOCAL,	/* our arguments or configuration */
	FDMS_FAIL_CONNECT,	/* DNS, TCP: nothing was sent */
	FDMS_FAIL_TLS,		/* handshake or server verification */
	FDMS_FAIL_TIMEOUT,
	FDMS_FAIL_NETWORK,	/* connection dropped, send or receive error */
	FDMS_FAIL_HTTP,		/* an HTTP status other than 2xx */
	FDMS_FAIL_RESPONSE	/* 2xx with a body we cannot use, or too big */
};

/* ApiProblemDetails errorCode (fdms-reference §6.7). */
enum fdms_errcode {
	FDMS_EC_NONE = 0,
	FDMS_EC_DEV01, FDMS_EC_DEV02, FDMS_EC_DEV03,
	FDMS_EC_DEV04, FDMS_EC_DEV05, FDMS_EC_DEV06,
	FDMS_EC_RCPT01, FDMS_EC_RCPT02,
	FDMS_EC_FISC01, FDMS_EC_FISC03, FDMS_EC_FISC04,
	FDMS_EC_FILE01, FDMS_EC_FILE02, FDMS_EC_FILE03,
	FDMS_EC_FILE04, FDMS_EC_FILE05,
	FDMS_EC_OTHER		/* present but not one of these: see code_text */
};

/* One message of a 400 ValidationProblemDetails "errors" map. */
struct fdms_field_error {
	char	field[128];
	char	message[256];
};

struct fdms_result {
	enum fdms_class	 cls;
	enum fdms_fail	 fail;
	bool		 in_doubt;	/* may have reached FDMS: resend same bytes */
	long		 http_status;	/* 0: no HTTP answer */
	int		 transport_code;	/* CURLcode, 0: none */
	enum fdms_errcode code;
	char		 code_text[16];	/* errorCode as sent (printable) */
	char		 title[128];
	char		 detail[512];
	char		 operation_id[FDMS_OPID_MAX + 1];
	long		 retry_after_s;	/* -1: no Retry-After */
	size_t		 n_errors, errors_dropped;
	struct fdms_field_error errors[FDMS_FIELD_ERRORS_MAX];
	char		 message[256];	/* one line for people and logs */
};

const char	*fdms_class_name(enum fdms_class);	/* "retry" */
const char	*fdms_fail_name(enum fdms_fail);
const char	*fdms_errcode_name(enum fdms_errcode);	/* "DEV01", "" */

/* ---- replies ------------------------------------------------------- */

struct fdms_address {
	const char	*province, *city, *street, *house_no, *district;
};

struct fdms_contacts {
	const char	*phone_no, *email;
};

/* SignatureData(Ex); NULL members: absent. */
struct fdms_sigdata {
	const char	*hash, *signature, *thumbprint;
};

/* VerifyTaxpayerInformation; also the taxpayer part of GetConfig. */
struct fdms_taxpayer {
	const char		*name, *tin;
	bool			 is_vat_payer;	/* vatNumber present, not null, not "" */
	const char		*vat_number;	/* NULL unless is_vat_payer */
	const char		*branch_name;
	bool			 has_branch_address, has_branch_contacts;
	struct fdms_address	 branch_address;
	struct fdms_contacts	 branch_contacts;
};

struct fdms_tax {
	int64_t		 tax_id;
	bool		 has_percent;	/* false: exempt */
	int32_t		 percent;	/* hundredths */
	const char	*name;
	const char	*valid_from, *valid_till;	/* NULL: absent */
};

enum fdms_mode {
	FDMS_MODE_UNKNOWN = 0,
	FDMS_MODE_ONLINE,
	FDMS_MODE_OFFLINE
};

#define FDMS_MAX_TAXES	256

struct fdms_config {
	struct fdms_taxpayer	 taxpayer;
	const char		*device_serial_no;
	enum fdms_mode		 mode;
	bool			 has_day_max_hrs, has_day_end_notification_hrs;
	int64_t			 day_max_hrs;
	int64_t			 day_end_notification_hrs;
	struct fdms_tax		*taxes;
	size_t			 n_taxes;
	const char		*certificate_valid_till;
	const char		*qr_url;
};

enum fdms_day_status {
	FDMS_DAY_UNKNOWN = 0,
	FDMS_DAY_CLOSED,
	FDMS_DAY_OPENED,
	FDMS_DAY_CLOSE_INITIATED,
	FDMS_DAY_CLOSE_FAILED
};

enum fdms_recon {
	FDMS_RECON_NONE = 0,
	FDMS_RECON_AUTO,
	FDMS_RECON_MANUAL
};

enum fdms_close_error {
	FDMS_CLOSE_ERR_NONE = 0,
	FDMS_CLOSE_ERR_BAD_SIGNATURE,	/* BadCertificateSignature */
	FDMS_CLOSE_ERR_MISSING_RECEIPTS,
	FDMS_CLOSE_ERR_RECEIPT_ERRORS,	/* ReceiptsWithValidationErrors */
	FDMS_CLOSE_ERR_COUNTERS_MISMATCH,
	FDMS_CLOSE_ERR_INTERNAL,
	FDMS_CLOSE_ERR_OTHER
};

struct fdms_doc_quantity {
	enum receipt_type	 type;
	char			 currency[4];
	int64_t			 quantity;
	int64_t			 total;		/* cents */
};

#define FDMS_MAX_COUNTERS	COUNTERS_MAX

struct fdms_status {
	enum fdms_day_status	 day_status;
	enum fdms_recon		 recon;
	bool			 has_server_signature;
	struct fdms_sigdata	 server_signature;
	const char		*day_closed;		/* NULL: absent */
	enum fdms_close_error	 closing_error;
	const char		*closing_error_text;	/* as sent, NULL: absent */
	struct counter		*counters;	/* fiscalDayCounter(s) */
	size_t			 n_counters;
	size_t			 counters_unknown;	/* types we do not know, skipped */
	struct fdms_doc_quantity *docs;
	size_t			 n_docs;
	bool			 has_last_global_no, has_last_day_no;
	int64_t			 last_global_no, last_day_no;
};

/* A receipt validation error (SubmitReceipt, SubmittedFileList). */
struct fdms_verr {
	const char	*code;		/* RCPT0nn */
	enum colour	 colour;	/* COLOUR_NONE: absent or unknown */
	const char	*colour_text;
	const char	*description;
};

struct fdms_submitted {
	int64_t			 receipt_id;
	const char		*server_date;
	struct fdms_sigdata	 server_signature;
	struct fdms_verr	*verrs;
	size_t			 n_verrs;
};

struct fdms_server_cert {
	const char	**chain;	/* PEM, leaf first */
	size_t		  n_chain;
	const char	 *valid_till;
};

enum fdms_file_status {
	FDMS_FILE_UNKNOWN = 0,
	FDMS_FILE_IN_PROGRESS,		/* InProgress, FileProcessingInProgress */
	FDMS_FILE_SUCCESSFUL,		/* CompleteSuccessful, FileProcessingIsSuccessful */
	FDMS_FILE_WITH_ERRORS,		/* FailedWithErrors, FileProcessingWithErrors */
	FDMS_FILE_WAITING		/* WaitingForPreviousFile */
};

struct fdms_file_invoice {
	bool			 has_receipt_counter, has_global_no;
	int64_t			 receipt_counter, global_no;
	struct fdms_verr	*verrs;
	size_t			 n_verrs;
};

struct fdms_file_row {
	const char		*file_name, *upload_date, *day_opened_at;
	const char		*processing_date, *processing_error;
	const char		*operation_id, *ip_address;
	bool			 has_device_id, has_day_no, has_file_sequence;
	int64_t			 device_id, day_no, file_sequence;
	enum fdms_file_status	 status;
	const char		*status_text;
	bool			 has_footer;
	struct fdms_file_invoice *invoices;
	size_t			 n_invoices;
};

struct fdms_file_list {
	int64_t			 total;
	struct fdms_file_row	*rows;
	size_t			 n_rows;
};

struct fdms_reply {
	enum fdms_op		 op;
	struct fdms_result	 res;
	struct arena		*arena;		/* every string below */
	union {
		struct fdms_taxpayer	 taxpayer;	/* VerifyTaxpayerInformation */
		const char		*certificate;	/* RegisterDevice, IssueCertificate */
		struct fdms_server_cert	 server_cert;
		struct fdms_config	 config;
		struct fdms_status	 status;
		int64_t			 day_no;	/* OpenDay */
		struct fdms_submitted	 submitted;	/* SubmitReceipt */
		int64_t			 reporting_frequency;	/* Ping, minutes */
		struct fdms_file_list	 files;
	} u;	/* valid when res.cls == FDMS_OK */
};

void	fdms_reply_init(struct fdms_reply *, enum fdms_op);
void	fdms_reply_free(struct fdms_reply *);

/*
 * What the transport saw.  transport_fail NONE means an HTTP answer
 * arrived in full (status, body, headers); otherwise no usable answer and
 * `sent` says whether request bytes may have left this host.
 */
struct fdms_raw {
	enum fdms_fail	 transport_fail;
	bool		 sent;
	int		 transport_code;
	const char	*transport_msg;
	long		 status;
	const char	*body;
	size_t		 body_len;
	const char	*operation_id;	/* operationId header, NULL: none */
	long		 retry_after_s;	/* -1: none */
};

/* Classify raw and, on 2xx, parse the body into reply (fresh, init'ed). */
void	fdms_decode(enum fdms_op, const struct fdms_raw *, struct fdms_reply *);

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)], attempt from 0. */
uint32_t fdms_backoff_ms(unsigned attempt, uint64_t rnd);
/* Delay before retrying after res: the backoff, but never below Retry-After. */
uint32_t fdms_retry_delay_ms(const struct fdms_result *, unsigned attempt,
	    uint64_t rnd);

/* ---- transport ----------------------------------------------------- */

struct fdms_client_opts {
	const char	*base_url;	/* https://host[:port][/prefix] */
	const char	*ca_file;	/* NULL: the system trust store */
	long		 connect_timeout_ms;	/* 0: FDMS_CONNECT_TIMEOUT_MS */
	long		 timeout_ms;		/* 0: FDMS_TIMEOUT_MS */
	bool		 allow_http;	/* development only: permit http:// */
	size_t		 max_body;	/* 0: FDMS_MAX_BODY */
};

/* Device certificate and private key, held in memory only, wiped on free. */
struct fdms_identity;

struct fdms_identity *fdms_identity_new(const char *cert_pem, size_t len,
	    const struct sigkey *key, char *err, size_t errlen);
void	fdms_identity_free(struct fdms_identity *);

struct fdms_device {
	const char			*name;		/* for logs, may be NULL */
	const char			*model_name;	/* DeviceModelName */
	const char			*model_version;	/* DeviceModelVersion */
	const struct fdms_identity	*identity;	/* NULL: no client cert */
};

struct fdms_client;

struct fdms_client *fdms_client_new(const struct fdms_client_opts *,
	    char *err, size_t errlen);
/* Aborts calls in flight; their replies are lost. */
void	fdms_client_free(struct fdms_client *);

/*
 * Start req for dev (the identity must outlive the call).  req's buffers
 * move into the call (req is left initialised).  Every started call ends
 * in fdms_take_done, refusals (FDMS_LOCAL) included.  -1: out of memory.
 */
int	fdms_start(struct fdms_client *, const struct fdms_device *,
	    struct fdms_request *req, void *udata);
/* Sockets to poll (fills at most max, returns how many there are). */
size_t	fdms_pollfds(struct fdms_client *, struct pollfd *, size_t max);
/* Milliseconds until fdms_perform is due without socket activity; -1. */
int	fdms_timeout_ms(struct fdms_client *);
/* Progress: pfd may hold other fds too; only ours are looked at. */
void	fdms_perform(struct fdms_client *, const struct pollfd *, size_t n);
/* 1 and a finished call's reply (caller frees) and udata, or 0. */
int	fdms_take_done(struct fdms_client *, struct fdms_reply *out,
	    void **udata);
size_t	fdms_in_flight(const struct fdms_client *);
/* Blocking: start, drive until this call is done; returns out->res.cls. */
enum fdms_class fdms_call(struct fdms_client *, const struct fdms_device *,
	    struct fdms_request *req, struct fdms_reply *out);

#endif
