/*
 * result.h - the documents spoold writes for the POS (interface.md §3):
 * NAME.result.json / NAME.result.xml for a fiscalised receipt, and
 * NAME.error.json for a local rejection. Rendering only: writing them
 * atomically is util/fsutil's job.
 *
 * Amounts are rendered from integer cents; every string is escaped for its
 * format (JSON, XML); untrusted strings (file names, FDMS messages) are
 * bounded.
 */
#ifndef IO_RESULT_H
#define IO_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fiscal/receipt.h"

struct findings;

enum result_status {
	RESULT_SIGNED = 0,	/* fiscalised and journaled, not yet at FDMS */
	RESULT_SUBMITTED,	/* FDMS accepted it without validation errors */
	RESULT_FLAGGED		/* FDMS stored it with validation errors */
};

struct result_verr {
	const char	*code;		/* RCPTnnn */
	const char	*colour;	/* "Red", "Yellow", "Grey" or NULL */
	const char	*description;
};

struct result_info {
	const char		*file;		/* the input file's name */
	enum result_status	 status;
	int64_t			 device_id;
	int64_t			 fiscal_day_no;
	int64_t			 receipt_counter;
	int64_t			 receipt_global_no;
	const char		*invoice_no;
	enum receipt_type	 receipt_type;
	const char		*currency;
	const char		*receipt_date;	/* YYYY-MM-DDTHH:MM:SS */
	int64_t			 total;		/* cents */
	const char		*hash;		/* base64 */
	const char		*signature;	/* base64 */
	const char		*verification_code;	/* XXXX-XXXX-XXXX-XXXX */
	const char		*qr_url;	/* the full QR data */
	/* FDMS's answer, when there is one. */
	bool			 has_fdms;
	int64_t			 receipt_id;
	const char		*server_date;
	const char		*operation_id;
	const struct result_verr *verrs;
	size_t			 n_verrs;
};

/* malloc'd document text, NULL on allocation failure. */
char	*result_render_json(const struct result_info *);
char	*result_render_xml(const struct result_info *);
/*
 * The error file: file name, stage ("read", "parse", "schema", "validate",
 * "duplicate", "state"), every finding (code, path, message) and the local
 * time it was written.
 */
char	*result_render_error(const char *file, const char *stage,
	    const struct findings *, const char *time);
const char *result_status_name(enum result_status);	/* "signed" */

#endif
