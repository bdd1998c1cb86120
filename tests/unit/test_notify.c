/* struct ucred and SCM_CREDENTIALS: the test checks what systemd sees. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "unit.h"

/* The supervisor's end: a datagram socket bound in a fresh directory (or
 * in the abstract namespace), as systemd binds its notification socket. */
struct sup {
	int fd;
	char dir[64];
	char path[128];
};

static void sup_bind_path(struct sup *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *tmp = getenv("TMPDIR");

	snprintf(s->dir, sizeof(s->dir), "%s/corsd-notify-XXXXXX",
	         tmp && strlen(tmp) < 30 ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/notify", s->dir);
	ck_assert_uint_lt(strlen(s->path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, s->path, strlen(s->path));
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", s->path, 1), 0);
}

/* Abstract names end where the address length says, with no NUL. */
static void sup_bind_abstract(struct sup *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char env[sizeof(((struct sup *)0)->path) + 1];
	size_t n;

	s->dir[0] = '\0';
	snprintf(s->path, sizeof(s->path), "corsd-notify-test-%ld-%ld", (long)getpid(),
	         (long)time(NULL));
	n = strlen(s->path);
	memcpy(sa.sun_path + 1, s->path, n);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)),
	                 0);
	snprintf(env, sizeof(env), "@%s", s->path);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", env, 1), 0);
}

static void sup_close(struct sup *s)
{
	close(s->fd);
	if (s->dir[0]) {
		unlink(s->path);
		rmdir(s->dir);
	}
	unsetenv("NOTIFY_SOCKET");
}

/* Reads one queued datagram (sendto on AF_UNIX has already queued it when
 * it returns, so no waiting) into buf; returns its length, -1 if none. */
static ssize_t sup_recv(struct sup *s, char *buf, size_t size)
{
	ssize_t n = recv(s->fd, buf, size - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

START_TEST(test_unset_is_noop)
{
	unsetenv("NOTIFY_SOCKET");
	errno = 0;
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(notify_reloading(), 0);
	/* Not supervised is not an error even for a state that would be one. */
	ck_assert_int_eq(notify_send(""), 0);
}
END_TEST

START_TEST(test_path_socket)
{
	struct sup s;
	char buf[256];
	const char *state = "READY=1\nSTATUS=listening on 127.0.0.1:8080";

	sup_bind_path(&s);
	ck_assert_int_eq(notify_send(state), 0);
	ck_assert_int_eq(sup_recv(&s, buf, sizeof(buf)), (ssize_t)strlen(state));
	ck_assert_str_eq(buf, state);
	/* One datagram per call: nothing else was queued. */
	ck_assert_int_eq(sup_recv(&s, buf, sizeof(buf)), -1);
	ck_assert_int_eq(notify_send("STOPPING=1"), 0);
	ck_assert_int_eq(sup_recv(&s, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "STOPPING=1");
	sup_close(&s);
}
END_TEST

START_TEST(test_abstract_socket)
{
	struct sup s;
	char buf[256];

	sup_bind_abstract(&s);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(sup_recv(&s, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "READY=1");
	sup_close(&s);
}
END_TEST

/* systemd accepts a notification only from the unit's main PID
 * (NotifyAccess=main), which it reads from the kernel's credentials. */
START_TEST(test_credentials_name_sender)
{
	struct sup s;
	char buf[64];
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl.b,
	                     .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *c;
	struct ucred cred;
	int one = 1;

	sup_bind_path(&s);
	ck_assert_int_eq(setsockopt(s.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(recvmsg(s.fd, &msg, MSG_DONTWAIT), 7);
	c = CMSG_FIRSTHDR(&msg);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->cmsg_type, SCM_CREDENTIALS);
	memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	ck_assert_int_eq(cred.pid, getpid());
	sup_close(&s);
}
END_TEST

START_TEST(test_reloading_stamp)
{
	struct sup s;
	struct timespec a, b;
	char buf[128], *end;
	unsigned long long usec, lo, hi;
	const char *prefix = "RELOADING=1\nMONOTONIC_USEC=";

	sup_bind_path(&s);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(notify_reloading(), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_int_gt(sup_recv(&s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(strncmp(buf, prefix, strlen(prefix)), 0);
	errno = 0;
	usec = strtoull(buf + strlen(prefix), &end, 10);
	ck_assert_int_eq(errno, 0);
	ck_assert_str_eq(end, "");
	lo = (unsigned long long)a.tv_sec * 1000000ULL + (unsigned long long)a.tv_nsec / 1000;
	hi = (unsigned long long)b.tv_sec * 1000000ULL + (unsigned long long)b.tv_nsec / 1000;
	ck_assert(usec >= lo && usec <= hi);
	sup_close(&s);
}
END_TEST

START_TEST(test_errors)
{
	char longname[200];
	struct sup s;
	int fds = open_fds();

	/* Nobody listening: the caller hears about it (and logs it). */
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "/nonexistent/corsd-notify", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert(errno == ENOENT || errno == ECONNREFUSED);

	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "relative/notify", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);

	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", longname, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	longname[0] = '@';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", longname, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	sup_bind_path(&s);
	ck_assert_int_eq(notify_send(""), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(notify_send(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	sup_close(&s);

	/* Every path closes the socket it opened. */
	ck_assert_int_eq(open_fds(), fds);
}
END_TEST

/* The longest names that fit: a path filling sun_path but its NUL, and an
 * abstract name filling all of it. */
START_TEST(test_longest_names)
{
	struct sockaddr_un sa;
	char name[sizeof(sa.sun_path) + 1];

	memset(name, 'a', sizeof(sa.sun_path));
	name[0] = '/';
	name[sizeof(sa.sun_path) - 1] = '\0';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_ne(errno, ENAMETOOLONG);

	memset(name, 'a', sizeof(sa.sun_path));
	name[0] = '@';
	name[sizeof(sa.sun_path)] = '\0';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_ne(errno, ENAMETOOLONG);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_unset_is_noop);
	tcase_add_test(tc, test_path_socket);
	tcase_add_test(tc, test_abstract_socket);
	tcase_add_test(tc, test_credentials_name_sender);
	tcase_add_test(tc, test_reloading_stamp);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_longest_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(notify_suite());
}
