#ifndef FEDNS_FDPASSING_H
#define FEDNS_FDPASSING_H
#include <stddef.h>

/// Sends `length` bytes and `count` file descriptors (SCM_RIGHTS) as one message on a Unix socket.
/// Returns 0, or -1 with errno set.
int fedns_send_fds(int socket, const void *bytes, size_t length, const int *fds, int count);

/// Receives one message of at most `capacity` bytes and at most `max_fds` descriptors (close-on-exec).
/// Returns the byte count (0 at end of stream), or -1 with errno set; `*received_fds` is the descriptor count.
long fedns_recv_fds(int socket, void *bytes, size_t capacity, int *fds, int max_fds, int *received_fds);

#endif
