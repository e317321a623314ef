/*
 * counters.h - fiscal day counters (fdms-reference §4.3, §4.4, §6.3).
 *
 * Seven counter types accumulated from each receipt's receiptTaxes and
 * receiptPayments in int64 cents; credit notes are already negative on the
 * receipt and are added as they are. Zero counters are never rendered or
 * sent. The canonical order (used for the close-day string AND the JSON
 * array) is defined by one table in counters.c, counter_order[], so a
 * change FDMS may force (e.g. taxID before currency) is a one-line edit.
 */
#ifndef FISCAL_COUNTERS_H
#define FISCAL_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fiscal/receipt.h"

struct buf;

/* FDMS enum order 0..6. */
enum counter_type {
	COUNTER_SALE_BY_TAX = 0,
	COUNTER_SALE_TAX_BY_TAX,
	COUNTER_CREDIT_NOTE_BY_TAX,
	COUNTER_CREDIT_NOTE_TAX_BY_TAX,
	COUNTER_DEBIT_NOTE_BY_TAX,
	COUNTER_DEBIT_NOTE_TAX_BY_TAX,
	COUNTER_BALANCE_BY_MONEY_TYPE,
	COUNTER_TYPE_COUNT
};

struct counter {
	enum counter_type	 type;
	char			 currency[4];
	int64_t			 tax_id;	/* byTax types */
	bool			 has_percent;	/* byTax types; false: exempt */
	int32_t			 percent;	/* hundredths */
	enum money_type		 money_type;	/* BalanceByMoneyType */
	int64_t			 value;		/* cents */
};

#define COUNTERS_MAX	4096

struct counters {
	struct counter	*v;
	size_t		 n, cap;
};

void	counters_init(struct counters *);
void	counters_free(struct counters *);
/* Add r's taxes and payments. -1 on bad currency, overflow or no memory. */
int	counters_add_receipt(struct counters *, const struct receipt *r);
/* Add one counter value (merging with an equal key). */
int	counters_add(struct counters *, const struct counter *);
/* Drop zero counters and sort into canonical order. */
void	counters_finish(struct counters *);
const char *counter_type_name(enum counter_type);	/* "SaleByTax" */
int	counter_type_parse(const char *, enum counter_type *);
/* Render one counter line of the close-day string into b. */
int	counter_render(const struct counter *, struct buf *b);

#endif
