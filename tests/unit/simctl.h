/*
 * simctl.h - start, drive and stop the FDMS simulator from a C test
 * (tests/fdms-sim/fdms-sim, interface.md §10). Header-only: each test
 * program that talks to the simulator includes it once.
 *
 * FDMS_SIM_URL and FDMS_SIM_CA point the tests at a simulator already
 * running; otherwise one is started on a free port with its state in a
 * temporary directory, read until its READY line, and stopped (SIGTERM,
 * state removed) by sim_stop(). A missing simulator fails the test loudly.
 */
#ifndef TESTS_SIMCTL_H
#define TESTS_SIMCTL_H

#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tap.h"
#include "util/buf.h"

#define SIM_PATH	"tests/fdms-sim/fdms-sim"

struct sim {
	pid_t	pid;
	char	url[256];
	char	ca[PATH_MAX];
	char	dir[64];
};

static struct sim sim;

/* ---- the simulator process ---- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
sim_start(void)
{
	const char *url = getenv("FDMS_SIM_URL"), *ca = getenv("FDMS_SIM_CA");
	char line[1024], *p, *sp;
	int fds[2], rc, off = 0;
	struct pollfd pfd;
	time_t t0;
	ssize_t n;

	if (url != NULL && ca != NULL) {
		snprintf(sim.url, sizeof(sim.url), "%s", url);
		snprintf(sim.ca, sizeof(sim.ca), "%s", ca);
		sim.pid = -1;
		return 0;
	}
	if (access(SIM_PATH, X_OK) != 0) {
		fprintf(stderr, "FAIL: %s is missing or not executable: the live "
		    "FDMS tests cannot run\n", SIM_PATH);
		return -1;
	}
	snprintf(sim.dir, sizeof(sim.dir), "/tmp/fdms-sim-XXXXXX");
	if (mkdtemp(sim.dir) == NULL || pipe(fds) == -1)
		return -1;
	if ((sim.pid = fork()) == -1)
		return -1;
	if (sim.pid == 0) {
		char *argv[] = { (char *)SIM_PATH, (char *)"--listen",
		    (char *)"127.0.0.1:0", (char *)"--state", sim.dir,
		    (char *)"--close-delay-s", (char *)"0", NULL };

		/* Never outlive the test, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	t0 = time(NULL);
	line[0] = '\0';
	for (;;) {
		if (time(NULL) - t0 > 60) {
			fprintf(stderr, "FAIL: no READY line from the simulator\n");
			close(fds[0]);
			return -1;
		}
		if ((rc = poll(&pfd, 1, 1000)) <= 0)
			continue;
		n = read(fds[0], line + off, sizeof(line) - 1 - (size_t)off);
		if (n <= 0) {
			fprintf(stderr, "FAIL: the simulator exited before READY\n");
			close(fds[0]);
			return -1;
		}
		off += (int)n;
		line[off] = '\0';
		if ((p = strstr(line, "READY ")) != NULL && strchr(p, '\n') != NULL)
			break;
		if ((size_t)off >= sizeof(line) - 1)
			off = 0;
	}
	close(fds[0]);	/* later stdout from the simulator: EPIPE, harmless */
	p += 6;
	*strchr(p, '\n') = '\0';
	if ((sp = strstr(p, " ca=")) == NULL)
		return -1;
	*sp = '\0';
	snprintf(sim.url, sizeof(sim.url), "%s", p);
	snprintf(sim.ca, sizeof(sim.ca), "%s", sp + 4);
	return 0;
}

static void
sim_stop(void)
{
	int st;

	if (sim.pid > 0) {
		kill(sim.pid, SIGTERM);
		waitpid(sim.pid, &st, 0);
		sim.pid = -1;
	}
	if (sim.dir[0] != '\0')
		nftw(sim.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t
collect_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_add(ud, p, size * n) == 0 ? size * n : 0;
}

/* The simulator's own /_sim endpoints (plain curl, server verified). */
static long
sim_http(const char *method, const char *path, const char *body,
    struct buf *out)
{
	char url[512];
	CURL *e = curl_easy_init();
	long code = 0;

	if (e == NULL)
		return 0;
	snprintf(url, sizeof(url), "%s%s", sim.url, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAINFO, sim.ca);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	return code;
}

static void
fault(const char *spec)
{
	struct buf b;

	buf_init(&b, 65536);
	CHECK_INT(sim_http("POST", "/_sim/fault", spec, &b), 200);
	buf_free(&b);
}

static void
faults_clear(void)
{
	struct buf b;

	buf_init(&b, 65536);
	CHECK_INT(sim_http("DELETE", "/_sim/fault", NULL, &b), 200);
	buf_free(&b);
}

/*
 * The test receipt both live tests submit: the §8 sale (bread exempt,
 * soap at 15.5%, 16.55 cash) with the given numbers, invoice number and
 * date. bread_total "5.00" makes it valid; anything else makes FDMS flag
 * it Red (RCPT019/024/027).
 */
static inline void
sim_test_receipt(char *doc, size_t len, int64_t counter, int64_t global,
    const char *invoice, const char *date, const char *bread_total)
{
	snprintf(doc, len,
	    "{\"receiptType\":\"FiscalInvoice\",\"receiptCurrency\":\"USD\","
	    "\"receiptCounter\":%" PRId64 ",\"receiptGlobalNo\":%" PRId64 ","
	    "\"invoiceNo\":\"%s\",\"receiptDate\":\"%s\","
	    "\"receiptLinesTaxInclusive\":true,\"receiptLines\":["
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":1,"
	    "\"receiptLineHSCode\":\"12345678\",\"receiptLineName\":\"Bread\","
	    "\"receiptLinePrice\":5.00,\"receiptLineQuantity\":1,"
	    "\"receiptLineTotal\":%s,\"taxID\":1},"
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":2,"
	    "\"receiptLineHSCode\":\"87654321\",\"receiptLineName\":\"Soap\","
	    "\"receiptLinePrice\":11.55,\"receiptLineQuantity\":1,"
	    "\"receiptLineTotal\":11.55,\"taxPercent\":15.5,\"taxID\":517}],"
	    "\"receiptTaxes\":[{\"taxID\":1,\"taxAmount\":0,"
	    "\"salesAmountWithTax\":5.00},{\"taxID\":517,\"taxPercent\":15.5,"
	    "\"taxAmount\":1.55,\"salesAmountWithTax\":11.55}],"
	    "\"receiptPayments\":[{\"moneyTypeCode\":\"Cash\","
	    "\"paymentAmount\":16.55}],\"receiptTotal\":16.55,"
	    "\"receiptPrintForm\":\"Receipt48\"}",
	    counter, global, invoice, date, bread_total);
}

#endif
