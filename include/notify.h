/*
 * notify: tells a supervisor how corsd is doing, with systemd's sd_notify
 * datagram protocol (READY=1, RELOADING=1, STOPPING=1, STATUS=...) and no
 * libsystemd. Owns nothing between calls: no global state, no open socket,
 * so any thread may call it. Never blocks, never raises SIGPIPE. Called by
 * main.c around binding, reloads and the drain.
 */
#ifndef CORSD_NOTIFY_H
#define CORSD_NOTIFY_H

/* Sends one datagram carrying state ("READY=1", "STOPPING=1\nSTATUS=...")
 * to the socket $NOTIFY_SOCKET names: a path, or an abstract name when it
 * starts with '@'. Returns 0 when $NOTIFY_SOCKET is unset (not supervised),
 * 0 when the datagram was sent, -1 with errno set otherwise. */
int notify_send(const char *state);

/* "RELOADING=1" with the MONOTONIC_USEC= stamp systemd 253+ wants for
 * Type=notify-reload; older systemd ignores the stamp. Same returns. */
int notify_reloading(void);

#endif
