// SCM_RIGHTS needs the CMSG_* macros, which Swift does not import: the one C file of the hand-over.
#define _GNU_SOURCE
#include "fdpassing.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int fedns_send_fds(int socket, const void *bytes, size_t length, const int *fds, int count) {
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = length };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    size_t space = count > 0 ? CMSG_SPACE(sizeof(int) * (size_t)count) : 0;
    char *control = NULL;
    if (count > 0) {
        control = calloc(1, space);
        if (control == NULL) { errno = ENOMEM; return -1; }
        msg.msg_control = control;
        msg.msg_controllen = space;
        struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do { sent = sendmsg(socket, &msg, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    free(control);
    return sent < 0 ? -1 : 0;
}

long fedns_recv_fds(int socket, void *bytes, size_t capacity, int *fds, int max_fds, int *received_fds) {
    struct iovec iov = { .iov_base = bytes, .iov_len = capacity };
    size_t space = CMSG_SPACE(sizeof(int) * (size_t)max_fds);
    char *control = calloc(1, space);
    if (control == NULL) { errno = ENOMEM; return -1; }
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = space };
    ssize_t got;
    do { got = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC); } while (got < 0 && errno == EINTR);
    *received_fds = 0;
    if (got >= 0) {
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h != NULL; h = CMSG_NXTHDR(&msg, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
            int n = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(h) + sizeof(int) * (size_t)i, sizeof(int));
                if (*received_fds < max_fds) fds[(*received_fds)++] = fd;
            }
        }
    }
    free(control);
    return (long)got;
}
