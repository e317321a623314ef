/*
 * findings.h - what is wrong with a document, in FDMS's own terms.
 *
 * A finding carries the FDMS rule code where one exists (RCPT010..RCPT048,
 * or a stable code of ours: PARSE, SCHEMA, TOO_LARGE, ...), FDMS's colour for
 * that code, the JSON path of the offending value ("receiptLines[0].
 * receiptLineTotal", array indexes 0-based) and a message for people.
 * The list is bounded: past FINDINGS_MAX only `dropped` grows, so a hostile
 * document cannot make us allocate without limit.
 */
#ifndef FISCAL_FINDINGS_H
#define FISCAL_FINDINGS_H

#include <stddef.h>

#define FINDINGS_MAX	64

enum colour {
	COLOUR_NONE = 0,	/* not an FDMS validation code */
	COLOUR_GREY,
	COLOUR_YELLOW,
	COLOUR_RED
};

struct finding {
	char		code[24];
	enum colour	colour;
	char		path[128];
	char		message[256];
};

struct findings {
	size_t		n, dropped;
	struct finding	v[FINDINGS_MAX];
};

void		 findings_clear(struct findings *);
void		 findings_add(struct findings *, const char *code, enum colour,
		    const char *path, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
/* Same, with the colour FDMS gives `code` (fdms-reference §6.6). */
void		 findings_rcpt(struct findings *, const char *code,
		    const char *path, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
int		 findings_has(const struct findings *, const char *code);
enum colour	 rcpt_colour(const char *code);
const char	*colour_name(enum colour);	/* "Red", "Yellow", "Grey", NULL */
/*
 * Untrusted text quoted in a message: printable ASCII only (others become
 * '?'), at most FINDINGS_TEXT_MAX characters, "..." when cut. Returns buf.
 */
#define FINDINGS_TEXT_MAX	40
const char	*findings_safe_text(const char *s, char *buf, size_t len);

#endif
