/*
 * inspect.h - explain a receipt the way FDMS will judge it (spoolctl
 * inspect, interface.md §1): the exact signature input string, its hash,
 * the signature with a given key, the QR data and verification code, and
 * every rule the receipt breaks. RCPT020 "signature not valid" is the top
 * complaint of FDMS integrators; this shows the bytes behind it.
 *
 * Needs no configuration and no database.
 */
#ifndef IO_INSPECT_H
#define IO_INSPECT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fiscal/findings.h"
#include "fiscal/qr.h"
#include "fiscal/sign.h"

struct doc_schemas;

#define INSPECT_DEFAULT_QR_URL	"https://fdmstest.zimra.co.zw"

struct inspect_opts {
	const char		*path;
	bool			 has_device_id;
	int64_t			 device_id;	/* overrides the document's */
	const char		*prev_hash;	/* NULL: the document's */
	const char		*key_path;	/* PEM private key, cert or pubkey */
	const char		*qr_url;	/* NULL: INSPECT_DEFAULT_QR_URL */
	const struct doc_schemas *schemas;	/* NULL: no schema check */
};

struct inspect_report {
	char		*signature_input;	/* NULL when it cannot be built */
	char		 hash[SHA256_B64_LEN + 1];
	char		 signature[SIG_B64_MAX + 1];	/* with --key */
	char		 qr_data[512];
	char		 verification_code[QR_CODE_LEN + 1];
	const char	*qr_url;
	const char	*stage;			/* where reading stopped, or NULL */
	struct findings	 findings;
};

/* 0 when the report was produced (findings or not), -1 on usage-type
 * problems (unreadable key file...), message in err. */
int	 inspect_run(const struct inspect_opts *, struct inspect_report *,
	    char *err, size_t errlen);
void	 inspect_report_free(struct inspect_report *);
void	 inspect_print_text(FILE *, const struct inspect_opts *,
	    const struct inspect_report *);
/* One JSON document (malloc'd), keys as interface.md §1 lists them. */
char	*inspect_to_json(const struct inspect_report *);

#endif
