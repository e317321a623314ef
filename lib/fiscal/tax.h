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
 * then taxCode (absent/empty first, then byte order); ties FDMS leaves
 * undefined (one taxID and code with two percents) go exempt first, then by
 * percent, so the order never depends on line order. An absent taxCode and
 * "" are the same group (the signature string cannot tell them apart).
 * Rounding is half to even on the magnitude: credit notes mirror invoices.
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
 * Compare r's receiptTaxes with the groups computed from its lines:
 * RCPT025 at receiptTaxes[i].taxID for a duplicate entry or an entry no line
 * has, and at receiptLines[k].taxID (first line of the group) for a group
 * with no entry; RCPT026 at receiptTaxes[i].taxAmount; RCPT027 at
 * receiptTaxes[i].salesAmountWithTax. Exact to the cent (no tolerance is
 * documented). Returns 0, or -1 on allocation failure.
 */
int	tax_check(const struct receipt *r, struct findings *f);

/*
 * When r has no receiptTaxes (!has_taxes), fill r->taxes/n_taxes from the
 * lines, in signature order; has_taxes stays false (it records the input).
 * When it has, tax_check() them and change nothing. Returns 0, or -1 on
 * allocation failure.
 */
int	tax_apply(struct receipt *r, struct findings *f);

/* Sort r->taxes into signature order (as above); stable. */
void	tax_sort(struct receipt *r);

#endif
