/*
 * device.h - a fiscal device's runtime: what spoold and spoolctl need in
 * memory to sign for a device and to talk to FDMS on its behalf.
 *
 *	struct device d;
 *	if (device_load(&d, store, cfg, &cfg->devices[i], fkey, err, n) == -1)
 *		... not registered, key unreadable, ...
 *	fdms_start(client, &d.fdms, &req, udata);	 mTLS as this device
 *	sign_b64(d.key, ...);				 the signing key
 *	d.config (when d.has_config)			 the journal's GetConfig
 *	device_free(&d);
 *
 * The pieces are also usable one by one (spoolctl's device commands):
 * device_key_load, device_identity_new, device_config_put/get,
 * device_client_new.
 *
 * SECURITY: the private key is decrypted once, into an OpenSSL key object
 * (struct sigkey) and the TLS identity; the decrypted PEM is wiped at once.
 * Neither ever reaches a log.  The stored GetConfig is FDMS's answer as
 * journaled: parsed again by the same bounded decoder as the live answer.
 */
#ifndef SPOOL_DEVICE_H
#define SPOOL_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdms/fdms.h"

struct config;
struct config_device;
struct sigkey;
struct store;

/*
 * A device block (store_device_block) whose reason starts with this was
 * set by spoold's outbox after FDMS flagged a receipt Red or Grey.  Only
 * an explicit admin action may lift it: `spoolctl resync` does not.
 */
#define DEVICE_BLOCK_FLAGGED	"FDMS flagged receipt"

/*
 * The admin's side of that block: lift it once the flagged receipt has
 * been dealt with (for spoolctl; a running spoold resumes within
 * OUTBOX_RECHECK_MS).  1 lifted (reason gets what it said), 0 the device
 * has no such block (a block of resync's is resync's to lift), -1 journal
 * error.
 */
int	device_flag_lift(struct store *, int64_t device_id, char *reason,
	    size_t reasonlen);

struct device {
	const struct config_device *conf;	/* the caller's configuration */
	int64_t			 id;
	const char		*name;		/* conf->name */
	struct sigkey		*key;		/* the signing key */
	struct fdms_identity	*identity;	/* current certificate + key */
	int64_t			 cert_id;	/* journal id of that certificate */
	char			 cert_not_after[20];	/* UTC, "" unknown */
	struct fdms_device	 fdms;		/* for fdms_start / fdms_call */
	bool			 has_config;
	struct fdms_reply	 config;	/* config.u.config: GetConfig */
};

/*
 * Load dev's runtime from the journal: the current certificate, the key
 * (decrypted with fkey, NULL when the journal holds it in the clear) and
 * the last GetConfig (has_config false when never fetched).  0, or -1
 * with the reason in err (e.g. "not registered: run spoolctl register").
 */
int	device_load(struct device *, struct store *,
	    const struct config_device *, const unsigned char *fkey,
	    char *err, size_t errlen);
void	device_free(struct device *);
/* Point at another (reloaded) configuration's section of the same device. */
void	device_set_conf(struct device *, const struct config_device *);

/* The journal's key (NULL and err: none, or the wrong Fernet key). */
struct sigkey *device_key_load(struct store *, int64_t device_id,
	    const unsigned char *fkey, char *err, size_t errlen);
/* The TLS identity of the current certificate and key; *cert_id may be NULL. */
struct fdms_identity *device_identity_new(struct store *, int64_t device_id,
	    const struct sigkey *, int64_t *cert_id, char *err, size_t errlen);

/*
 * A certificate from IssueCertificate (same key): checked against the key,
 * journaled as the current one, and the identity switched over.  No call
 * of this device may be in flight (the old identity is freed).  0 or -1.
 */
int	device_install_cert(struct device *, struct store *, const char *pem,
	    char *err, size_t errlen);

/* GetConfig answer into the journal, in FDMS's own field names. */
int	device_config_put(struct store *, int64_t device_id,
	    const struct fdms_config *);
/*
 * The journaled GetConfig parsed into out (fdms_reply_free it).  1 found,
 * 0 never fetched, -1 unreadable (the reply's res says why).
 */
int	device_config_get(struct store *, int64_t device_id,
	    struct fdms_reply *out);
/* Re-read dev->config from the journal (after a GetConfig was stored). */
int	device_config_reload(struct device *, struct store *);
/* Offline operating mode per the last GetConfig. */
bool	device_offline(const struct device *);

/*
 * The configuration's FDMS client: base URL, CA file, http:// only in
 * development; SPOOLD_FDMS_TIMEOUT_MS (tests) shortens the timeouts.
 */
struct fdms_client *device_client_new(const struct config *, char *err,
	    size_t errlen);

#endif
