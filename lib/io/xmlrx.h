/*
 * xmlrx.h - untrusted XML in: libxml2 (Debian 12: 2.9.14), hardened, into
 * the same cJSON tree jsonrx builds.
 *
 * xmlrx_parse() refuses anything beyond plain elements and text (DOCTYPE,
 * entities, processing instructions, attributes, namespaces, nesting past
 * XMLRX_MAX_DEPTH, anything but UTF-8), validates against the XSD when one
 * is given, and converts <receipt> into the receipt object: list elements
 * become arrays, numbers become jsonrx_number_node()s carrying their exact
 * text, xs:boolean becomes true/false, the rest strings. receipt_from_tree()
 * then reads either format alike.
 *
 * Process-wide side effect: the first call of xsd_load() or xmlrx_parse()
 * installs an external entity loader that refuses everything. From then on
 * nothing in this process can make libxml2 open a file or URL by name
 * (xmlReadFile and friends fail): read files yourself and parse memory.
 */
#ifndef IO_XMLRX_H
#define IO_XMLRX_H

#include <stddef.h>

#include <cJSON.h>

struct findings;
struct xsd;

#define XMLRX_MAX_SIZE		(1024 * 1024)
#define XMLRX_MAX_DEPTH		32

/*
 * Load and compile the XSD at path (a trusted local file; includes and
 * imports are refused by the loader). NULL on failure with the reason in
 * err. The result is read-only and may be shared by any number of parses.
 */
struct xsd	*xsd_load(const char *path, char *err, size_t errlen);
void		 xsd_free(struct xsd *);

/*
 * Parse buf[0..len). On success returns the receipt object (free with
 * cJSON_Delete). On failure NULL and findings: TOO_LARGE (len > max_size),
 * PARSE (not well-formed, not UTF-8, or a refused construct; the message
 * starts "line N:"), SCHEMA (XSD-invalid, or outside the format when
 * schema is NULL; path in our JSON style, "receiptLines[0].receiptTotal").
 */
cJSON		*xmlrx_parse(const char *buf, size_t len, size_t max_size,
		    const struct xsd *schema, struct findings *f);

#endif
