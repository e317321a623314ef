/*
 * jsonrx.h - untrusted JSON in: cJSON with the guarantees cJSON lacks.
 *
 * cJSON alone accepts duplicate keys, keeps numbers only as double and
 * recurses up to 1000 levels. jsonrx_parse() first lexes the text itself
 * (size cap, UTF-8 validity, nesting depth, number literal grammar), then
 * lets cJSON build the tree, then rejects duplicate member names and attaches
 * to every number node the exact source literal as `valuestring` (cJSON_Delete
 * frees it). Readers take amounts from that literal, never from valuedouble.
 *
 * The XML reader builds the same kind of tree (jsonrx_number_node), so one
 * model builder serves both formats.
 */
#ifndef IO_JSONRX_H
#define IO_JSONRX_H

#include <stddef.h>

#include <cJSON.h>

struct findings;

#define JSONRX_MAX_SIZE		(1024 * 1024)
#define JSONRX_MAX_DEPTH	32

/*
 * Parse buf[0..len). On success returns the tree (free with cJSON_Delete);
 * on failure NULL with one finding (code PARSE or TOO_LARGE, path where the
 * problem is, message with the byte offset).
 */
cJSON	*jsonrx_parse(const char *buf, size_t len, size_t max_size,
	    struct findings *f);

/* A number node carrying its literal (valuedouble from strtod, C locale). */
cJSON	*jsonrx_number_node(const char *literal, size_t len);

/* The literal of a number node: valuestring when attached, else NULL. */
const char *jsonrx_number_text(const cJSON *);

#endif
