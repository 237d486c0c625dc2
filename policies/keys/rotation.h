/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rotation - DKIM key rotation without an outage.
 *
 * "postwarden-ctl key rotate" makes a new key for a domain and records
 * it, pending, in the rotation state file (dkim_rotation_state), one line
 * per rotation:
 *
 *	DOMAIN OLD_SELECTOR NEW_SELECTOR NEW_KEY_PATH PHASE SINCE
 *
 * PHASE and SINCE (Unix time, UTC) are:
 *	pending	 since the key was made: the signer keeps signing with the
 *		 old selector only, and looks the new record up (through
 *		 the shared resolver) at most every check interval;
 *	overlap	 since the published record was found to match the new
 *		 key: both selectors sign, for the overlap time;
 *	done	 since the old selector stopped signing: only the new one
 *		 signs; the old record may be removed one overlap later.
 * The KeyTable and SigningTable stay as they are: a key they select whose
 * (domain, selector) is the OLD side of a rotation is replaced as above
 * (a done rotation's new selector may itself have been rotated).
 *
 * The signer moves the phases on the mail path and writes them back to
 * the file (under PATH.lock, rewriting only its own line, so a rotation
 * added meanwhile is kept); a reload or restart reads them again.
 * Thread-safe: phases are atomics, transitions take the set's lock with
 * trylock, so no message waits for another's DNS lookup.
 */
#ifndef PW_ROTATION_H
#define PW_ROTATION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "keys/dkim_keys.h"

struct pw_buf;
struct pw_dns;

enum pw_rot_phase { PW_ROT_PENDING, PW_ROT_OVERLAP, PW_ROT_DONE };

struct pw_rotation {
	char			*domain;
	char			*old_sel;
	char			*new_sel;
	char			*path;		/* the new private key */
	struct pw_dkim_key	 key;		/* loaded (signer only) */
	bool			 loaded;
	_Atomic int		 phase;		/* enum pw_rot_phase */
	_Atomic int64_t		 since;
	time_t			 checked;	/* last DNS check (lock) */
	int			 line;
};

struct pw_rotations {
	char			*path;
	struct pw_rotation	*v;
	size_t			 n;
	long			 overlap;	/* seconds both sign */
	long			 interval;	/* between DNS checks */
	pthread_mutex_t		 lock;		/* transitions, the file */
};

/* Read the state file (a missing file is an empty set).  With load_keys
   every new key is read and checked (pw_dkim_key_read).  NULL with one
   "PATH:LINE: ..." line per problem appended to *errors. */
struct pw_rotations *pw_rotations_load(const char *path, bool load_keys,
		    bool allow_unsafe, struct pw_buf *errors);
void	pw_rotations_free(struct pw_rotations **);

/* The rotation whose old side is (domain, selector), or NULL. */
struct pw_rotation *pw_rotation_find(struct pw_rotations *,
		    const char *domain, const char *selector);

/*
 * The keys to sign with, given the keys the SigningTable selected (in,
 * n): each rotated key is kept, joined or replaced by its new key as its
 * phase says, after moving the phase on (DNS check at most every
 * interval; the overlap's end).  Writes at most max into out and returns
 * how many.  dns may be NULL (no checks).
 */
size_t	pw_rotations_apply(struct pw_rotations *, struct pw_dns *,
	    const struct pw_dkim_key *const *in, size_t n,
	    const struct pw_dkim_key **out, size_t max);

/* Set the phase of rotation r to phase since `since` in the file (and
   in memory).  0, or -1 with *error_r (malloc'd). */
int	pw_rotation_store(struct pw_rotations *, struct pw_rotation *,
	    int phase, int64_t since, char **error_r);

/* Append a new pending rotation to the file at path (created when
   missing, owner uid when not -1).  0, or -1 with *error_r. */
int	pw_rotation_append(const char *path, const char *domain,
	    const char *old_sel, const char *new_sel, const char *key_path,
	    int64_t now, uid_t uid, char **error_r);

/* The clock of the rotation phases: time(NULL), or with
   --enable-test-hooks moved on by the seconds written in the file named
   by $PW_TEST_CLOCK_FILE (tests do not wait days for an overlap). */
time_t	pw_rotation_now(void);

const char *pw_rot_phase_name(int phase);

#endif
