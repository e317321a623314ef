/*
 * tax.h - receipt taxes from receipt lines (fdms-reference §3.1, §3.2).
 *
 * Lines are grouped by (taxID, taxPercent or exempt, taxCode); per group
 *   inclusive: salesAmountWithTax = sum(lineTotal),
 *              taxAmount = round_half_even(sum * p / (100 + p))
 *   exclusive: taxAmount = round_half_even(sum * p / 100),
 *              salesAmountWithTax = sum + taxAmount
 *   exempt and 0%: taxAmount = 0.
 * Groups are ordered as the signature string orders them: taxID ascending,
 * then taxCode (absent/empty first, then byte order).
 */
#ifndef FISCAL_TAX_H
#define FISCAL_TAX_H

#include <stddef.h>

struct receipt;
struct receipt_tax;
struct findings;

/*
 * Compute the tax groups of r's lines into a new array from r's arena.
 * Returns the number of groups, or -1 on allocation failure.
 */
long	tax_compute(const struct receipt *r, struct receipt_tax **out);

/*
 * When r has no receiptTaxes, fill them in from the lines. When it has,
 * compare them with the computed groups and report RCPT026 (taxAmount) and
 * RCPT027 (salesAmountWithTax) at the offending receiptTaxes[i] path, and
 * RCPT025 when a group is missing or extra. Returns 0, or -1 on allocation
 * failure.
 */
int	tax_apply(struct receipt *r, struct findings *f);

/* Sort r->taxes into signature order (taxID, then taxCode). */
void	tax_sort(struct receipt *r);

#endif
