/*
 * findings.c - bounded list of rule violations (see findings.h).
 */
#include "fiscal/findings.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* fdms-reference §6.6; codes not listed are Red. */
static const struct {
	const char	*code;
	enum colour	 colour;
} yellow_grey[] = {
	{ "RCPT014", COLOUR_YELLOW },
	{ "RCPT031", COLOUR_YELLOW },
	{ "RCPT041", COLOUR_YELLOW },
};

void
findings_clear(struct findings *f)
{
	f->n = 0;
	f->dropped = 0;
}

static void vadd(struct findings *, const char *, enum colour, const char *,
    const char *, va_list) __attribute__((format(printf, 5, 0)));

static void
vadd(struct findings *f, const char *code, enum colour c, const char *path,
    const char *fmt, va_list ap)
{
	struct finding *x;

	if (f->n >= FINDINGS_MAX) {
		f->dropped++;
		return;
	}
	x = &f->v[f->n++];
	snprintf(x->code, sizeof(x->code), "%s", code);
	x->colour = c;
	snprintf(x->path, sizeof(x->path), "%s", path ? path : "");
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
}

void
findings_add(struct findings *f, const char *code, enum colour c,
    const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(f, code, c, path, fmt, ap);
	va_end(ap);
}

void
findings_rcpt(struct findings *f, const char *code, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(f, code, rcpt_colour(code), path, fmt, ap);
	va_end(ap);
}

int
findings_has(const struct findings *f, const char *code)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].code, code) == 0)
			return 1;
	return 0;
}

enum colour
rcpt_colour(const char *code)
{
	size_t i;

	if (strncmp(code, "RCPT", 4) != 0 || strlen(code) != 7)
		return COLOUR_NONE;
	for (i = 0; i < sizeof(yellow_grey) / sizeof(yellow_grey[0]); i++)
		if (strcmp(yellow_grey[i].code, code) == 0)
			return yellow_grey[i].colour;
	return COLOUR_RED;
}

const char *
colour_name(enum colour c)
{
	switch (c) {
	case COLOUR_GREY:	return "Grey";
	case COLOUR_YELLOW:	return "Yellow";
	case COLOUR_RED:	return "Red";
	case COLOUR_NONE:	break;
	}
	return NULL;
}

const char *
findings_safe_text(const char *s, char *buf, size_t len)
{
	size_t i, n = 0;

	if (len == 0)
		return "";
	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && n + 4 < len && i < FINDINGS_TEXT_MAX; i++)
		buf[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0' && n + 3 < len)
		for (i = 0; i < 3; i++)
			buf[n++] = '.';
	buf[n] = '\0';
	return buf;
}
