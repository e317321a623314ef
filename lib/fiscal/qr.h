/*
 * qr.h - receipt QR data and verification code (fdms-reference §5).
 *
 * qrData = qrUrl "/" deviceID(10 digits) receiptDate(ddMMyyyy)
 *          receiptGlobalNo(10 digits) first 16 upper-case hex of
 *          MD5(raw signature bytes); no "//" when qrUrl ends in "/".
 * The printed verification code is those 16 characters as XXXX-XXXX-XXXX-XXXX.
 */
#ifndef FISCAL_QR_H
#define FISCAL_QR_H

#include <stddef.h>
#include <stdint.h>

#define QR_HEX_LEN	16
#define QR_CODE_LEN	19	/* with the three dashes */

/* hex16: QR_HEX_LEN + 1 bytes. -1 when the signature is not base64. */
int	qr_md5_hex16(const char *sig_b64, char *hex16);
/* code: QR_CODE_LEN + 1 bytes. */
int	qr_verification_code(const char *sig_b64, char *code);
/*
 * Full QR data. receipt_date "YYYY-MM-DDTHH:MM:SS". Returns 0, or -1 on a
 * bad date/signature or when out is too small.
 */
int	qr_data(const char *qr_url, int64_t device_id, const char *receipt_date,
	    int64_t global_no, const char *sig_b64, char *out, size_t outlen);

#endif
