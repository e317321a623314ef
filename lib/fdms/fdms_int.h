/*
 * fdms_int.h - shared by the lib/fdms/ sources only; not an API.
 *
 * The endpoint table, the JSON writer our request bodies are built with
 * (numbers always from integers, strings escaped, output valid UTF-8), the
 * defensive JSON reader every FDMS answer goes through, and the two
 * classification steps fdms_decode() is made of.
 */
#ifndef FDMS_FDMS_INT_H
#define FDMS_FDMS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "fdms/fdms.h"

struct arena;
struct buf;

struct fdms_opinfo {
	const char	*name;		/* path component */
	const char	*method;	/* "GET" / "POST" */
	bool		 mtls;		/* /Device/v1, client certificate */
	const char	*ctype;		/* request Content-Type, NULL: no body */
};

const struct fdms_opinfo *fdms_opinfo(enum fdms_op);

/* ---- JSON out (fdms_json.c) ---- */

/* "s" escaped; -1 if s is not UTF-8 or the buffer is full. */
int	jw_str(struct buf *, const char *s);
/* ,"key": (the comma unless *first; clears *first). */
int	jw_key(struct buf *, bool *first, const char *key);
int	jw_kstr(struct buf *, bool *first, const char *key, const char *s);
int	jw_kint(struct buf *, bool *first, const char *key, int64_t v);
/* A fixed-point value with `decimals` places, printed from the integer. */
int	jw_kfix(struct buf *, bool *first, const char *key, int64_t v,
	    int decimals);
/* Micro-units with trailing zeros trimmed to at least two decimals. */
int	jw_kmicro(struct buf *, bool *first, const char *key, int64_t v);

/* ---- JSON in (fdms_json.c) ---- */

struct jr {
	struct arena	*a;		/* where strings go */
	char		 where[96];	/* path prefix for messages */
	char		 err[256];	/* first problem */
	bool		 bad;
};

cJSON	*jr_parse(const char *body, size_t len, size_t max, char *err,
	    size_t errlen);
void	 jr_fail(struct jr *, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Member by exact name, else by case-insensitive name (.NET), else NULL. */
const cJSON *jr_member(const cJSON *obj, const char *name);
/* Present and not null. */
const cJSON *jr_get(const cJSON *obj, const char *name);
/*
 * Getters: absent or null is "absent" (NULL / 0 returned; an error when
 * required); a present value of the wrong type or out of range is an
 * error.  Integer getters return 1 present, 0 absent, -1 error.
 */
const char *jr_str(struct jr *, const cJSON *obj, const char *name,
	    bool required, size_t maxlen);
int	 jr_int(struct jr *, const cJSON *obj, const char *name, bool required,
	    int64_t min, int64_t max, int64_t *out);
int	 jr_cents(struct jr *, const cJSON *obj, const char *name,
	    bool required, int64_t *out);
int	 jr_percent(struct jr *, const cJSON *obj, const char *name,
	    bool required, int32_t *out);
int	 jr_bool(struct jr *, const cJSON *obj, const char *name,
	    bool required, bool *out);
/*
 * An enum sent as its name (any case) or its index in names[]; 1 and *out
 * set, 0 absent, -1 wrong type, 2 a string not in names[] (*text keeps it).
 */
int	 jr_enum(struct jr *, const cJSON *obj, const char *name,
	    const char *const *names, size_t n, int *out, const char **text);
/* An object member (NULL: absent); wrong type is an error. */
const cJSON *jr_obj(struct jr *, const cJSON *obj, const char *name,
	    bool required);
/* An array member and its size, capped at max. */
const cJSON *jr_arr(struct jr *, const cJSON *obj, const char *name,
	    bool required, size_t max, size_t *n);
/* Percent literal rounded half-even to hundredths (GetConfig may send more). */
int	 fdms_parse_percent(const char *text, int32_t *out);

/* Copy untrusted text into a fixed buffer: control bytes become '?', the
 * cut never splits a UTF-8 sequence. */
void	 fdms_copy_text(char *dst, size_t len, const char *src);

/* ---- classification (fdms_error.c) ---- */

void	 fdms_classify_transport(struct fdms_result *, const struct fdms_raw *);
void	 fdms_classify_http(struct fdms_result *, const struct fdms_raw *);
enum fdms_errcode fdms_errcode_parse(const char *);

/* ---- transport (fdms_http.c) ---- */

/* CURLcode -> what kind of failure (pure, for tests). */
enum fdms_fail fdms_curl_fail(int curlcode);

#endif
