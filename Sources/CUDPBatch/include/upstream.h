#ifndef FEDNS_UPSTREAM_H
#define FEDNS_UPSTREAM_H
#include <stdint.h>

/// The forwarder's UDP tries: one connected socket per try, waited on with epoll by one thread
/// (struct epoll_event is packed on x86-64, so it stays on this side).

/// A new non-blocking, close-on-exec UDP socket connected to `host` (IPv4 or IPv6 text) port
/// `port`: the kernel picks a random ephemeral source port, delivers only that peer's datagrams
/// and reports ICMP port unreachable as ECONNREFUSED. Returns the descriptor, or -1 with errno set
/// (EINVAL when `host` is not an address).
int fedns_udp_connect(const char *host, uint16_t port);

/// A close-on-exec epoll set, or -1 with errno set.
int fedns_epoll_create(void);

/// Watches `fd` for input (level-triggered; errors are reported too) with `token` as its data.
/// Returns 0, or -1 with errno set.
int fedns_epoll_add(int epoll, int fd, uint64_t token);

/// Waits at most `timeout_ms` (-1: no limit) and writes the token of each ready descriptor, at most
/// `max`. Returns how many (0 when the time is up), or -1 with errno set.
int fedns_epoll_wait(int epoll, uint64_t *tokens, int max, int timeout_ms);

#endif
