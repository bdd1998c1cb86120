/*
 * notify: the sd_notify datagram protocol (sd_notify(3), "Notification
 * socket"), written out so corsd needs no libsystemd. One socket per call:
 * notifications are rare (start, reload, stop), and keeping none open means
 * nothing to share between threads and nothing to leak into a child.
 */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Turns $NOTIFY_SOCKET's value into an address and its length. */
static int notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (name[0] == '@') {
		/* Abstract names are not NUL-terminated: the length says where
		 * the name ends, and a stray NUL would make it another name. */
		if (n > sizeof(sa->sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(sa->sun_path + 1, name + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	/* Only absolute paths, as libsystemd: a relative one would depend on
	 * our working directory, which is not the supervisor's. */
	if (name[0] != '/') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (n >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	size_t n;
	ssize_t sent;
	int fd = -1, rc = -1, saved;

	if (name == NULL)
		return 0;
	if (state == NULL || (n = strlen(state)) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (notify_addr(name, &sa, &len) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* systemd learns our PID from the credentials the kernel attaches
	 * (it sets SO_PASSCRED), so the datagram is the state and nothing
	 * else. MSG_DONTWAIT: a supervisor that stopped reading must never
	 * stall the event loop. */
	sent = sendto(fd, state, n, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa, len);
	if (sent < 0)
		goto out;
	if ((size_t)sent != n) {
		errno = EMSGSIZE;
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	             (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(msg);
}
