/*
 * xmlrx.c - untrusted XML in (see xmlrx.h).
 *
 * Purpose: read a POS's <receipt> document with libxml2 2.9.14 (Debian 12)
 * without letting the document make libxml2 do anything but build a small
 * element tree, check it against receipt.xsd, and hand receipt_tree the
 * same cJSON shape the JSON reader produces.
 *
 * SECURITY. We trust: libxml2's tokenizer for well-formedness, the XSD file
 * (root-owned, loaded once), our own element table. We distrust: every
 * byte of the document. The defences, in the order a document meets them:
 *   1. Size cap before anything reads the buffer (TOO_LARGE).
 *   2. Our own byte scan: UTF-8 only (no other BOM, no NUL, strict UTF-8:
 *      no overlongs, no surrogates), and an encoding declaration, if any,
 *      must say UTF-8. libxml2 would otherwise switch decoders on the
 *      document's say-so, and what we validate must be what was written.
 *   3. Parser options NONET | NOBLANKS only (plus NO_XXE from 2.13). Never
 *      NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE, HUGE or RECOVER
 *      (anchors.md B.6).
 *   4. SAX hooks on our private parser context: the DOCTYPE callback stops
 *      the parser before a single byte of the internal subset is read, so
 *      entity declarations (billion laughs, XXE, parameter entities) are
 *      never even parsed, let alone expanded; entity references,
 *      processing instructions and nesting deeper than XMLRX_MAX_DEPTH stop
 *      it too. A stopped parse is refused even if libxml2 hands back a doc.
 *   5. A deny-all external entity loader, installed once per process: even
 *      a libxml2 code path we did not foresee cannot open a file or URL.
 *   6. After the parse: no DTD node, no attribute (xsi:type, xsi:nil and
 *      xsi:schemaLocation would change what the XSD checks), no namespace,
 *      only elements, text, CDATA and comments.
 *   7. XSD validation, then conversion driven by one table, which re-checks
 *      the shape on its own so a NULL schema (fuzzers) stays safe.
 * Every libxml2 message goes to our structured handlers and becomes a
 * finding; for the duration of a call the thread's generic and structured
 * error channels are silenced, so nothing reaches stderr.
 *
 * Invariants:
 *   - The tree handed to the converter is at most XMLRX_MAX_DEPTH deep, so
 *     its recursion is bounded.
 *   - A number node's literal is the element's text minus only the XML
 *     blanks that xs:decimal's whitespace="collapse" allows around it.
 *   - xmlrx_parse returns a tree only when no finding was added by it.
 */
#include "io/xmlrx.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlversion.h>

#include "fiscal/findings.h"
#include "io/jsonrx.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/utf8.h"

#define XSD_MAX_SIZE	(1024 * 1024)

/* libxml2 2.12 made the error argument const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError	*xerr_t;
#else
typedef xmlErrorPtr	 xerr_t;
#endif

struct xsd {
	xmlSchemaPtr	 schema;
};

/* State of one xmlrx_parse call; reached from libxml2 callbacks. */
struct rx {
	struct findings	*f;
	int		 refused;	/* a SAX hook stopped the parse */
	int		 failed;	/* a finding was added */
	int		 depth;
};

/* Set for the duration of xmlrx_parse on this thread. */
static _Thread_local struct rx *rx_current;

/* ---------------------------------------------------------------------- */
/* The element table: the whole XML <-> JSON mapping.                      */

enum kind {
	K_ROOT,		/* <receipt>: an object, at the top only */
	K_OBJECT,	/* element children -> object members */
	K_LIST,		/* repeated `item` children -> array */
	K_ITEM,		/* an object, only inside its list */
	K_STRING,	/* text, as is */
	K_NUMBER,	/* xs:decimal text -> number node with that literal */
	K_BOOL		/* xs:boolean -> true/false */
};

struct elem {
	const char	*name;
	enum kind	 kind;
	const char	*item;		/* K_LIST: the item element */
};

/*
 * Names are unique across contexts with one kind each (taxID is an integer
 * in lines and taxes alike), so one flat table serves; the XSD decides where
 * each may appear.
 */
static const struct elem elems[] = {
	{ "receipt",			K_ROOT,   NULL },
	{ "receiptType",		K_STRING, NULL },
	{ "receiptCurrency",		K_STRING, NULL },
	{ "receiptCounter",		K_NUMBER, NULL },
	{ "receiptGlobalNo",		K_NUMBER, NULL },
	{ "invoiceNo",			K_STRING, NULL },
	{ "buyerData",			K_OBJECT, NULL },
	{ "buyerRegisterName",		K_STRING, NULL },
	{ "buyerTradeName",		K_STRING, NULL },
	{ "buyerTIN",			K_STRING, NULL },
	{ "vatNumber",			K_STRING, NULL },
	{ "buyerContacts",		K_OBJECT, NULL },
	{ "phoneNo",			K_STRING, NULL },
	{ "email",			K_STRING, NULL },
	{ "buyerAddress",		K_OBJECT, NULL },
	{ "province",			K_STRING, NULL },
	{ "city",			K_STRING, NULL },
	{ "street",			K_STRING, NULL },
	{ "houseNo",			K_STRING, NULL },
	{ "district",			K_STRING, NULL },
	{ "receiptNotes",		K_STRING, NULL },
	{ "receiptDate",		K_STRING, NULL },
	{ "creditDebitNote",		K_OBJECT, NULL },
	{ "receiptID",			K_NUMBER, NULL },
	{ "deviceID",			K_NUMBER, NULL },
	{ "fiscalDayNo",		K_NUMBER, NULL },
	{ "receiptLinesTaxInclusive",	K_BOOL,   NULL },
	{ "receiptLines",		K_LIST,   "receiptLine" },
	{ "receiptLine",		K_ITEM,   NULL },
	{ "receiptLineType",		K_STRING, NULL },
	{ "receiptLineNo",		K_NUMBER, NULL },
	{ "receiptLineHSCode",		K_STRING, NULL },
	{ "receiptLineName",		K_STRING, NULL },
	{ "receiptLinePrice",		K_NUMBER, NULL },
	{ "receiptLineQuantity",	K_NUMBER, NULL },
	{ "receiptLineTotal",		K_NUMBER, NULL },
	{ "taxCode",			K_STRING, NULL },
	{ "taxPercent",			K_NUMBER, NULL },
	{ "taxID",			K_NUMBER, NULL },
	{ "receiptTaxes",		K_LIST,   "receiptTax" },
	{ "receiptTax",			K_ITEM,   NULL },
	{ "taxAmount",			K_NUMBER, NULL },
	{ "salesAmountWithTax",		K_NUMBER, NULL },
	{ "receiptPayments",		K_LIST,   "receiptPayment" },
	{ "receiptPayment",		K_ITEM,   NULL },
	{ "moneyTypeCode",		K_STRING, NULL },
	{ "paymentAmount",		K_NUMBER, NULL },
	{ "receiptTotal",		K_NUMBER, NULL },
	{ "receiptPrintForm",		K_STRING, NULL },
	{ "receiptDeviceSignature",	K_OBJECT, NULL },
	{ "hash",			K_STRING, NULL },
	{ "signature",			K_STRING, NULL },
};

static const struct elem *
elem_lookup(const xmlChar *name)
{
	size_t i;

	for (i = 0; i < sizeof(elems) / sizeof(elems[0]); i++)
		if (strcmp(elems[i].name, (const char *)name) == 0)
			return &elems[i];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Findings.                                                               */

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static void
utf8_clip(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

static void add(struct findings *, const char *, const char *, const char *,
    ...) __attribute__((format(printf, 4, 5)));

/*
 * Every finding of this module goes through here: libxml2's messages carry
 * document text, and a message cut inside a UTF-8 sequence would make the
 * error file itself invalid.
 */
static void
add(struct findings *f, const char *code, const char *path,
    const char *fmt, ...)
{
	/* Twice the room, so the cut is ours, at a character boundary. */
	char msg[2 * sizeof(((struct finding *)0)->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_clip(msg, sizeof(((struct finding *)0)->message) - 1);
	findings_add(f, code, COLOUR_NONE, path, "%s", msg);
}

/*
 * Whether another finding would be kept. Past FINDINGS_MAX a finding only
 * bumps `dropped`, so we skip the work of building it: a hostile document
 * with 100,000 bad elements must not cost 100,000 path computations, each
 * linear in the number of siblings.
 */
static int
room(const struct findings *f)
{
	return f->n < FINDINGS_MAX;
}

static void
drop(struct findings *f, const char *code)
{
	findings_add(f, code, COLOUR_NONE, "", "%s", "");
}

/* libxml2 messages end in "\n"; keep the text only. */
static void
chomp(char *dst, size_t len, const char *msg)
{
	size_t n;

	snprintf(dst, len, "%s", msg != NULL ? msg : "error");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r' ||
	    dst[n - 1] == ' '))
		dst[--n] = '\0';
}

/*
 * Our JSON-style path of an element: list items by 0-based index, the
 * <receipt> root left out ("receiptLines[0].receiptLineTotal").
 */
static void
node_path(const xmlNode *n, char *out, size_t len)
{
	const xmlNode *chain[XMLRX_MAX_DEPTH + 1];
	const xmlNode *s;
	const struct elem *pe;
	size_t depth = 0, used = 0, idx;
	int k;

	out[0] = '\0';
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->parent;
	for (; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent) {
		if (depth == sizeof(chain) / sizeof(chain[0]))
			return;
		chain[depth++] = n;
	}
	/* chain[depth - 1] is the root; start below it. */
	for (k = (int)depth - 2; k >= 0 && used < len; k--) {
		n = chain[k];
		pe = elem_lookup(n->parent->name);
		if (pe != NULL && pe->kind == K_LIST) {
			idx = 0;
			for (s = n->prev; s != NULL; s = s->prev)
				if (s->type == XML_ELEMENT_NODE)
					idx++;
			snprintf(out + used, len - used, "[%zu]", idx);
		} else
			snprintf(out + used, len - used, "%s%s",
			    used == 0 ? "" : ".", (const char *)n->name);
		used += strlen(out + used);
	}
}

/* ---------------------------------------------------------------------- */
/* libxml2 hooks.                                                          */

/*
 * One process-wide loader that refuses every external resource. libxml2
 * calls it for external DTDs, external entities and XSD includes; we never
 * want any of them.
 */
static xmlParserInputPtr
deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init_libxml(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(deny_loader);
}

static void
quiet_generic(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* Parse errors: the first one is the cause, the rest are its echoes. */
static void
on_parse_error(void *data, xerr_t e)
{
	struct rx *rx = rx_current;
	char msg[512];

	(void)data;
	if (rx == NULL || e == NULL || e->level < XML_ERR_ERROR ||
	    rx->refused || rx->failed)
		return;
	chomp(msg, sizeof(msg), e->message);
	add(rx->f, "PARSE", "", "line %d: %s", e->line, msg);
	rx->failed = 1;
}

/* XSD errors: every one is a separate fact about the document. */
static void
on_schema_error(void *data, xerr_t e)
{
	struct rx *rx = data;
	char msg[512], path[sizeof(((struct finding *)0)->path)];

	if (rx == NULL || e == NULL || e->level < XML_ERR_ERROR)
		return;
	rx->failed = 1;
	if (!room(rx->f)) {
		drop(rx->f, "SCHEMA");
		return;
	}
	chomp(msg, sizeof(msg), e->message);
	node_path(e->node, path, sizeof(path));
	add(rx->f, "SCHEMA", path, "line %d: %s", e->line, msg);
}

/*
 * Saved error channels of this thread. libxml2 sends a few messages to the
 * thread's generic channel (stderr by default) whatever the context says;
 * while we work, they go nowhere and anything structured reaches us.
 */
struct quiet {
	xmlGenericErrorFunc	 generic;
	void			*generic_ctx;
	xmlStructuredErrorFunc	 structured;
	void			*structured_ctx;
};

static void
quiet_begin(struct quiet *q)
{
	q->generic = xmlGenericError;
	q->generic_ctx = xmlGenericErrorContext;
	q->structured = xmlStructuredError;
	q->structured_ctx = xmlStructuredErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	xmlSetStructuredErrorFunc(NULL, on_parse_error);
}

static void
quiet_end(const struct quiet *q)
{
	xmlSetGenericErrorFunc(q->generic_ctx, q->generic);
	xmlSetStructuredErrorFunc(q->structured_ctx, q->structured);
}

/* Stop the parse for a construct we never accept. */
static void
refuse(void *ctx, const char *what)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct rx *rx = rx_current;

	if (rx != NULL && !rx->refused && !rx->failed) {
		add(rx->f, "PARSE", "", "line %d: %s",
		    ctxt->input != NULL ? ctxt->input->line : 0, what);
		rx->failed = 1;
	}
	if (rx != NULL)
		rx->refused = 1;
	xmlStopParser(ctxt);
}

static void
sax_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	(void)name;
	(void)ext_id;
	(void)sys_id;
	refuse(ctx, "a DOCTYPE is not allowed (no DTDs, no entities)");
}

static void
sax_external_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	(void)name;
	(void)ext_id;
	(void)sys_id;
	refuse(ctx, "an external DTD is not allowed");
}

static void
sax_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	refuse(ctx, "entity declarations are not allowed");
}

static void
sax_reference(void *ctx, const xmlChar *name)
{
	(void)name;
	refuse(ctx, "entity references are not allowed");
}

/* Only the five predefined entities (&lt; ...) exist. */
static xmlEntityPtr
sax_get_entity(void *ctx, const xmlChar *name)
{
	(void)ctx;
	return xmlGetPredefinedEntity(name);
}

static xmlEntityPtr
sax_get_parameter_entity(void *ctx, const xmlChar *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

static xmlParserInputPtr
sax_resolve_entity(void *ctx, const xmlChar *public_id,
    const xmlChar *system_id)
{
	(void)public_id;
	(void)system_id;
	refuse(ctx, "external entities are not allowed");
	return NULL;
}

static void
sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	(void)target;
	(void)data;
	refuse(ctx, "processing instructions are not allowed");
}

static void
sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct rx *rx = rx_current;

	/* Refuse before the node exists: the tree never gets deeper. */
	if (rx != NULL && ++rx->depth > XMLRX_MAX_DEPTH) {
		refuse(ctx, "elements nested deeper than 32 levels");
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces,
	    namespaces, nb_attributes, nb_defaulted, attributes);
}

static void
sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct rx *rx = rx_current;

	if (rx != NULL)
		rx->depth--;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static void
hook_sax(xmlSAXHandler *sax)
{
	sax->internalSubset = sax_internal_subset;
	sax->externalSubset = sax_external_subset;
	sax->entityDecl = sax_entity_decl;
	sax->reference = sax_reference;
	sax->getEntity = sax_get_entity;
	sax->getParameterEntity = sax_get_parameter_entity;
	sax->resolveEntity = sax_resolve_entity;
	sax->processingInstruction = sax_pi;
	sax->startElementNs = sax_start;
	sax->endElementNs = sax_end;
	sax->serror = on_parse_error;
}

/* ---------------------------------------------------------------------- */
/* Byte-level checks before libxml2 sees the document.                     */

static int
line_at(const unsigned char *s, size_t off)
{
	size_t i;
	int line = 1;

	for (i = 0; i < off; i++)
		if (s[i] == '\n' && line < INT_MAX)
			line++;
	return line;
}

static int
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The encoding pseudo-attribute of an XML declaration, if there is one,
 * must name UTF-8: the bytes were checked as UTF-8 and must be read so.
 */
static int
check_declared_encoding(const unsigned char *s, size_t n, struct findings *f)
{
	size_t i, end, start;
	char name[32];
	unsigned char q;

	if (n < 6 || memcmp(s, "<?xml", 5) != 0 || !is_blank(s[5]))
		return 0;
	for (end = 5; end + 1 < n && end < 512; end++)
		if (s[end] == '?' && s[end + 1] == '>')
			break;
	if (end + 1 >= n || end >= 512)
		return 0;	/* malformed; libxml2 will say so */
	for (i = 5; i + 8 <= end; i++)
		if (memcmp(s + i, "encoding", 8) == 0)
			break;
	if (i + 8 > end)
		return 0;
	for (i += 8; i < end && is_blank(s[i]); i++)
		;
	if (i >= end || s[i++] != '=')
		return 0;
	for (; i < end && is_blank(s[i]); i++)
		;
	if (i >= end || (s[i] != '"' && s[i] != '\''))
		return 0;
	q = s[i++];
	for (start = i; i < end && s[i] != q; i++)
		;
	snprintf(name, sizeof(name), "%.*s", (int)(i - start > 30 ? 30 :
	    i - start), (const char *)s + start);
	if (strcasecmp(name, "UTF-8") == 0 && i - start == 5)
		return 0;
	add(f, "PARSE", "", "line %d: encoding \"%s\" declared; only UTF-8 "
	    "is accepted", line_at(s, start), name);
	return -1;
}

static int
prescan(const unsigned char *s, size_t n, struct findings *f)
{
	size_t i = 0, k;

	if (n == 0) {
		add(f, "PARSE", "", "line 1: empty document");
		return -1;
	}
	if (n >= 2 && ((s[0] == 0xfe && s[1] == 0xff) ||
	    (s[0] == 0xff && s[1] == 0xfe))) {
		add(f, "PARSE", "", "line 1: UTF-16 byte order mark; only "
		    "UTF-8 is accepted");
		return -1;
	}
	if (n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		i = 3;
	if (check_declared_encoding(s + i, n - i, f) == -1)
		return -1;
	while (i < n) {
		if (s[i] == 0) {
			add(f, "PARSE", "", "line %d: NUL byte at offset %zu; "
			    "only UTF-8 is accepted", line_at(s, i), i);
			return -1;
		}
		if ((k = utf8_decode(s + i, n - i, NULL)) == 0) {
			add(f, "PARSE", "", "line %d: invalid UTF-8 at offset "
			    "%zu", line_at(s, i), i);
			return -1;
		}
		i += k;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The tree after parsing: only elements, text and comments.              */

/* Namespaces and attributes: not part of the format, reported per element. */
static void
report_foreign(const xmlNode *n, struct findings *f)
{
	char path[sizeof(((struct finding *)0)->path)];
	const xmlAttr *a;

	if (!room(f)) {
		drop(f, "SCHEMA");
		return;
	}
	node_path(n, path, sizeof(path));
	if (n->ns != NULL)
		add(f, "SCHEMA", path, "line %ld: element <%s> is in namespace "
		    "\"%s\"; the receipt format has none", xmlGetLineNo(n),
		    (const char *)n->name, (const char *)n->ns->href);
	for (a = n->properties; a != NULL; a = a->next)
		add(f, "SCHEMA", path, "line %ld: attribute \"%s\" on <%s>: "
		    "the receipt format has no attributes", xmlGetLineNo(n),
		    (const char *)a->name, (const char *)n->name);
}

static int
check_nodes(const xmlNode *n, struct findings *f)
{
	int bad = 0;

	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (n->ns != NULL || n->properties != NULL) {
				report_foreign(n, f);
				bad = 1;
			}
			if (check_nodes(n->children, f) == -1)
				bad = 1;
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
		case XML_COMMENT_NODE:
			break;
		default:
			/* DTD, entity, PI, XInclude: stopped earlier. */
			add(f, "PARSE", "", "line %ld: node type %d is not "
			    "allowed", xmlGetLineNo(n), (int)n->type);
			bad = 1;
			break;
		}
	}
	return bad ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Conversion to cJSON, driven by elems[].                                 */

struct conv {
	struct findings	*f;
	size_t		 max;	/* bound for one element's text */
};

/* Paths are hints for people: a path longer than a finding's is cut. */
static void
join(char *out, size_t len, const char *base, const char *name)
{
	int n = snprintf(out, len, "%s%s%s", base, base[0] == '\0' ? "" : ".",
	    name);

	if (n < 0)
		out[0] = '\0';
}

static void
join_index(char *out, size_t len, const char *base, size_t i)
{
	int n = snprintf(out, len, "%s[%zu]", base, i);

	if (n < 0)
		out[0] = '\0';
}

static int
all_blank(const xmlChar *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (!is_blank(*s))
			return 0;
	return 1;
}

/* The text of a leaf element: its text and CDATA, comments skipped. */
static int
leaf_text(struct conv *c, const xmlNode *n, const char *path, struct buf *b)
{
	const xmlNode *k;

	for (k = n->children; k != NULL; k = k->next) {
		if (k->type == XML_COMMENT_NODE)
			continue;
		if (k->type != XML_TEXT_NODE &&
		    k->type != XML_CDATA_SECTION_NODE) {
			add(c->f, "SCHEMA", path, "line %ld: <%s> holds a "
			    "value, not elements", xmlGetLineNo(k),
			    (const char *)n->name);
			return -1;
		}
		if (k->content != NULL &&
		    buf_adds(b, (const char *)k->content) == -1) {
			add(c->f, "SCHEMA", path, "line %ld: <%s> is too long",
			    xmlGetLineNo(n), (const char *)n->name);
			return -1;
		}
	}
	return 0;
}

/* JSON's number grammar without exponent: what xs:decimal and we share. */
static int
is_decimal(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i == n || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i] == '0')
		i++;
	else
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	if (i < n && s[i] == '.') {
		if (++i == n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

static cJSON *convert(struct conv *, const xmlNode *, const struct elem *,
    const char *);

static cJSON *
convert_leaf(struct conv *c, const xmlNode *n, const struct elem *e,
    const char *path)
{
	struct buf b;
	const char *s;
	size_t len;
	cJSON *v = NULL;

	buf_init(&b, c->max);
	if (leaf_text(c, n, path, &b) == -1) {
		buf_free(&b);
		return NULL;
	}
	s = buf_str(&b);
	len = b.len;
	if (e->kind == K_STRING) {
		v = cJSON_CreateString(s);
		goto out;
	}
	/*
	 * xs:decimal and xs:boolean collapse whitespace, so the XSD accepted
	 * blanks around the value; they are markup, not part of the number.
	 */
	while (len > 0 && is_blank((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank((unsigned char)s[len - 1]))
		len--;
	if (e->kind == K_BOOL) {
		if ((len == 4 && memcmp(s, "true", 4) == 0) ||
		    (len == 1 && s[0] == '1'))
			v = cJSON_CreateTrue();
		else if ((len == 5 && memcmp(s, "false", 5) == 0) ||
		    (len == 1 && s[0] == '0'))
			v = cJSON_CreateFalse();
		else {
			add(c->f, "SCHEMA", path, "line %ld: <%s> must be true "
			    "or false", xmlGetLineNo(n), e->name);
			buf_free(&b);
			return NULL;
		}
		goto out;
	}
	if (!is_decimal(s, len) || len >= 64) {
		add(c->f, "SCHEMA", path, "line %ld: <%s> \"%.40s\" is not a "
		    "decimal number", xmlGetLineNo(n), e->name, buf_str(&b));
		buf_free(&b);
		return NULL;
	}
	v = jsonrx_number_node(s, len);
out:
	buf_free(&b);
	if (v == NULL)
		add(c->f, "PARSE", path, "out of memory");
	return v;
}

/* Children of an object or list element: elements only, blanks between. */
static const xmlNode *
next_child(struct conv *c, const xmlNode *k, const xmlNode *parent,
    const char *path, int *bad)
{
	for (; k != NULL; k = k->next) {
		if (k->type == XML_ELEMENT_NODE)
			return k;
		if ((k->type == XML_TEXT_NODE ||
		    k->type == XML_CDATA_SECTION_NODE) &&
		    !all_blank(k->content)) {
			add(c->f, "SCHEMA", path, "line %ld: text is not "
			    "allowed directly in <%s>", xmlGetLineNo(k),
			    (const char *)parent->name);
			*bad = 1;
		}
	}
	return NULL;
}

static cJSON *
convert_object(struct conv *c, const xmlNode *n, const char *path)
{
	char sub[sizeof(((struct finding *)0)->path)];
	const struct elem *ce;
	const xmlNode *k;
	cJSON *obj, *v;
	int bad = 0;

	if ((obj = cJSON_CreateObject()) == NULL) {
		add(c->f, "PARSE", path, "out of memory");
		return NULL;
	}
	for (k = next_child(c, n->children, n, path, &bad); k != NULL;
	    k = next_child(c, k->next, n, path, &bad)) {
		join(sub, sizeof(sub), path, (const char *)k->name);
		ce = elem_lookup(k->name);
		if (ce == NULL || ce->kind == K_ITEM || ce->kind == K_ROOT) {
			add(c->f, "SCHEMA", sub, "line %ld: <%s> is not "
			    "allowed in <%s>", xmlGetLineNo(k),
			    (const char *)k->name,
			    (const char *)n->name);
			bad = 1;
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, ce->name) != NULL) {
			add(c->f, "SCHEMA", sub, "line %ld: <%s> appears twice",
			    xmlGetLineNo(k), ce->name);
			bad = 1;
			continue;
		}
		if ((v = convert(c, k, ce, sub)) == NULL) {
			bad = 1;
			continue;
		}
		cJSON_AddItemToObject(obj, ce->name, v);
	}
	if (bad) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

static cJSON *
convert_list(struct conv *c, const xmlNode *n, const struct elem *e,
    const char *path)
{
	char sub[sizeof(((struct finding *)0)->path)];
	const xmlNode *k;
	cJSON *arr, *v;
	size_t i = 0;
	int bad = 0;

	if ((arr = cJSON_CreateArray()) == NULL) {
		add(c->f, "PARSE", path, "out of memory");
		return NULL;
	}
	for (k = next_child(c, n->children, n, path, &bad); k != NULL;
	    k = next_child(c, k->next, n, path, &bad), i++) {
		join_index(sub, sizeof(sub), path, i);
		if (strcmp((const char *)k->name, e->item) != 0) {
			add(c->f, "SCHEMA", sub, "line %ld: <%s> holds only "
			    "<%s> elements, not <%s>", xmlGetLineNo(k), e->name,
			    e->item, (const char *)k->name);
			bad = 1;
			continue;
		}
		if ((v = convert_object(c, k, sub)) == NULL) {
			bad = 1;
			continue;
		}
		cJSON_AddItemToArray(arr, v);
	}
	if (bad) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

/* Recursion depth = element depth <= XMLRX_MAX_DEPTH (sax_start). */
static cJSON *
convert(struct conv *c, const xmlNode *n, const struct elem *e,
    const char *path)
{
	switch (e->kind) {
	case K_ROOT:
	case K_OBJECT:
	case K_ITEM:
		return convert_object(c, n, path);
	case K_LIST:
		return convert_list(c, n, e, path);
	case K_STRING:
	case K_NUMBER:
	case K_BOOL:
		break;
	}
	return convert_leaf(c, n, e, path);
}

/* ---------------------------------------------------------------------- */
/* Entry points.                                                           */

struct xsd *
xsd_load(const char *path, char *err, size_t errlen)
{
	xmlSchemaParserCtxtPtr pctxt;
	struct findings *f;
	struct quiet q;
	struct xsd *x;
	char *text;
	size_t n;

	pthread_once(&init_once, init_libxml);
	if (fsutil_read_file(path, XSD_MAX_SIZE, &text, &n, err, errlen) !=
	    FSREAD_OK)
		return NULL;

	/* The schema parse reports into findings; the first becomes err. */
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		free(f);
		free(text);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	quiet_begin(&q);
	/* From memory: the deny-all loader would refuse the file by name. */
	if ((pctxt = xmlSchemaNewMemParserCtxt(text, (int)n)) != NULL) {
		struct rx rx = { .f = f };

		xmlSchemaSetParserStructuredErrors(pctxt, on_schema_error, &rx);
		x->schema = xmlSchemaParse(pctxt);
		xmlSchemaFreeParserCtxt(pctxt);
	}
	quiet_end(&q);
	free(text);
	if (x->schema == NULL) {
		snprintf(err, errlen, "%s: %s", path, f->n > 0 ?
		    f->v[0].message : "not a usable XML schema");
		free(f);
		free(x);
		return NULL;
	}
	free(f);
	return x;
}

void
xsd_free(struct xsd *x)
{
	if (x == NULL)
		return;
	xmlSchemaFree(x->schema);
	free(x);
}

/* Parse with every hook in place; NULL with a finding when refused. */
static xmlDocPtr
parse(const char *buf, size_t len, struct rx *rx)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	int opts = XML_PARSE_NONET | XML_PARSE_NOBLANKS;

#if LIBXML_VERSION >= 21300
	opts |= XML_PARSE_NO_XXE;
#endif
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		add(rx->f, "PARSE", "", "out of memory");
		return NULL;
	}
	hook_sax(ctxt->sax);
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, opts);
	xmlFreeParserCtxt(ctxt);
	/*
	 * xmlStopParser leaves wellFormed set: a refused parse can still
	 * return a (partial) document.
	 */
	if (rx->refused || (doc != NULL && (doc->intSubset != NULL ||
	    doc->extSubset != NULL))) {
		if (!rx->failed)
			add(rx->f, "PARSE", "", "line 1: a DOCTYPE is not "
			    "allowed (no DTDs, no entities)");
		xmlFreeDoc(doc);
		return NULL;
	}
	if (doc == NULL) {
		if (!rx->failed)
			add(rx->f, "PARSE", "", "not well-formed XML");
		return NULL;
	}
	/* Namespace errors (an undeclared prefix) leave a document behind. */
	if (rx->failed) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static int
validate(xmlDocPtr doc, const struct xsd *schema, struct rx *rx)
{
	xmlSchemaValidCtxtPtr vctxt;
	int rc;

	if ((vctxt = xmlSchemaNewValidCtxt(schema->schema)) == NULL) {
		add(rx->f, "SCHEMA", "", "out of memory");
		return -1;
	}
	xmlSchemaSetValidStructuredErrors(vctxt, on_schema_error, rx);
	rc = xmlSchemaValidateDoc(vctxt, doc);
	xmlSchemaFreeValidCtxt(vctxt);
	if (rc != 0 && !rx->failed)
		add(rx->f, "SCHEMA", "", rc > 0 ? "not valid against the "
		    "receipt schema" : "schema validation failed internally");
	return rc == 0 ? 0 : -1;
}

cJSON *
xmlrx_parse(const char *buf, size_t len, size_t max_size,
    const struct xsd *schema, struct findings *f)
{
	struct rx rx = { .f = f };
	struct conv c = { .f = f, .max = len };
	struct quiet q;
	xmlDocPtr doc;
	xmlNodePtr root;
	cJSON *tree = NULL;

	if (len > max_size || len > INT_MAX) {
		add(f, "TOO_LARGE", "", "document is %zu bytes, the limit is "
		    "%zu", len, max_size < INT_MAX ? max_size : INT_MAX);
		return NULL;
	}
	if (prescan((const unsigned char *)buf, len, f) == -1)
		return NULL;
	pthread_once(&init_once, init_libxml);

	rx_current = &rx;
	quiet_begin(&q);
	doc = parse(buf, len, &rx);
	if (doc == NULL)
		goto done;
	root = xmlDocGetRootElement(doc);
	if (check_nodes(doc->children, f) == -1)
		goto done;
	if (schema != NULL && validate(doc, schema, &rx) == -1)
		goto done;
	if (root == NULL || strcmp((const char *)root->name, "receipt") != 0) {
		add(f, "SCHEMA", "", "the root element must be <receipt>");
		goto done;
	}
	tree = convert_object(&c, root, "");
done:
	quiet_end(&q);
	rx_current = NULL;
	xmlFreeDoc(doc);
	return tree;
}
