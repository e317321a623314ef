/*
 * receipt.c - receipt model lifetime and the FDMS enum spellings.
 *
 * Enum names are matched exactly (canonical camel case): the schemas accept
 * only these spellings, so what we sign is what the POS wrote.
 */
#include "fiscal/receipt.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

static const char *const type_names[] = {
	"FiscalInvoice", "CreditNote", "DebitNote"
};
static const char *const type_upper[] = {
	"FISCALINVOICE", "CREDITNOTE", "DEBITNOTE"
};
static const char *const money_names[] = {
	"Cash", "Card", "MobileWallet", "Coupon", "Credit", "BankTransfer", "Other"
};
static const char *const money_upper[] = {
	"CASH", "CARD", "MOBILEWALLET", "COUPON", "CREDIT", "BANKTRANSFER", "OTHER"
};
static const char *const line_names[] = { "Sale", "Discount" };
static const char *const form_names[] = { "Receipt48", "InvoiceA4" };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct receipt *
receipt_new(size_t arena_limit)
{
	struct arena *a;
	struct receipt *r;

	if ((a = arena_new(arena_limit)) == NULL)
		return NULL;
	if ((r = arena_alloc(a, sizeof(*r))) == NULL) {
		arena_free(a);
		return NULL;
	}
	r->arena = a;
	return r;
}

void
receipt_free(struct receipt *r)
{
	if (r != NULL)
		arena_free(r->arena);	/* r itself lives in the arena */
}

static int
lookup(const char *const *names, size_t n, const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
receipt_type_name(enum receipt_type t)
{
	return (size_t)t < NELEM(type_names) ? type_names[t] : "?";
}

const char *
receipt_type_upper(enum receipt_type t)
{
	return (size_t)t < NELEM(type_upper) ? type_upper[t] : "?";
}

int
receipt_type_parse(const char *s, enum receipt_type *out)
{
	int i = lookup(type_names, NELEM(type_names), s);

	if (i < 0)
		return -1;
	*out = (enum receipt_type)i;
	return 0;
}

const char *
money_type_name(enum money_type t)
{
	return (size_t)t < NELEM(money_names) ? money_names[t] : "?";
}

const char *
money_type_upper(enum money_type t)
{
	return (size_t)t < NELEM(money_upper) ? money_upper[t] : "?";
}

int
money_type_parse(const char *s, enum money_type *out)
{
	int i = lookup(money_names, NELEM(money_names), s);

	if (i < 0)
		return -1;
	*out = (enum money_type)i;
	return 0;
}

const char *
line_type_name(enum line_type t)
{
	return (size_t)t < NELEM(line_names) ? line_names[t] : "?";
}

int
line_type_parse(const char *s, enum line_type *out)
{
	int i = lookup(line_names, NELEM(line_names), s);

	if (i < 0)
		return -1;
	*out = (enum line_type)i;
	return 0;
}

const char *
print_form_name(enum print_form f)
{
	return (size_t)f < NELEM(form_names) ? form_names[f] : "?";
}

int
print_form_parse(const char *s, enum print_form *out)
{
	int i = lookup(form_names, NELEM(form_names), s);

	if (i < 0)
		return -1;
	*out = (enum print_form)i;
	return 0;
}
