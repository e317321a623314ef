/*
 * rules.h - FDMS receipt validation rules that can be checked locally
 * (fdms-reference §3, §6.6: RCPT010..RCPT048).
 *
 * rules_check() is a pure function of the receipt and the context: no I/O.
 * What it cannot know from the receipt alone comes from the context; a NULL
 * or zero context field means "unknown" (except vat_payer: 0 is "no") and
 * the rules that need it are skipped (so `spoolctl inspect` without a
 * journal checks what it can).
 * Rules that need the journal (original of a credit note, invoice number
 * uniqueness) go through callbacks so this module never touches storage.
 *
 * Not checked here: RCPT020 (signature) - see sign.h/sigstr.h, and the
 * checks FDMS alone can make (its own copy of the chain when ours is lost).
 */
#ifndef FISCAL_RULES_H
#define FISCAL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct receipt;
struct receipt_cdn;
struct findings;

/* One applicableTaxes entry of GetConfig. */
struct tax_def {
	int64_t		 tax_id;
	bool		 has_percent;		/* false: exempt */
	int32_t		 percent;		/* hundredths */
	const char	*name;
	const char	*valid_from;		/* YYYY-MM-DD[...], NULL: open */
	const char	*valid_till;		/* NULL: open */
};

/* What the journal knows about the original of a credit/debit note. */
struct original_receipt {
	int64_t		 receipt_id;
	const char	*date;			/* receiptDate of the original */
	const char	*currency;
	int64_t		 total;			/* cents, the original's receiptTotal */
	/*
	 * Sum of the totals of the credit/debit notes already issued against
	 * it (CN negative, DN positive), not counting the note being checked.
	 */
	int64_t		 adjusted;
	const struct tax_key {
		int64_t	 tax_id;
		bool	 has_percent;
		int32_t	 percent;
	}		*taxes;
	size_t		 n_taxes;
};

/*
 * Returns 1 found (fills *out), 0 not found, -1 lookup failed. Return 0 only
 * when the journal is authoritative for that reference: 0 is a Red RCPT032.
 * RCPT035 (credit notes only) fires when
 *	out->total + out->adjusted + r->total < 0,
 * i.e. |this credit| + |earlier credits| > original total + earlier debits.
 */
typedef int (*original_lookup_fn)(void *arg, const struct receipt_cdn *ref,
		    struct original_receipt *out);
/* Returns 1 when invoiceNo is already used by this taxpayer, 0 when not. */
typedef int (*invoice_used_fn)(void *arg, const char *invoice_no);

struct rules_ctx {
	const struct tax_def	*taxes;		/* GetConfig applicableTaxes */
	size_t			 n_taxes;
	int			 vat_payer;	/* 1 yes, 0 no, -1 unknown: set
						   it, a zeroed context says
						   "not a VAT payer" */

	/* The previous receipt of this device (chain checks). */
	bool			 has_prev;
	int64_t			 prev_counter;	/* 0 when first of the day */
	int64_t			 prev_global_no;
	const char		*prev_date;	/* NULL: first of the day */

	const char		*day_opened;	/* fiscalDayOpened, NULL: unknown */
	int			 day_max_hours;	/* 0: unknown */
	const char		*now;		/* local time, NULL: skip RCPT031 */

	original_lookup_fn	 lookup_original;
	invoice_used_fn		 invoice_used;
	void			*cb_arg;
};

/* RCPT031: how far ahead of ctx->now a receiptDate may be (clock skew). */
#define RULES_FUTURE_SKEW_SECONDS	300

/*
 * Check every rule that the context allows; ctx NULL means nothing is known
 * (vat_payer -1). Also checks the receiptTaxes against the lines
 * (RCPT025..027, via tax_check()) when r->has_taxes. Findings are appended
 * to f: FDMS codes with FDMS's colour, and codes of ours with COLOUR_NONE:
 * DATE (a date that does not parse; path "" when it came from the context),
 * LINE_NO, TAX_CODE, LOOKUP (lookup_original failed), TOO_LARGE (arena full).
 */
void	rules_check(const struct receipt *r, const struct rules_ctx *ctx,
	    struct findings *f);

#endif
