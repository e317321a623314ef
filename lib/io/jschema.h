/*
 * jschema.h - JSON Schema draft-07 validation over cJSON.
 *
 * A schema is compiled once (jschema_compile / jschema_load_file): keywords
 * are checked, patterns are compiled, local $refs are resolved and $ref
 * loops that would never consume the instance are refused. The compiled
 * schema is immutable, so one may be shared by threads that validate
 * concurrently.
 *
 * Validation reports into a struct findings: code "SCHEMA", COLOUR_NONE,
 * the instance path ("receiptLines[0].receiptLineTotal", "" for the root)
 * and a message that names the keyword and what it expected.
 *
 * Not implemented, by design: "format" (annotation only, never asserted),
 * remote $refs (any $ref outside the schema document is refused at compile
 * time), draft-04 boolean exclusiveMaximum/exclusiveMinimum (refused).
 */
#ifndef IO_JSCHEMA_H
#define IO_JSCHEMA_H

#include <stddef.h>

#include <cJSON.h>

struct findings;
struct jschema;

/* Schema document nesting limit, and instance depth at which we stop. */
#define JSCHEMA_MAX_DEPTH	64

/*
 * Deep-copies what it needs from `schema` (the caller keeps ownership).
 * NULL with a message in err on an invalid or unsupported schema.
 */
struct jschema	*jschema_compile(const cJSON *schema, char *err, size_t errlen);
struct jschema	*jschema_load_file(const char *path, char *err, size_t errlen);
void		 jschema_free(struct jschema *);

/*
 * 0 valid; 1 invalid (findings added); -1 internal error (out of memory,
 * regexec failure). Number nodes carrying their source literal in
 * valuestring are judged exactly on that literal.
 */
int		 jschema_validate(const struct jschema *, const cJSON *instance,
		    struct findings *f);

/* The implemented keywords, NULL-terminated. */
extern const char *const jschema_keywords[];

#endif
