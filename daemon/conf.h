/*
 * conf.h: the daemon's settings as a plain struct.  conf.c reads the
 * libconfig file once, validates every value, and destroys the config_t;
 * nothing else in the daemon touches libconfig.
 */
#ifndef SC_CONF_H
#define SC_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_LISTEN		16
#define CONF_DEFAULT_FILE	SYSCONFDIR "/securechat.conf"

enum registration {
	REG_OPEN,
	REG_INVITE,
	REG_CLOSED,
};

struct conf_listen {
	char		 address[64];	/* numeric IPv4 or IPv6 address */
	uint16_t	 port;
};

struct conf {
	char		 path[PATH_MAX];	/* file read, "" for built-ins */
	struct conf_listen listen[CONF_MAX_LISTEN];
	size_t		 nlisten;
	char		 user[64];
	char		 state_dir[PATH_MAX];
	char		 runtime_dir[PATH_MAX];
	char		 empty_dir[PATH_MAX];
	char		 tls_certificate[PATH_MAX];
	char		 tls_private_key[PATH_MAX];
	int		 tls_generate;
	unsigned int	 max_clients;
	unsigned int	 max_clients_per_ip;
	/* Per-prefix limits count addresses in prefixes of these lengths. */
	unsigned int	 ipv4_prefix;
	unsigned int	 ipv6_prefix;
	unsigned int	 max_clients_per_prefix;
	/* New connections per second, and at once, before any fork. */
	unsigned int	 accept_rate;
	unsigned int	 accept_burst;
	unsigned int	 accept_rate_per_prefix;
	unsigned int	 accept_burst_per_prefix;
	unsigned int	 max_frame_bytes;
	unsigned int	 handshake_timeout;	/* seconds */
	unsigned int	 idle_timeout;		/* seconds */
	unsigned int	 login_timeout;		/* seconds, from accept */
	unsigned int	 message_rate;		/* per user, per second */
	unsigned int	 message_burst;
	unsigned int	 request_rate;		/* per user, per second */
	unsigned int	 request_burst;
	unsigned int	 storage_mib_per_day;	/* per user */
	unsigned int	 storage_burst_mib;
	unsigned int	 inbox_max_messages;	/* per recipient, stored */
	unsigned int	 inbox_max_mib;
	unsigned int	 registrations_per_hour; /* per address prefix */
	unsigned int	 room_creates_per_hour;	/* per address prefix */
	unsigned int	 max_rooms_per_user;
	unsigned int	 max_members_per_room;
	unsigned int	 max_rooms;
	unsigned int	 retention;		/* days; 0 = until read */
	unsigned int	 rekey_min;		/* seconds */
	unsigned int	 rekey_max;		/* seconds */
	enum registration registration;
	int		 log_level;		/* LOG_LEVEL_* */
};

/* The built-in defaults; every option has one. */
void	 conf_defaults(struct conf *c);
/*
 * Read path over the defaults.  When must_exist is 0 a missing file leaves
 * the defaults in place.  On error returns -1 with "FILE:LINE: ..." naming
 * the option in err.
 */
int	 conf_load(struct conf *c, const char *path, int must_exist, char *err,
	    size_t errsz);
/*
 * SIGHUP: copy from fresh into live what can change while running, and
 * for each value that cannot, call report(option name) and keep the live
 * one.  Returns the number of values kept.
 */
int	 conf_reload(struct conf *live, const struct conf *fresh,
	    void (*report)(const char *option));
/* For each option whose value differs: cb(name, old, new, arg). */
void	 conf_diff(const struct conf *old, const struct conf *new,
	    void (*cb)(const char *, const char *, const char *, void *),
	    void *arg);
/* Is this an option a reload cannot change? */
int	 conf_option_fixed(const char *name);
/* Every option's dotted name, in the table's order. */
void	 conf_option_names(void (*cb)(const char *name, void *arg),
	    void *arg);
const char *conf_registration_name(enum registration r);
const char *conf_log_level_name(int level);

#endif
