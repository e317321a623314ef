/*
 * document.h - one receipt document from bytes to model: format detection,
 * hardened parse, schema validation, model building.
 *
 * This is the single entry used by the daemon's pipeline and by spoolctl
 * inspect, so both judge a file the same way. Error stages follow the
 * error-file contract (interface.md §3): "parse", "schema", "validate".
 */
#ifndef IO_DOCUMENT_H
#define IO_DOCUMENT_H

#include <stddef.h>

struct findings;
struct receipt;
struct jschema;
struct xsd;

#define DOC_MAX_SIZE	(1024 * 1024)

enum doc_format {
	DOC_AUTO = 0,
	DOC_JSON,
	DOC_XML
};

struct doc_schemas {
	struct jschema	*json;
	struct xsd	*xml;
};

/*
 * The schema directory: $SPOOLD_SCHEMA_DIR, else ./schemas when it holds
 * receipt.schema.json, else the installed one (SPOOLD_SCHEMA_DIR at build).
 */
const char	*doc_schema_dir(void);
int		 doc_schemas_load(struct doc_schemas *, const char *dir,
		    char *err, size_t errlen);
void		 doc_schemas_free(struct doc_schemas *);

/* By extension (.json/.xml), else by the first non-blank byte. */
enum doc_format	 doc_detect(const char *name, const char *buf, size_t len);

/*
 * Parse, validate against the schema of the format (when s has one) and
 * build the model. On failure returns NULL, sets *stage and adds findings.
 * keep_going: build the model even when the schema refused the document
 * (spoolctl inspect shows everything at once); *stage is still "schema".
 */
struct receipt	*doc_read(const char *buf, size_t len, enum doc_format fmt,
		    const struct doc_schemas *s, int keep_going,
		    struct findings *f, const char **stage);

#endif
