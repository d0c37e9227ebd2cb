#define _GNU_SOURCE
#include "udpbatch.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

struct fedns_udp_batch {
    int count;
    size_t in_size, out_size;
    unsigned char *in, *out;
    struct sockaddr_storage *sources;
    struct iovec *in_vectors, *out_vectors;
    struct mmsghdr *received, *answers;
    int queued;
    /// How many entries the last receive filled (only those need resetting).
    int filled;
};

fedns_udp_batch *fedns_udp_batch_create(int count, size_t in_size, size_t out_size) {
    fedns_udp_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->count = count;
    b->in_size = in_size;
    b->out_size = out_size;
    b->in = malloc((size_t)count * in_size);
    b->out = malloc((size_t)count * out_size);
    b->sources = calloc((size_t)count, sizeof *b->sources);
    b->in_vectors = calloc((size_t)count, sizeof *b->in_vectors);
    b->out_vectors = calloc((size_t)count, sizeof *b->out_vectors);
    b->received = calloc((size_t)count, sizeof *b->received);
    b->answers = calloc((size_t)count, sizeof *b->answers);
    if (!b->in || !b->out || !b->sources || !b->in_vectors || !b->out_vectors || !b->received || !b->answers) {
        fedns_udp_batch_destroy(b);
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        b->in_vectors[i].iov_base = b->in + (size_t)i * in_size;
        b->in_vectors[i].iov_len = in_size;
        b->received[i].msg_hdr.msg_iov = &b->in_vectors[i];
        b->received[i].msg_hdr.msg_iovlen = 1;
        b->received[i].msg_hdr.msg_name = &b->sources[i];
        b->received[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    return b;
}

void fedns_udp_batch_destroy(fedns_udp_batch *b) {
    if (!b) return;
    free(b->in);
    free(b->out);
    free(b->sources);
    free(b->in_vectors);
    free(b->out_vectors);
    free(b->received);
    free(b->answers);
    free(b);
}

int fedns_udp_receive(fedns_udp_batch *b, int fd, int wait) {
    b->queued = 0;
    for (int i = 0; i < b->filled; i++) {
        // The kernel wrote the source's length back into the entries it filled: reset for this read.
        b->received[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        b->received[i].msg_hdr.msg_flags = 0;
        b->received[i].msg_len = 0;
    }
    int got = recvmmsg(fd, b->received, (unsigned)b->count, wait ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
    b->filled = got > 0 ? got : 0;
    return got;
}

const unsigned char *fedns_udp_packet(const fedns_udp_batch *b, int i, size_t *length) {
    size_t got = b->received[i].msg_len;
    *length = got < b->in_size ? got : b->in_size;
    return b->in + (size_t)i * b->in_size;
}

const struct sockaddr *fedns_udp_source(const fedns_udp_batch *b, int i, socklen_t *length) {
    *length = b->received[i].msg_hdr.msg_namelen;
    return (const struct sockaddr *)&b->sources[i];
}

unsigned char *fedns_udp_answer_buffer(fedns_udp_batch *b, int i) { return b->out + (size_t)i * b->out_size; }

void fedns_udp_queue(fedns_udp_batch *b, int i, size_t length) {
    int j = b->queued++;
    b->out_vectors[j].iov_base = b->out + (size_t)i * b->out_size;
    b->out_vectors[j].iov_len = length < b->out_size ? length : b->out_size;
    memset(&b->answers[j], 0, sizeof b->answers[j]);
    b->answers[j].msg_hdr.msg_iov = &b->out_vectors[j];
    b->answers[j].msg_hdr.msg_iovlen = 1;
    b->answers[j].msg_hdr.msg_name = &b->sources[i];
    b->answers[j].msg_hdr.msg_namelen = b->received[i].msg_hdr.msg_namelen;
}

int fedns_udp_send(fedns_udp_batch *b, int fd) {
    int sent = 0, lost = 0, waited = 0;
    while (sent + lost < b->queued) {
        int n = sendmmsg(fd, b->answers + sent + lost, (unsigned)(b->queued - sent - lost), MSG_DONTWAIT);
        if (n > 0) {
            sent += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !waited) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 100);
            waited = 1;
        } else {
            // This answer's destination is refused (or the send buffer stays full): skip it, send the others.
            lost++;
        }
    }
    b->queued = 0;
    return lost;
}

int fedns_udp_blocking_reads(int fd, int timeout_ms) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return -1;
    struct timeval t = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t) < 0) {
        fcntl(fd, F_SETFL, flags);
        return -1;
    }
    return 0;
}

int fedns_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
