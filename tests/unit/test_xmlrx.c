/*
 * test_xmlrx.c - the hardened XML reader: conversion to the JSON-shaped
 * tree, and refusal of every hostile construct without touching a file or
 * the network (checked with inotify and a listening socket, not assumed).
 *
 * Run from the top of the tree (schemas/receipt.xsd).
 */
#include "io/xmlrx.h"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "fiscal/findings.h"
#include "io/jsonrx.h"
#include "util/buf.h"

#include "tap.h"

#define XSD_PATH	"schemas/receipt.xsd"

static struct xsd *xsd;
static size_t stderr_bytes;	/* written to stderr by the reader: 0 */

/*
 * xmlrx_parse with fd 2 captured: libxml2 must not print anything, even
 * for the nastiest input.
 */
static cJSON *
parse(const char *doc, size_t len, const struct xsd *x, struct findings *f)
{
	char tmpl[] = "/tmp/xmlrx-stderr-XXXXXX";
	int fd, saved;
	cJSON *t;
	struct stat st;

	findings_clear(f);
	fflush(stderr);
	if ((fd = mkstemp(tmpl)) == -1 || (saved = dup(2)) == -1) {
		perror("capture stderr");
		exit(2);
	}
	unlink(tmpl);
	dup2(fd, 2);
	t = xmlrx_parse(doc, len, XMLRX_MAX_SIZE, x, f);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (fstat(fd, &st) == 0)
		stderr_bytes += (size_t)st.st_size;
	close(fd);
	return t;
}

static cJSON *
parse_s(const char *doc, struct findings *f)
{
	return parse(doc, strlen(doc), xsd, f);
}

/* Compact rendering with number literals, for comparing whole trees. */
static void
dump(const cJSON *n, struct buf *b)
{
	const cJSON *c;

	if (cJSON_IsObject(n) || cJSON_IsArray(n)) {
		int obj = cJSON_IsObject(n);

		buf_adds(b, obj ? "{" : "[");
		for (c = n->child; c != NULL; c = c->next) {
			if (obj)
				buf_printf(b, "\"%s\":", c->string);
			dump(c, b);
			if (c->next != NULL)
				buf_adds(b, ",");
		}
		buf_adds(b, obj ? "}" : "]");
	} else if (cJSON_IsNumber(n)) {
		const char *t = jsonrx_number_text(n);

		buf_adds(b, t != NULL ? t : "<no literal>");
	} else if (cJSON_IsString(n))
		buf_printf(b, "\"%s\"", n->valuestring);
	else if (cJSON_IsTrue(n))
		buf_adds(b, "true");
	else if (cJSON_IsFalse(n))
		buf_adds(b, "false");
	else
		buf_adds(b, "?");
}

static void
check_tree(const cJSON *t, const char *want, int line)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	if (t != NULL)
		dump(t, &b);
	CHECK(t != NULL && strcmp(buf_str(&b), want) == 0,
	    "line %d: tree\n  got  %s\n  want %s", line, buf_str(&b), want);
	buf_free(&b);
}

static int
has(const struct findings *f, const char *code, const char *path,
    const char *msg_part)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].code, code) == 0 &&
		    (path == NULL || strcmp(f->v[i].path, path) == 0) &&
		    (msg_part == NULL || strstr(f->v[i].message, msg_part)))
			return 1;
	return 0;
}

static void
show(const struct findings *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		fprintf(stderr, "    %s [%s] %s\n", f->v[i].code, f->v[i].path,
		    f->v[i].message);
}

#define EXPECT(f, code, path, part) do { \
	CHECK(has((f), (code), (path), (part)), "want %s [%s] ~\"%s\"", \
	    (code), (path) ? (path) : "*", (part) ? (part) : ""); \
	if (!has((f), (code), (path), (part))) show(f); \
	} while (0)

/* fdms-reference §8, as a POS would drop it (no counters, no signature). */
#define SPEC_DOC \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<receipt>\n" \
	"  <receiptType>FiscalInvoice</receiptType>\n" \
	"  <receiptCurrency>USD</receiptCurrency>\n" \
	"  <invoiceNo>INV-000101</invoiceNo>\n" \
	"  <receiptDate>2026-03-02T10:15:00</receiptDate>\n" \
	"  <receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>\n" \
	"  <receiptLines>\n" \
	"    <receiptLine>\n" \
	"      <receiptLineType>Sale</receiptLineType>\n" \
	"      <receiptLineNo>1</receiptLineNo>\n" \
	"      <receiptLineHSCode>12345678</receiptLineHSCode>\n" \
	"      <receiptLineName>Bread</receiptLineName>\n" \
	"      <receiptLinePrice>5.00</receiptLinePrice>\n" \
	"      <receiptLineQuantity>1</receiptLineQuantity>\n" \
	"      <receiptLineTotal>5.00</receiptLineTotal>\n" \
	"      <taxID>1</taxID>\n" \
	"    </receiptLine>\n" \
	"    <receiptLine>\n" \
	"      <receiptLineType>Sale</receiptLineType>\n" \
	"      <receiptLineNo>2</receiptLineNo>\n" \
	"      <receiptLineHSCode>87654321</receiptLineHSCode>\n" \
	"      <receiptLineName>Soap</receiptLineName>\n" \
	"      <receiptLinePrice>11.55</receiptLinePrice>\n" \
	"      <receiptLineQuantity>1</receiptLineQuantity>\n" \
	"      <receiptLineTotal>11.55</receiptLineTotal>\n" \
	"      <taxPercent>15.5</taxPercent>\n" \
	"      <taxID>517</taxID>\n" \
	"    </receiptLine>\n" \
	"  </receiptLines>\n" \
	"  <receiptTaxes>\n" \
	"    <receiptTax><taxID>1</taxID><taxAmount>0.00</taxAmount>" \
	"<salesAmountWithTax>5.00</salesAmountWithTax></receiptTax>\n" \
	"    <receiptTax><taxID>517</taxID><taxPercent>15.5</taxPercent>" \
	"<taxAmount>1.55</taxAmount><salesAmountWithTax>11.55" \
	"</salesAmountWithTax></receiptTax>\n" \
	"  </receiptTaxes>\n" \
	"  <receiptPayments>\n" \
	"    <receiptPayment><moneyTypeCode>Cash</moneyTypeCode>" \
	"<paymentAmount>16.55</paymentAmount></receiptPayment>\n" \
	"  </receiptPayments>\n" \
	"  <receiptTotal>16.55</receiptTotal>\n" \
	"  <receiptPrintForm>Receipt48</receiptPrintForm>\n" \
	"</receipt>\n"

#define SPEC_TREE \
	"{\"receiptType\":\"FiscalInvoice\",\"receiptCurrency\":\"USD\"," \
	"\"invoiceNo\":\"INV-000101\"," \
	"\"receiptDate\":\"2026-03-02T10:15:00\"," \
	"\"receiptLinesTaxInclusive\":true,\"receiptLines\":[" \
	"{\"receiptLineType\":\"Sale\",\"receiptLineNo\":1," \
	"\"receiptLineHSCode\":\"12345678\",\"receiptLineName\":\"Bread\"," \
	"\"receiptLinePrice\":5.00,\"receiptLineQuantity\":1," \
	"\"receiptLineTotal\":5.00,\"taxID\":1}," \
	"{\"receiptLineType\":\"Sale\",\"receiptLineNo\":2," \
	"\"receiptLineHSCode\":\"87654321\",\"receiptLineName\":\"Soap\"," \
	"\"receiptLinePrice\":11.55,\"receiptLineQuantity\":1," \
	"\"receiptLineTotal\":11.55,\"taxPercent\":15.5,\"taxID\":517}]," \
	"\"receiptTaxes\":[{\"taxID\":1,\"taxAmount\":0.00," \
	"\"salesAmountWithTax\":5.00},{\"taxID\":517,\"taxPercent\":15.5," \
	"\"taxAmount\":1.55,\"salesAmountWithTax\":11.55}]," \
	"\"receiptPayments\":[{\"moneyTypeCode\":\"Cash\"," \
	"\"paymentAmount\":16.55}],\"receiptTotal\":16.55," \
	"\"receiptPrintForm\":\"Receipt48\"}"

/* A minimal valid receipt around one line's inner XML. */
static char *
with_line(const char *line, char *out, size_t len)
{
	snprintf(out, len,
	    "<receipt><receiptType>FiscalInvoice</receiptType>"
	    "<receiptCurrency>USD</receiptCurrency><invoiceNo>I-1</invoiceNo>"
	    "<receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>"
	    "<receiptLines><receiptLine>%s</receiptLine></receiptLines>"
	    "<receiptPayments><receiptPayment><moneyTypeCode>Cash"
	    "</moneyTypeCode><paymentAmount>0.29</paymentAmount>"
	    "</receiptPayment></receiptPayments>"
	    "<receiptTotal>0.29</receiptTotal></receipt>", line);
	return out;
}

#define LINE_OK \
	"<receiptLineType>Sale</receiptLineType>" \
	"<receiptLineName>Nails</receiptLineName>" \
	"<receiptLinePrice>0.29</receiptLinePrice>" \
	"<receiptLineQuantity>1.005</receiptLineQuantity>" \
	"<receiptLineTotal>0.29</receiptLineTotal><taxID>1</taxID>"

static void
test_convert(void)
{
	struct findings f;
	char doc[4096];
	cJSON *t;

	t = parse_s(SPEC_DOC, &f);
	check_tree(t, SPEC_TREE, __LINE__);
	CHECK_INT(f.n, 0);
	cJSON_Delete(t);

	/* Without a schema the conversion is the same. */
	t = parse(SPEC_DOC, strlen(SPEC_DOC), NULL, &f);
	check_tree(t, SPEC_TREE, __LINE__);
	cJSON_Delete(t);

	/* Literals are kept: 1.005 is a quantity, not a rounded double. */
	t = parse_s(with_line(LINE_OK, doc, sizeof(doc)), &f);
	check_tree(t, "{\"receiptType\":\"FiscalInvoice\","
	    "\"receiptCurrency\":\"USD\",\"invoiceNo\":\"I-1\","
	    "\"receiptLinesTaxInclusive\":true,\"receiptLines\":["
	    "{\"receiptLineType\":\"Sale\",\"receiptLineName\":\"Nails\","
	    "\"receiptLinePrice\":0.29,\"receiptLineQuantity\":1.005,"
	    "\"receiptLineTotal\":0.29,\"taxID\":1}],\"receiptPayments\":["
	    "{\"moneyTypeCode\":\"Cash\",\"paymentAmount\":0.29}],"
	    "\"receiptTotal\":0.29}", __LINE__);
	cJSON_Delete(t);

	/*
	 * Any order (xs:all); blanks that xs:decimal and xs:boolean collapse
	 * are trimmed, nothing else; "0" is false; comments vanish; CDATA
	 * and predefined entities are text; trailing zeros stay in the
	 * literal for the reader to judge.
	 */
	t = parse_s("\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n"
	    "<!-- from the till -->\n"
	    "<receipt><receiptTotal>\n  -0.290 \t</receiptTotal>"
	    "<receiptPayments><receiptPayment><paymentAmount>-0.29"
	    "</paymentAmount><moneyTypeCode>Card</moneyTypeCode>"
	    "</receiptPayment></receiptPayments>"
	    "<receiptLinesTaxInclusive> 0 </receiptLinesTaxInclusive>"
	    "<receiptLines><receiptLine><taxID> 517.0 </taxID>"
	    "<receiptLineTotal>-0.29</receiptLineTotal>"
	    "<receiptLineName><![CDATA[Soap & <Co>]]> &amp; &#65;"
	    "<!-- c --></receiptLineName>"
	    "<receiptLineQuantity>1</receiptLineQuantity>"
	    "<taxPercent>0</taxPercent>"
	    "<receiptLineType>Sale</receiptLineType></receiptLine>"
	    "</receiptLines><invoiceNo> CN 1 </invoiceNo>"
	    "<receiptCurrency>ZWG</receiptCurrency>"
	    "<receiptNotes>line one\nline two</receiptNotes>"
	    "<creditDebitNote><invoiceNo>I-1</invoiceNo></creditDebitNote>"
	    "<receiptType>CreditNote</receiptType></receipt>", &f);
	check_tree(t, "{\"receiptTotal\":-0.290,\"receiptPayments\":["
	    "{\"paymentAmount\":-0.29,\"moneyTypeCode\":\"Card\"}],"
	    "\"receiptLinesTaxInclusive\":false,\"receiptLines\":["
	    "{\"taxID\":517.0,\"receiptLineTotal\":-0.29,"
	    "\"receiptLineName\":\"Soap & <Co> & A\","
	    "\"receiptLineQuantity\":1,\"taxPercent\":0,"
	    "\"receiptLineType\":\"Sale\"}],\"invoiceNo\":\" CN 1 \","
	    "\"receiptCurrency\":\"ZWG\","
	    "\"receiptNotes\":\"line one\nline two\","
	    "\"creditDebitNote\":{\"invoiceNo\":\"I-1\"},"
	    "\"receiptType\":\"CreditNote\"}", __LINE__);
	if (t == NULL)
		show(&f);
	cJSON_Delete(t);

	/* A complete FDMS receipt (spoolctl inspect) with a buyer. */
	t = parse_s("<receipt><receiptType>DebitNote</receiptType>"
	    "<receiptCurrency>USD</receiptCurrency>"
	    "<receiptCounter>3</receiptCounter>"
	    "<receiptGlobalNo>103</receiptGlobalNo><invoiceNo>D-1</invoiceNo>"
	    "<buyerData><buyerRegisterName>Acme (Pvt) Ltd</buyerRegisterName>"
	    "<buyerTIN>2000123456</buyerTIN><vatNumber>220012345</vatNumber>"
	    "<buyerContacts><phoneNo>+263 77 123 4567</phoneNo></buyerContacts>"
	    "<buyerAddress><city>Harare</city></buyerAddress></buyerData>"
	    "<receiptNotes>price correction</receiptNotes>"
	    "<creditDebitNote><receiptID>991</receiptID></creditDebitNote>"
	    "<receiptLinesTaxInclusive>1</receiptLinesTaxInclusive>"
	    "<receiptLines><receiptLine>" LINE_OK "</receiptLine>"
	    "</receiptLines><receiptPayments><receiptPayment><moneyTypeCode>"
	    "Cash</moneyTypeCode><paymentAmount>0.29</paymentAmount>"
	    "</receiptPayment></receiptPayments><receiptTotal>0.29"
	    "</receiptTotal><receiptDeviceSignature><hash>"
	    "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=</hash><signature>"
	    "MEUCIQDx</signature></receiptDeviceSignature></receipt>", &f);
	check_tree(t, "{\"receiptType\":\"DebitNote\","
	    "\"receiptCurrency\":\"USD\",\"receiptCounter\":3,"
	    "\"receiptGlobalNo\":103,\"invoiceNo\":\"D-1\",\"buyerData\":{"
	    "\"buyerRegisterName\":\"Acme (Pvt) Ltd\","
	    "\"buyerTIN\":\"2000123456\",\"vatNumber\":\"220012345\","
	    "\"buyerContacts\":{\"phoneNo\":\"+263 77 123 4567\"},"
	    "\"buyerAddress\":{\"city\":\"Harare\"}},"
	    "\"receiptNotes\":\"price correction\","
	    "\"creditDebitNote\":{\"receiptID\":991},"
	    "\"receiptLinesTaxInclusive\":true,\"receiptLines\":["
	    "{\"receiptLineType\":\"Sale\",\"receiptLineName\":\"Nails\","
	    "\"receiptLinePrice\":0.29,\"receiptLineQuantity\":1.005,"
	    "\"receiptLineTotal\":0.29,\"taxID\":1}],\"receiptPayments\":["
	    "{\"moneyTypeCode\":\"Cash\",\"paymentAmount\":0.29}],"
	    "\"receiptTotal\":0.29,\"receiptDeviceSignature\":{\"hash\":"
	    "\"rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU=\","
	    "\"signature\":\"MEUCIQDx\"}}", __LINE__);
	if (t == NULL)
		show(&f);
	cJSON_Delete(t);
}

/* ---------------------------------------------------------------------- */
/* Evidence that nothing outside was touched.                              */

struct sandbox {
	char	dir[64];
	char	secret[96];	/* a file the document wants to read */
	int	ino;		/* inotify on dir: IN_OPEN | IN_ACCESS */
	int	lsock;		/* listening TCP socket, 127.0.0.1 */
	int	port;
};

static void
sandbox_open(struct sandbox *s)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd;

	snprintf(s->dir, sizeof(s->dir), "/tmp/xmlrx-sandbox-XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(s->secret, sizeof(s->secret), "%s/secret", s->dir);
	if ((fd = open(s->secret, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, "TOPSECRET", 9) != 9 || close(fd) == -1) {
		perror("secret");
		exit(2);
	}
	if ((s->ino = inotify_init1(IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(s->ino, s->dir, IN_OPEN | IN_ACCESS) == -1) {
		perror("inotify");
		exit(2);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->lsock == -1 ||
	    bind(s->lsock, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s->lsock, 4) == -1 ||
	    getsockname(s->lsock, (struct sockaddr *)&sa, &sl) == -1) {
		perror("listen");
		exit(2);
	}
	s->port = ntohs(sa.sin_port);
}

/* Events since the last call: files opened or read in dir. */
static int
sandbox_file_events(struct sandbox *s)
{
	_Alignas(struct inotify_event) char ev[4096];
	ssize_t n;
	int total = 0;

	while ((n = read(s->ino, ev, sizeof(ev))) > 0)
		total += (int)n;
	return total;
}

/*
 * Names of the files in dir opened or read since the last call, each as
 * "/name" appended to names.
 */
static void
sandbox_names(struct sandbox *s, char *names, size_t len)
{
	_Alignas(struct inotify_event) char ev[4096];
	const struct inotify_event *e;
	ssize_t n, off;
	size_t used;

	names[0] = '\0';
	while ((n = read(s->ino, ev, sizeof(ev))) > 0)
		for (off = 0; off < n; off += (ssize_t)(sizeof(*e) + e->len)) {
			e = (const struct inotify_event *)(ev + off);
			used = strlen(names);
			if (e->len > 0 && used < len)
				snprintf(names + used, len - used, "/%s",
				    e->name);
		}
}

/* Connections made to the listener since the last call. */
static int
sandbox_connections(struct sandbox *s)
{
	int c, n = 0;

	while ((c = accept(s->lsock, NULL, NULL)) != -1) {
		close(c);
		n++;
	}
	return n;
}

static void
sandbox_close(struct sandbox *s)
{
	close(s->ino);
	close(s->lsock);
	unlink(s->secret);
	rmdir(s->dir);
}

static void
test_no_outside_access(void)
{
	struct sandbox sb;
	struct findings f;
	char doc[2048], xsdp[160];
	const char *kinds[] = { "SYSTEM", "PUBLIC \"-//x//y\"" };
	cJSON *t;
	xmlDocPtr d;
	size_t i;
	int fd, ev, conn;

	sandbox_open(&sb);

	/* The watch and the listener work: our own open and connect show. */
	if ((fd = open(sb.secret, O_RDONLY)) != -1)
		close(fd);
	CHECK(sandbox_file_events(&sb) > 0, "inotify sees an open");
	{
		struct sockaddr_in sa;
		int c = socket(AF_INET, SOCK_STREAM, 0);

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)sb.port);
		if (c != -1 && connect(c, (struct sockaddr *)&sa,
		    sizeof(sa)) == 0) {
			usleep(10000);
			CHECK(sandbox_connections(&sb) == 1,
			    "the listener sees a connect");
		}
		if (c != -1)
			close(c);
	}

	/* XXE through a general entity, file and http. */
	snprintf(doc, sizeof(doc), "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE receipt [\n"
	    "  <!ENTITY xxe SYSTEM \"file://%s\">\n"
	    "  <!ENTITY web SYSTEM \"http://127.0.0.1:%d/x\">\n"
	    "]>\n<receipt><invoiceNo>&xxe;&web;</invoiceNo></receipt>\n",
	    sb.secret, sb.port);
	t = parse_s(doc, &f);
	CHECK(t == NULL, "XXE accepted");
	EXPECT(&f, "PARSE", "", "line 2: a DOCTYPE is not allowed");
	CHECK(strstr(f.n ? f.v[0].message : "", "TOPSECRET") == NULL,
	    "secret leaked");
	cJSON_Delete(t);

	/* The classic. */
	t = parse_s("<?xml version=\"1.0\"?><!DOCTYPE receipt [<!ENTITY x "
	    "SYSTEM \"file:///etc/passwd\">]><receipt><invoiceNo>&x;"
	    "</invoiceNo></receipt>", &f);
	CHECK(t == NULL && f.n == 1, "/etc/passwd XXE accepted");
	CHECK(strstr(f.n ? f.v[0].message : "", "root:") == NULL,
	    "/etc/passwd leaked");
	cJSON_Delete(t);

	/* External DTD, parameter entity, with and without a public id. */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(doc, sizeof(doc), "<!DOCTYPE receipt %s "
		    "\"file://%s\"><receipt/>", kinds[i], sb.secret);
		t = parse_s(doc, &f);
		CHECK(t == NULL, "external DTD accepted");
		EXPECT(&f, "PARSE", "", "DOCTYPE is not allowed");
		cJSON_Delete(t);
		snprintf(doc, sizeof(doc), "<!DOCTYPE receipt %s "
		    "\"http://127.0.0.1:%d/x.dtd\"><receipt/>", kinds[i],
		    sb.port);
		t = parse_s(doc, &f);
		CHECK(t == NULL, "external DTD accepted");
		cJSON_Delete(t);
	}
	snprintf(doc, sizeof(doc), "<!DOCTYPE receipt [<!ENTITY %% p SYSTEM "
	    "\"file://%s\"> %%p;]><receipt/>", sb.secret);
	t = parse_s(doc, &f);
	CHECK(t == NULL, "parameter entity accepted");
	cJSON_Delete(t);

	/* XInclude is a namespaced element: refused, never processed. */
	snprintf(doc, sizeof(doc), "<receipt xmlns:xi=\"http://www.w3.org/"
	    "2001/XInclude\"><xi:include href=\"file://%s\" parse=\"text\"/>"
	    "</receipt>", sb.secret);
	t = parse_s(doc, &f);
	CHECK(t == NULL, "XInclude accepted");
	EXPECT(&f, "SCHEMA", "include", "namespace");
	cJSON_Delete(t);

	/* xsi:schemaLocation must not make the validator fetch anything. */
	snprintf(doc, sizeof(doc), "<receipt xmlns:xsi=\"http://www.w3.org/"
	    "2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation="
	    "\"http://127.0.0.1:%d/r.xsd\"><receiptType>FiscalInvoice"
	    "</receiptType></receipt>", sb.port);
	t = parse_s(doc, &f);
	CHECK(t == NULL, "xsi attribute accepted");
	EXPECT(&f, "SCHEMA", "", "attribute \"noNamespaceSchemaLocation\"");
	cJSON_Delete(t);

	usleep(20000);
	ev = sandbox_file_events(&sb);
	conn = sandbox_connections(&sb);
	CHECK_INT(ev, 0);
	CHECK_INT(conn, 0);

	/*
	 * Second wall: libxml2 itself, asked by someone else in this process
	 * to substitute entities and load DTDs, still cannot reach the file
	 * or the network once xmlrx has installed its loader.
	 */
	snprintf(doc, sizeof(doc), "<!DOCTYPE r SYSTEM \"http://127.0.0.1:%d/"
	    "r.dtd\" [<!ENTITY xxe SYSTEM \"file://%s\">]><r>&xxe;</r>",
	    sb.port, sb.secret);
	xmlSetGenericErrorFunc(NULL, NULL);
	{
		int saved = dup(2), null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		d = xmlReadMemory(doc, (int)strlen(doc), NULL, NULL,
		    XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_DTDATTR);
		dup2(saved, 2);
		close(saved);
		close(null);
	}
	if (d != NULL) {
		xmlChar *s = xmlNodeGetContent(xmlDocGetRootElement(d));

		CHECK(s == NULL || strstr((const char *)s, "TOPSECRET") == NULL,
		    "libxml2 read the file: %s", s);
		xmlFree(s);
		xmlFreeDoc(d);
	}
	usleep(20000);
	CHECK_INT(sandbox_file_events(&sb), 0);
	CHECK_INT(sandbox_connections(&sb), 0);

	/* An XSD that includes another file cannot make us read it. */
	{
		char err[256] = "", names[1024];
		struct xsd *x;
		FILE *fp;

		snprintf(xsdp, sizeof(xsdp), "%s/inc.xsd", sb.dir);
		if ((fp = fopen(xsdp, "w")) != NULL) {
			fprintf(fp, "<xs:schema xmlns:xs=\"http://www.w3.org/"
			    "2001/XMLSchema\"><xs:include schemaLocation="
			    "\"file://%s\"/></xs:schema>\n", sb.secret);
			fclose(fp);
		}
		sandbox_file_events(&sb);	/* our own write */
		x = xsd_load(xsdp, err, sizeof(err));
		xsd_free(x);	/* libxml2 may only warn about the include */
		sandbox_names(&sb, names, sizeof(names));
		CHECK(strstr(names, "/inc.xsd") != NULL, "inc.xsd unread: %s",
		    names);
		CHECK(strstr(names, "/secret") == NULL, "included file read");
		unlink(xsdp);
	}
	sandbox_close(&sb);
}

/* ---------------------------------------------------------------------- */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_entities(void)
{
	struct findings f;
	cJSON *t;
	double t0;
	const char *laughs =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<receipt><invoiceNo>&lol9;</invoiceNo></receipt>\n";

	t0 = now();
	t = parse_s(laughs, &f);
	CHECK(now() - t0 < 0.5, "billion laughs took %.3f s", now() - t0);
	CHECK(t == NULL, "billion laughs accepted");
	CHECK_INT(f.n, 1);
	EXPECT(&f, "PARSE", "", "line 2: a DOCTYPE is not allowed");
	cJSON_Delete(t);

	/*
	 * Refused before the internal subset is even read: a syntax error
	 * inside it, or a quadratic-blowup entity, is never reached.
	 */
	t = parse_s("<!DOCTYPE r [ <!ENTITY a \"x\"> <!GARBAGE ]><r/>", &f);
	CHECK(t == NULL && f.n == 1, "one finding");
	EXPECT(&f, "PARSE", "", "DOCTYPE is not allowed");
	CHECK(!has(&f, "PARSE", NULL, "GARBAGE"), "subset was parsed");
	cJSON_Delete(t);
	t = parse_s("<!DOCTYPE receipt><receipt/>", &f);
	CHECK(t == NULL, "bare DOCTYPE accepted");
	EXPECT(&f, "PARSE", "", "DOCTYPE");
	cJSON_Delete(t);

	/* No DTD: an entity reference is simply undeclared. */
	t = parse_s("<receipt><invoiceNo>&foo;</invoiceNo></receipt>", &f);
	CHECK(t == NULL, "undeclared entity accepted");
	EXPECT(&f, "PARSE", "", "line 1: Entity 'foo' not defined");
	cJSON_Delete(t);

	/* Processing instructions. */
	t = parse_s("<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"x\"?>"
	    "<receipt/>", &f);
	CHECK(t == NULL, "PI accepted");
	EXPECT(&f, "PARSE", "", "line 2: processing instructions");
	cJSON_Delete(t);
	t = parse_s("<receipt><invoiceNo>x<?php echo 1; ?></invoiceNo>"
	    "</receipt>", &f);
	CHECK(t == NULL, "PI accepted");
	cJSON_Delete(t);
}

static void
test_depth(void)
{
	struct findings f;
	struct buf b;
	cJSON *t;
	double t0;
	int i;

	/* 10,000 deep: refused at level 33, quickly. */
	buf_init(&b, 1 << 20);
	buf_adds(&b, "<receipt>");
	for (i = 0; i < 10000; i++)
		buf_adds(&b, "<a>");
	for (i = 0; i < 10000; i++)
		buf_adds(&b, "</a>");
	buf_adds(&b, "</receipt>");
	t0 = now();
	t = parse(b.p, b.len, xsd, &f);
	CHECK(now() - t0 < 0.5, "deep nesting took %.3f s", now() - t0);
	CHECK(t == NULL, "deep nesting accepted");
	EXPECT(&f, "PARSE", "", "nested deeper than 32");
	cJSON_Delete(t);

	/* The limit itself: 32 levels pass the parser, 33 do not. */
	buf_reset(&b);
	for (i = 0; i < 32; i++)
		buf_adds(&b, "<receipt>");
	for (i = 0; i < 32; i++)
		buf_adds(&b, "</receipt>");
	t = parse(b.p, b.len, NULL, &f);
	CHECK(t == NULL && !has(&f, "PARSE", NULL, NULL),
	    "32 levels are a schema matter");
	EXPECT(&f, "SCHEMA", "receipt", "not allowed in <receipt>");
	cJSON_Delete(t);
	buf_reset(&b);
	for (i = 0; i < 33; i++)
		buf_adds(&b, "<receipt>");
	for (i = 0; i < 33; i++)
		buf_adds(&b, "</receipt>");
	t = parse(b.p, b.len, NULL, &f);
	CHECK(t == NULL, "33 levels accepted");
	EXPECT(&f, "PARSE", "", "nested deeper than 32");
	cJSON_Delete(t);
	buf_free(&b);
}

/*
 * Many bad elements: the work per element must not grow with the number of
 * its siblings (a path to the 80,000th list item once took O(n) to build,
 * and the whole document O(n^2): over a minute).
 */
#define BAD_LINE \
	"<receiptLine><receiptLineTotal>1.005</receiptLineTotal></receiptLine>"

static void
test_flood(void)
{
	static const char *const unit[] = {
		"<a a=\"1\"/>", "<a/>", "<receiptLine/>", BAD_LINE,
	};
	struct findings f;
	struct buf b;
	size_t i, k;
	double t0;
	cJSON *t;

	buf_init(&b, XMLRX_MAX_SIZE);
	for (k = 0; k < sizeof(unit) / sizeof(unit[0]); k++) {
		buf_reset(&b);
		buf_adds(&b, "<receipt><receiptLines>");
		for (i = 0; b.len + strlen(unit[k]) + 32 < XMLRX_MAX_SIZE; i++)
			buf_adds(&b, unit[k]);
		buf_adds(&b, "</receiptLines></receipt>");
		t0 = now();
		t = parse(b.p, b.len, xsd, &f);
		CHECK(t == NULL && f.n > 0, "flood[%zu] accepted", k);
		cJSON_Delete(t);
		/* Without the XSD only the shape is checked: time it too. */
		t = parse(b.p, b.len, NULL, &f);
		CHECK(k >= 2 || (t == NULL && f.n == FINDINGS_MAX &&
		    f.dropped > 0), "flood[%zu] without XSD: n %zu dropped %zu",
		    k, f.n, f.dropped);
		cJSON_Delete(t);
		CHECK(now() - t0 < 2.0, "flood[%zu] (%zu elements) took %.2f s",
		    k, i, now() - t0);
	}
	buf_free(&b);
}

static void
test_malformed(void)
{
	struct findings f;
	char big[64];
	cJSON *t;

	t = parse_s("<receipt>\n<invoiceNo>x</invoiceNo>\n"
	    "<receiptTotal>1</receiptTotl>\n</receipt>\n", &f);
	CHECK(t == NULL, "malformed accepted");
	CHECK_INT(f.n, 1);
	EXPECT(&f, "PARSE", "", "line 3: ");
	cJSON_Delete(t);

	t = parse_s("<receipt><invoiceNo>x</invoiceNo>", &f);
	CHECK(t == NULL, "truncated accepted");
	EXPECT(&f, "PARSE", "", "line 1: ");
	cJSON_Delete(t);

	t = parse_s("<receipt/><receipt/>", &f);
	CHECK(t == NULL, "two roots accepted");
	EXPECT(&f, "PARSE", "", "Extra content");
	cJSON_Delete(t);

	t = parse_s("", &f);
	CHECK(t == NULL, "empty accepted");
	EXPECT(&f, "PARSE", "", "empty document");
	cJSON_Delete(t);

	/* Namespace errors leave libxml2 a document; we still refuse it. */
	t = parse(SPEC_DOC, strlen(SPEC_DOC), NULL, &f);
	CHECK(t != NULL, "baseline");
	cJSON_Delete(t);
	{
		static const char *const docs[] = {
			"<receipt><x:invoiceNo>I</x:invoiceNo></receipt>",
			"<receipt xmlns:a=\"\"><invoiceNo>I</invoiceNo>"
			    "</receipt>",
		};
		size_t i;

		for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
			t = parse(docs[i], strlen(docs[i]), NULL, &f);
			CHECK(t == NULL, "namespace docs[%zu] accepted", i);
			EXPECT(&f, "PARSE", "", "line 1: ");
			cJSON_Delete(t);
		}
	}

	t = parse_s("just text", &f);
	CHECK(t == NULL, "text accepted");
	EXPECT(&f, "PARSE", "", "line 1: ");
	cJSON_Delete(t);

	/* Too large: refused before a byte is read. */
	memset(big, '<', sizeof(big));
	findings_clear(&f);
	t = xmlrx_parse(big, sizeof(big), 63, xsd, &f);
	CHECK(t == NULL, "too large accepted");
	EXPECT(&f, "TOO_LARGE", "", "64 bytes, the limit is 63");
	CHECK_INT(f.n, 1);
}

static void
test_encoding(void)
{
	static const struct {
		const char	*doc;
		size_t		 len;
		const char	*msg;
	} bad[] = {
#define B(s, m)	{ s, sizeof(s) - 1, m }
		B("<receipt><invoiceNo>\xc0\xaf</invoiceNo></receipt>",
		    "invalid UTF-8 at offset 20"),	/* overlong '/' */
		B("<receipt><invoiceNo>\xe0\x80\xaf</invoiceNo></receipt>",
		    "invalid UTF-8"),			/* overlong, 3 bytes */
		B("<receipt><invoiceNo>\xed\xa0\x80</invoiceNo></receipt>",
		    "invalid UTF-8"),			/* surrogate */
		B("<receipt><invoiceNo>\xf4\x90\x80\x80</invoiceNo></receipt>",
		    "invalid UTF-8"),			/* > U+10FFFF */
		B("<receipt>\n\n<invoiceNo>\x80</invoiceNo></receipt>",
		    "line 3: invalid UTF-8"),		/* lone continuation */
		B("<receipt><invoiceNo>\xc3</invoiceNo></receipt>",
		    "invalid UTF-8"),			/* truncated */
		B("<receipt><invoiceNo>caf\xe9</invoiceNo></receipt>",
		    "invalid UTF-8"),			/* Latin-1 */
		B("<receipt><invoiceNo>a\0b</invoiceNo></receipt>",
		    "NUL byte"),
		B("\xff\xfe<\0r\0/\0>\0", "UTF-16 byte order mark"),
		B("\xfe\xff\0<\0r\0/\0>", "UTF-16 byte order mark"),
		B("<\0r\0/\0>\0", "NUL byte"),		/* UTF-16 without BOM */
		B("\0\0\0<", "NUL byte"),		/* UCS-4 */
		B("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><receipt/>",
		    "encoding \"ISO-8859-1\" declared"),
		B("<?xml version='1.0' encoding = 'UTF-16'?><receipt/>",
		    "encoding \"UTF-16\""),
		B("<?xml version=\"1.0\" encoding=\"UTF-8x\"?><receipt/>",
		    "only UTF-8"),
		B("<receipt><invoiceNo>\x01</invoiceNo></receipt>",
		    "line 1: "),			/* XML forbids it */
		B("<receipt><invoiceNo>&#0;</invoiceNo></receipt>",
		    "line 1: "),
#undef B
	};
	struct findings f;
	size_t i;
	cJSON *t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = parse(bad[i].doc, bad[i].len, xsd, &f);
		CHECK(t == NULL, "bad[%zu] accepted", i);
		CHECK(has(&f, "PARSE", "", bad[i].msg), "bad[%zu]: want \"%s\"",
		    i, bad[i].msg);
		if (!has(&f, "PARSE", "", bad[i].msg))
			show(&f);
		cJSON_Delete(t);
	}

	/* Real UTF-8 is fine and kept byte for byte. */
	{
		char doc[4096];

		t = parse_s(with_line("<receiptLineType>Sale</receiptLineType>"
		    "<receiptLineName>Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x9e"
		    "</receiptLineName><receiptLineQuantity>1"
		    "</receiptLineQuantity><receiptLineTotal>0.29"
		    "</receiptLineTotal><taxID>1</taxID>", doc, sizeof(doc)),
		    &f);
		CHECK(t != NULL, "UTF-8 refused");
		if (t != NULL) {
			const cJSON *ln = cJSON_GetArrayItem(
			    cJSON_GetObjectItemCaseSensitive(t, "receiptLines"),
			    0);

			CHECK_STR(cJSON_GetObjectItemCaseSensitive(ln,
			    "receiptLineName")->valuestring,
			    "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x9e");
		}
		cJSON_Delete(t);
	}
}

static void
test_schema(void)
{
	struct findings f;
	char doc[4096], line[1024];
	cJSON *t;

	/* A 3-decimal amount in the second line: the path names it. */
	snprintf(doc, sizeof(doc), "<receipt>\n"
	    "<receiptType>FiscalInvoice</receiptType>\n"
	    "<receiptCurrency>USD</receiptCurrency>\n"
	    "<invoiceNo>I-1</invoiceNo>\n"
	    "<receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>\n"
	    "<receiptLines>\n<receiptLine>%s</receiptLine>\n"
	    "<!-- comment between items -->\n"
	    "<receiptLine><receiptLineType>Sale</receiptLineType>\n"
	    "<receiptLineName>X</receiptLineName>\n"
	    "<receiptLineQuantity>1</receiptLineQuantity>\n"
	    "<receiptLineTotal>1.005</receiptLineTotal>\n"
	    "<taxID>1</taxID></receiptLine>\n</receiptLines>\n"
	    "<receiptPayments><receiptPayment><moneyTypeCode>Cash"
	    "</moneyTypeCode><paymentAmount>0.29</paymentAmount>"
	    "</receiptPayment></receiptPayments>\n"
	    "<receiptTotal>0.29</receiptTotal></receipt>\n", LINE_OK);
	t = parse_s(doc, &f);
	CHECK(t == NULL, "1.005 accepted as an amount");
	EXPECT(&f, "SCHEMA", "receiptLines[1].receiptLineTotal", "line 12: ");
	EXPECT(&f, "SCHEMA", "receiptLines[1].receiptLineTotal", "1.005");
	cJSON_Delete(t);

	/* Missing receiptTotal: reported on the root. */
	t = parse_s("<receipt><receiptType>FiscalInvoice</receiptType>"
	    "<receiptCurrency>USD</receiptCurrency><invoiceNo>I</invoiceNo>"
	    "<receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>"
	    "<receiptLines><receiptLine>" LINE_OK "</receiptLine>"
	    "</receiptLines><receiptPayments><receiptPayment><moneyTypeCode>"
	    "Cash</moneyTypeCode><paymentAmount>0.29</paymentAmount>"
	    "</receiptPayment></receiptPayments></receipt>", &f);
	CHECK(t == NULL, "missing receiptTotal accepted");
	EXPECT(&f, "SCHEMA", "", "receiptTotal");
	cJSON_Delete(t);

	/* Unknown element, bad enum, bad TIN, each with its path. */
	t = parse_s(with_line(LINE_OK "<receiptLineColour>red"
	    "</receiptLineColour>", doc, sizeof(doc)), &f);
	CHECK(t == NULL, "unknown element accepted");
	EXPECT(&f, "SCHEMA", "receiptLines[0].receiptLineColour",
	    "not expected");
	cJSON_Delete(t);

	snprintf(line, sizeof(line), "%s", LINE_OK);
	memcpy(strstr(line, "Sale"), "Sold", 4);
	t = parse_s(with_line(line, doc, sizeof(doc)), &f);
	CHECK(t == NULL, "bad enum accepted");
	EXPECT(&f, "SCHEMA", "receiptLines[0].receiptLineType", "Sold");
	cJSON_Delete(t);

	t = parse_s("<receipt><buyerData><buyerTIN>123</buyerTIN></buyerData>"
	    "</receipt>", &f);
	CHECK(t == NULL, "bad TIN accepted");
	EXPECT(&f, "SCHEMA", "buyerData.buyerTIN", "123");
	cJSON_Delete(t);

	/*
	 * libxml2 quotes the value; a long one is cut to fit a finding, at
	 * a character boundary, so the error file stays valid UTF-8.
	 */
	{
		char notes[700], *p = notes;
		size_t i, k;

		for (i = 0; i < 200; i++) {
			memcpy(p, "\xe2\x82\xac", 3);	/* EURO SIGN */
			p += 3;
		}
		*p = '\0';
		snprintf(doc, sizeof(doc), "<receipt><receiptCurrency>%s"
		    "</receiptCurrency></receipt>", notes);
		t = parse_s(doc, &f);
		CHECK(t == NULL, "long currency accepted");
		EXPECT(&f, "SCHEMA", "receiptCurrency", "line 1: ");
		for (i = 0; i < f.n; i++) {
			const unsigned char *m =
			    (const unsigned char *)f.v[i].message;
			int whole = 1;

			for (k = 0; m[k] != '\0'; k++)
				if (m[k] == 0xe2 && (m[k + 1] != 0x82 ||
				    m[k + 2] != 0xac))
					whole = 0;
			CHECK(whole, "finding %zu cut inside a character", i);
		}
		cJSON_Delete(t);
	}

	/* Wrong root, namespaced root, attributes. */
	t = parse_s("<invoice/>", &f);
	CHECK(t == NULL, "wrong root accepted");
	EXPECT(&f, "SCHEMA", "", "invoice");
	cJSON_Delete(t);
	t = parse_s("<receipt xmlns=\"urn:x\"/>", &f);
	CHECK(t == NULL, "namespaced root accepted");
	EXPECT(&f, "SCHEMA", "", "namespace \"urn:x\"");
	cJSON_Delete(t);
	t = parse_s(with_line(LINE_OK, doc, sizeof(doc)), &f);
	CHECK(t != NULL, "baseline refused");
	cJSON_Delete(t);
	{
		char base[4096];
		const char *p;

		/* <receiptTotal currency="USD">: no attributes anywhere. */
		with_line(LINE_OK, base, sizeof(base));
		p = strstr(base, "<receiptTotal>") + 13;
		snprintf(doc, sizeof(doc), "%.*s currency=\"USD\"%s",
		    (int)(p - base), base, p);
		t = parse_s(doc, &f);
		CHECK(t == NULL, "attribute accepted");
		EXPECT(&f, "SCHEMA", "receiptTotal", "attribute \"currency\"");
		cJSON_Delete(t);
	}

	/* Without a schema the table still refuses what is not the format. */
	t = parse(SPEC_DOC "", strlen(SPEC_DOC), NULL, &f);
	CHECK(t != NULL, "no-schema baseline");
	cJSON_Delete(t);
	{
		const char *d = "<receipt><receiptLines><receiptTax/>"
		    "</receiptLines></receipt>";

		t = parse(d, strlen(d), NULL, &f);
	}
	CHECK(t == NULL, "wrong item accepted");
	EXPECT(&f, "SCHEMA", "receiptLines[0]", "holds only <receiptLine>");
	cJSON_Delete(t);
	t = parse_s("<receipt><receiptLine/></receipt>", &f);
	CHECK(t == NULL, "item outside its list accepted");
	cJSON_Delete(t);
	{
		static const char *const docs[] = {
			"<receipt><receiptLine/></receipt>",
			"<receipt><invoiceNo>a</invoiceNo><invoiceNo>b"
			    "</invoiceNo></receipt>",
			"<receipt>text<invoiceNo>a</invoiceNo></receipt>",
			"<receipt><invoiceNo>a<b/></invoiceNo></receipt>",
			"<receipt><receiptTotal>1e2</receiptTotal></receipt>",
			"<receipt><receiptTotal>+1</receiptTotal></receipt>",
			"<receipt><receiptTotal></receiptTotal></receipt>",
			"<receipt><receiptLinesTaxInclusive>yes"
			    "</receiptLinesTaxInclusive></receipt>",
			"<receipt><foo/></receipt>",
			"<other/>",
		};
		size_t i;

		for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
			t = parse(docs[i], strlen(docs[i]), NULL, &f);
			CHECK(t == NULL && has(&f, "SCHEMA", NULL, NULL),
			    "no-schema docs[%zu] accepted", i);
			cJSON_Delete(t);
		}
	}
}

static void
test_xsd_load(void)
{
	char err[256] = "";
	struct xsd *x;

	x = xsd_load("/nonexistent/receipt.xsd", err, sizeof(err));
	CHECK(x == NULL, "missing file loaded");
	CHECK(strstr(err, "/nonexistent/receipt.xsd") != NULL, "err: %s", err);
	err[0] = '\0';
	x = xsd_load("tests/unit/tap.h", err, sizeof(err));
	CHECK(x == NULL, "a C header loaded as XSD");
	CHECK(err[0] != '\0', "no reason given");
	err[0] = '\0';
	x = xsd_load("schemas/receipt.schema.json", err, sizeof(err));
	CHECK(x == NULL && err[0] != '\0', "JSON loaded as XSD");
}

int
main(void)
{
	char err[256] = "";

	if ((xsd = xsd_load(XSD_PATH, err, sizeof(err))) == NULL) {
		fprintf(stderr, "xsd_load: %s\n", err);
		CHECK(0, "cannot load %s", XSD_PATH);
		return tap_done();
	}
	test_convert();
	test_no_outside_access();
	test_entities();
	test_depth();
	test_flood();
	test_malformed();
	test_encoding();
	test_schema();
	test_xsd_load();
	CHECK(stderr_bytes == 0, "the reader wrote %zu bytes to stderr",
	    stderr_bytes);
	xsd_free(xsd);
	return tap_done();
}
