/*
 * The running daemon: the main thread's event loop (signals, reload, drain,
 * admin) and the worker threads it starts and joins.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "admin.h"
#include "config.h"
#include "log.h"
#include "mm.h"
#include "notify.h"

void daemon_format_addr(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, outsz, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, outsz, "%s:%u", host, ntohs(s4->sin_port));
	}
}

/* Binds one `listen` address in every worker. The first worker binds what
 * the file says; the others bind the address it got, so port 0 means one
 * port shared by all, not one each. */
static int bind_everywhere(struct daemon *dm, const struct policy_addr *a, char *text,
                           size_t textsz)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[8], err[160];
	int rc;

	snprintf(port, sizeof(port), "%u", a->port);
	rc = getaddrinfo(a->host, port, &hints, &ai);
	if (rc != 0) {
		log_msg(POLICY_LOG_ERROR, "cannot listen on %s: %s", a->text, gai_strerror(rc));
		return -1;
	}
	rc = worker_listen(&dm->group.v[0], ai->ai_addr, ai->ai_addrlen, err, sizeof(err));
	freeaddrinfo(ai);
	if (rc < 0)
		goto fail;
	if (getsockname(worker_listener_fd(&dm->group.v[0], dm->group.v[0].nbound - 1),
	                (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		goto fail;
	}
	for (size_t i = 1; i < dm->group.n; i++)
		if (worker_listen(&dm->group.v[i], (struct sockaddr *)&ss, len, err, sizeof(err)) <
		    0)
			goto fail;
	daemon_format_addr(&ss, text, textsz);
	return 0;
fail:
	log_msg(POLICY_LOG_ERROR, "cannot listen on %s: %s", a->text, err);
	return -1;
}

static void post_all(struct daemon *dm, void (*post)(struct worker *))
{
	for (size_t i = 0; i < dm->group.n; i++)
		post(&dm->group.v[i]);
}

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *dm = arg;

	log_msg(POLICY_LOG_WARN,
	        "shutdown: %u client connection(s) still open after timeouts.shutdown "
	        "(%u ms): closing them",
	        atomic_load(&dm->group.open), dm->policy->shutdown_ms);
	post_all(dm, worker_post_stop);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *dm = arg;
	struct timeval tv;

	if (dm->draining) {
		log_msg(POLICY_LOG_WARN, "signal %d again: stopping now", (int)sig);
		post_all(dm, worker_post_stop);
		return;
	}
	dm->draining = true;
	notify_send("STOPPING=1");
	log_msg(POLICY_LOG_INFO,
	        "signal %d: draining: no new connections, %u open, up to %u ms to finish", (int)sig,
	        atomic_load(&dm->group.open), dm->policy->shutdown_ms);
	post_all(dm, worker_post_drain);
	tv.tv_sec = dm->policy->shutdown_ms / 1000;
	tv.tv_usec = (dm->policy->shutdown_ms % 1000) * 1000;
	evtimer_add(dm->shutdown_timer, &tv);
}

static void on_worker_exit(void *arg)
{
	struct daemon *dm = arg;

	for (size_t i = 0; i < dm->group.n; i++)
		if (!atomic_load(&dm->group.v[i].exited))
			return;
	event_base_loopbreak(dm->base);
}

static bool same_addr(const struct policy_addr *a, const struct policy_addr *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* listen, workers and admin are bound at start; a reload cannot move them,
 * and saying so beats a silent surprise. */
static void warn_restart_only(const struct policy *old, const struct policy *new)
{
	bool listen_same = old->nlisten == new->nlisten;

	for (size_t i = 0; listen_same && i < old->nlisten; i++)
		listen_same = same_addr(&old->listen[i], &new->listen[i]);
	if (!listen_same)
		log_msg(POLICY_LOG_WARN, "reload: listen changed; it keeps its running value "
		                         "until a restart");
	if (old->workers != new->workers)
		log_msg(POLICY_LOG_WARN,
		        "reload: workers changed (%d -> %d); it keeps its running "
		        "value until a restart",
		        old->workers, new->workers);
	if (old->has_admin != new->has_admin ||
	    (old->has_admin && !same_addr(&old->admin, &new->admin)))
		log_msg(POLICY_LOG_WARN, "reload: admin changed; it keeps its running value until "
		                         "a restart");
}

/* Reload: the new file is loaded and checked whole here, on the main
 * thread; only a good one is posted to the workers, and requests in flight
 * keep the policy they started with (each holds its own reference). */
static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *dm = arg;
	struct diag_list d;
	struct policy *p;

	if (dm->draining) {
		log_msg(POLICY_LOG_WARN, "reload ignored: draining");
		return;
	}
	notify_reloading();
	diag_init(&d, dm->file);
	p = config_load_file(dm->file, &d);
	for (size_t i = 0; i < d.n; i++) {
		char line[1024];
		diag_format(&d, i, line, sizeof(line));
		log_msg(d.v[i].warning ? POLICY_LOG_WARN : POLICY_LOG_ERROR, "%s", line);
	}
	diag_free(&d);
	if (p == NULL) {
		dm->reloads_failed++;
		log_msg(POLICY_LOG_ERROR, "reload of %s failed; the running policy stays",
		        dm->file);
		notify_send("READY=1\nSTATUS=reload failed; running the previous policy");
		return;
	}
	warn_restart_only(dm->policy, p);
	atomic_store(&dm->group.max_connections, p->max_connections);
	for (size_t i = 0; i < dm->group.n; i++)
		worker_post_policy(&dm->group.v[i], p);
	policy_unref(dm->policy);
	dm->policy = p;
	dm->reloads_ok++;
	log_setup(p->log_level, p->log_format);
	log_msg(POLICY_LOG_INFO, "reloaded %s", dm->file);
	notify_send("READY=1\nSTATUS=running");
}

/* Each client connection may hold an upstream connection too. Raise the
 * soft descriptor limit toward what max_connections needs (up to the hard
 * limit), and say so when it stays short: accept() would otherwise fail
 * long before the limit the file promises. */
static void fit_nofile(const struct policy *p)
{
	rlim_t want = (rlim_t)p->max_connections * 2 + 64 + (rlim_t)p->workers * 16;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = rl;
		up.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur < want)
		log_msg(POLICY_LOG_WARN,
		        "max_connections %u needs about %llu file descriptors; the limit is %llu "
		        "(raise LimitNOFILE / ulimit -n)",
		        p->max_connections, (unsigned long long)want,
		        (unsigned long long)rl.rlim_cur);
}

static int setup(struct daemon *dm, const sigset_t *held)
{
	struct policy *p = dm->policy;
	struct event_config *cfg = event_config_new();
	char err[256];
	char(*bound)[INET6_ADDRSTRLEN + 16];

	if (cfg == NULL)
		return -1;
	fit_nofile(p);
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	dm->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (dm->base == NULL)
		return -1;
	dm->group.main_wake = wake_new(dm->base, on_worker_exit, dm);
	dm->group.v = calloc((size_t)p->workers, sizeof(*dm->group.v));
	if (dm->group.main_wake == NULL || dm->group.v == NULL)
		return -1;
	dm->group.n = (size_t)p->workers;
	atomic_store(&dm->group.max_connections, p->max_connections);
	for (size_t i = 0; i < dm->group.n; i++) {
		if (worker_init(&dm->group.v[i], &dm->group, (int)i, p, err, sizeof(err)) < 0) {
			log_msg(POLICY_LOG_ERROR, "%s", err);
			dm->group.n = i + 1; /* worker_init leaves it freeable */
			return -1;
		}
	}
	if (p->has_admin) {
		dm->admin = admin_new(dm, &p->admin, err, sizeof(err));
		if (dm->admin == NULL) {
			log_msg(POLICY_LOG_ERROR, "cannot serve admin on %s: %s", p->admin.text,
			        err);
			return -1;
		}
	}
	/* "listening on" is what supervisors and tests wait for: it is said
	 * only once every address is bound. */
	bound = calloc(p->nlisten, sizeof(*bound));
	if (bound == NULL)
		return -1;
	for (size_t i = 0; i < p->nlisten; i++) {
		if (bind_everywhere(dm, &p->listen[i], bound[i], sizeof(bound[i])) < 0) {
			free(bound);
			return -1;
		}
	}
	for (size_t i = 0; i < p->nlisten; i++)
		log_msg(POLICY_LOG_INFO, "listening on %s", bound[i]);
	free(bound);
	dm->ev_term = evsignal_new(dm->base, SIGTERM, on_stop_signal, dm);
	dm->ev_int = evsignal_new(dm->base, SIGINT, on_stop_signal, dm);
	dm->ev_hup = evsignal_new(dm->base, SIGHUP, on_reload_signal, dm);
	dm->shutdown_timer = evtimer_new(dm->base, on_shutdown_timeout, dm);
	if (!dm->ev_term || !dm->ev_int || !dm->ev_hup || !dm->shutdown_timer ||
	    evsignal_add(dm->ev_term, NULL) < 0 || evsignal_add(dm->ev_int, NULL) < 0 ||
	    evsignal_add(dm->ev_hup, NULL) < 0) {
		log_msg(POLICY_LOG_ERROR, "cannot install signal handlers");
		return -1;
	}
	/* Workers inherit the held signals: only the main thread takes them. */
	for (size_t i = 0; i < dm->group.n; i++) {
		if (worker_start(&dm->group.v[i]) < 0) {
			log_msg(POLICY_LOG_ERROR, "cannot start worker %zu: %s", i,
			        strerror(errno));
			return -1;
		}
	}
	pthread_sigmask(SIG_UNBLOCK, held, NULL);
	return 0;
}

static void teardown(struct daemon *dm)
{
	size_t n = dm->group.n;

	/* Every thread stops before anything is freed: a worker still running
	 * could otherwise post to one being freed. */
	for (size_t i = 0; i < n; i++)
		if (dm->group.v[i].started && !atomic_load(&dm->group.v[i].exited))
			worker_post_stop(&dm->group.v[i]);
	for (size_t i = 0; i < n; i++)
		if (dm->group.v[i].started) {
			pthread_join(dm->group.v[i].thread, NULL);
			dm->group.v[i].started = false;
		}
	dm->group.n = 0; /* connections closed below must not wake anyone */
	for (size_t i = 0; i < n; i++)
		worker_free(&dm->group.v[i]);
	free(dm->group.v);
	admin_free(dm->admin);
	if (dm->ev_term)
		event_free(dm->ev_term);
	if (dm->ev_int)
		event_free(dm->ev_int);
	if (dm->ev_hup)
		event_free(dm->ev_hup);
	if (dm->shutdown_timer)
		event_free(dm->shutdown_timer);
	wake_free(dm->group.main_wake);
	if (dm->base)
		event_base_free(dm->base);
	policy_unref(dm->policy);
}

int daemon_run(const char *file, struct policy *p)
{
	struct daemon dm = {.file = file, .policy = policy_ref(p)};
	sigset_t held;
	int rc = 1;

	mm_setup();
	log_setup(p->log_level, p->log_format);
	signal(SIGPIPE, SIG_IGN);
	/* "listening on" is the readiness signal: a SIGHUP or SIGTERM sent
	 * right after it must find its handler, not the default action. Hold
	 * them until the handlers are in place. */
	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	pthread_sigmask(SIG_BLOCK, &held, NULL);
	if (setup(&dm, &held) < 0) {
		log_msg(POLICY_LOG_ERROR, "corsd did not start");
		goto out;
	}
	log_msg(POLICY_LOG_INFO, "corsd %s running with %s (%d worker%s)", CORSD_VERSION, file,
	        p->workers, p->workers == 1 ? "" : "s");
	notify_send("READY=1\nSTATUS=running");
	event_base_dispatch(dm.base);
	log_msg(POLICY_LOG_INFO, "stopped");
	rc = 0;
out:
	teardown(&dm);
	mm_thread_exit();
	pthread_sigmask(SIG_UNBLOCK, &held, NULL);
	return rc;
}
