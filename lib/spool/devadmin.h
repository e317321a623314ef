/*
 * devadmin.h - device administration: what `spoolctl register`, `config`,
 * `status`, `open-day`, `ping`, `renew-cert`, `resync` and `cert` do
 * (interface.md §1), over the journal (store/) and the FDMS client (fdms/).
 *
 * Every function returns a spoolctl exit status: 0 done, 1 refused or
 * failed (the reason on stderr), 2 configuration or usage problem.
 * Output for people goes to `out`; errors to stderr, each naming the device.
 */
#ifndef SPOOL_DEVADMIN_H
#define SPOOL_DEVADMIN_H

#include <stdbool.h>
#include <stdio.h>

#include "fiscal/sign.h"

struct config;
struct config_device;
struct store;
struct fdms_client;

struct devadmin {
	struct config			*cfg;
	const struct config_device	*dev;		/* the selected device */
	struct store			*store;
	struct fdms_client		*client;
	bool				 has_fkey;
	unsigned char			 fkey[32];	/* FDMS_ENCRYPTION_KEY */
};

/*
 * Load and check the configuration (path NULL: the default search), pick
 * the device (name NULL: the only one; several need --device), set the
 * time zone, open the journal and an FDMS client. all_devices: do not pick
 * one (status). Returns 0, or an exit status with the reason printed.
 */
int	devadmin_open(struct devadmin *, const char *config_path,
	    const char *device_name, bool all_devices);
void	devadmin_close(struct devadmin *);
/* Select another configured device (status over all of them). */
void	devadmin_select(struct devadmin *, size_t index);

int	devadmin_register(struct devadmin *, enum sigkey_type, FILE *out);
int	devadmin_config(struct devadmin *, FILE *out);
int	devadmin_status(struct devadmin *, bool json, FILE *out);
int	devadmin_open_day(struct devadmin *, const char *opened_at, FILE *out);
int	devadmin_ping(struct devadmin *, FILE *out);
int	devadmin_renew_cert(struct devadmin *, FILE *out);
int	devadmin_resync(struct devadmin *, FILE *out);
int	devadmin_cert(struct devadmin *, FILE *out);
/*
 * Lift the stop spoold puts on a device after FDMS flagged a receipt Red
 * or Grey, once the admin has dealt with it (spoolctl unblock). A block
 * set by resync is not lifted here: resync lifts it when the journal and
 * FDMS agree again.
 */
int	devadmin_unblock(struct devadmin *, FILE *out);

#endif
