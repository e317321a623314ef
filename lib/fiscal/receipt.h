/*
 * receipt.h - the one receipt model every reader fills and every rule reads.
 *
 * It mirrors the FDMS receipt object (fdms-reference §3.1) field by field, in
 * exact units: amounts in int64 cents, quantities and prices in micro-units
 * (6 decimals), tax percents in hundredths (15.5 -> 1550). Optional fields
 * carry a has_ flag or are NULL strings; "absent" and "zero" are different
 * facts (an exempt tax has no percent, a zero-rated one has percent 0).
 *
 * All memory, strings included, belongs to the receipt's arena: a receipt
 * is freed with receipt_free() and nothing else.
 *
 * Trust: a receipt fresh from a reader is syntactically valid (types, scales,
 * ranges) but otherwise untrusted; rules_check() says what FDMS would object to.
 */
#ifndef FISCAL_RECEIPT_H
#define FISCAL_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define RECEIPT_MAX_LINES	1000
#define RECEIPT_MAX_TAXES	100
#define RECEIPT_MAX_PAYMENTS	100
#define RECEIPT_DATE_LEN	19	/* YYYY-MM-DDTHH:MM:SS */

enum receipt_type {
	RECEIPT_FISCAL_INVOICE = 0,
	RECEIPT_CREDIT_NOTE,
	RECEIPT_DEBIT_NOTE
};

enum line_type {
	LINE_SALE = 0,
	LINE_DISCOUNT
};

/* FDMS enum order: it is the sort order of BalanceByMoneyType counters. */
enum money_type {
	MONEY_CASH = 0,
	MONEY_CARD,
	MONEY_MOBILE_WALLET,
	MONEY_COUPON,
	MONEY_CREDIT,
	MONEY_BANK_TRANSFER,
	MONEY_OTHER,
	MONEY_TYPE_COUNT
};

enum print_form {
	PRINT_RECEIPT48 = 0,
	PRINT_INVOICE_A4
};

struct receipt_line {
	enum line_type	 type;
	bool		 has_line_no;
	int64_t		 line_no;
	const char	*hs_code;		/* NULL: absent */
	const char	*name;
	bool		 has_price;
	int64_t		 price;			/* micro-units */
	int64_t		 quantity;		/* micro-units */
	int64_t		 total;			/* cents */
	const char	*tax_code;		/* NULL: absent */
	bool		 has_tax_percent;	/* false: exempt */
	int32_t		 tax_percent;		/* hundredths */
	int64_t		 tax_id;
};

struct receipt_tax {
	const char	*tax_code;		/* NULL: absent */
	bool		 has_tax_percent;	/* false: exempt */
	int32_t		 tax_percent;		/* hundredths */
	int64_t		 tax_id;
	int64_t		 tax_amount;		/* cents */
	int64_t		 sales_amount_with_tax;	/* cents */
};

struct receipt_payment {
	enum money_type	 money_type;
	int64_t		 amount;		/* cents */
};

struct receipt_buyer {
	bool		 present;
	const char	*register_name, *trade_name, *tin, *vat_number;
	const char	*phone_no, *email;	/* buyerContacts */
	const char	*province, *city, *street, *house_no, *district;
	bool		 has_address, has_contacts;
};

/* creditDebitNote: by FDMS receiptID, by device+global+day, or by invoiceNo. */
struct receipt_cdn {
	bool		 present;
	bool		 has_receipt_id;
	int64_t		 receipt_id;
	bool		 has_device_id, has_global_no, has_fiscal_day_no;
	int64_t		 device_id, receipt_global_no, fiscal_day_no;
	const char	*invoice_no;		/* our extension, NULL: absent */
};

struct receipt {
	struct arena		*arena;

	/* From a {"deviceID":..,"previousReceiptHash":..,"receipt":{..}} wrapper. */
	bool			 has_device_id;
	int64_t			 device_id;
	const char		*previous_hash;	/* NULL: none (first of day) */

	enum receipt_type	 type;
	const char		*currency;	/* as given; rules check it */
	bool			 has_counter, has_global_no;
	int64_t			 counter, global_no;
	const char		*invoice_no;
	struct receipt_buyer	 buyer;
	const char		*notes;		/* NULL: absent */
	const char		*date;		/* NULL: absent (daemon stamps it) */
	struct receipt_cdn	 cdn;
	bool			 taxes_inclusive;
	struct receipt_line	*lines;
	size_t			 n_lines;
	bool			 has_taxes;	/* receiptTaxes given in input */
	struct receipt_tax	*taxes;
	size_t			 n_taxes;
	struct receipt_payment	*payments;
	size_t			 n_payments;
	int64_t			 total;		/* cents */
	bool			 has_print_form;
	enum print_form		 print_form;
	const char		*sig_hash;	/* receiptDeviceSignature.hash, NULL: absent */
	const char		*sig_signature;	/* receiptDeviceSignature.signature */
};

struct receipt	*receipt_new(size_t arena_limit);
void		 receipt_free(struct receipt *);

const char	*receipt_type_name(enum receipt_type);	/* "FiscalInvoice" */
const char	*receipt_type_upper(enum receipt_type);	/* "FISCALINVOICE" */
int		 receipt_type_parse(const char *, enum receipt_type *);
const char	*money_type_name(enum money_type);	/* "Cash" */
const char	*money_type_upper(enum money_type);	/* "CASH" */
int		 money_type_parse(const char *, enum money_type *);
const char	*line_type_name(enum line_type);
int		 line_type_parse(const char *, enum line_type *);
const char	*print_form_name(enum print_form);
int		 print_form_parse(const char *, enum print_form *);

#endif
