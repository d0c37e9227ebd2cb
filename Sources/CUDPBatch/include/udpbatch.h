#ifndef FEDNS_UDPBATCH_H
#define FEDNS_UDPBATCH_H
#include <stddef.h>
#include <sys/socket.h>

/// Datagrams read with one recvmmsg and answers written with one sendmmsg (struct mmsghdr is not
/// imported into Swift). Every buffer and address is allocated once, in `fedns_udp_batch_create`.
typedef struct fedns_udp_batch fedns_udp_batch;

/// A batch of `count` datagrams of at most `in_size` bytes each, and as many answers of at most
/// `out_size` bytes. NULL when out of memory.
fedns_udp_batch *fedns_udp_batch_create(int count, size_t in_size, size_t out_size);
void fedns_udp_batch_destroy(fedns_udp_batch *batch);

/// Reads up to the batch's count of datagrams (recvmmsg) and forgets the answers queued before. With
/// `wait` it blocks until the first datagram (MSG_WAITFORONE; a socket made blocking by
/// `fedns_udp_blocking_reads`, or EAGAIN at its receive timeout), else it does not wait
/// (MSG_DONTWAIT). Returns how many, or -1 with errno set (EAGAIN: none queued).
int fedns_udp_receive(fedns_udp_batch *batch, int fd, int wait);

/// Datagram `i` of the last receive: its bytes (`*length` of them; a longer datagram was cut at
/// `in_size`) and its source address.
const unsigned char *fedns_udp_packet(const fedns_udp_batch *batch, int i, size_t *length);
const struct sockaddr *fedns_udp_source(const fedns_udp_batch *batch, int i, socklen_t *length);

/// The answer buffer of datagram `i` (`out_size` bytes).
unsigned char *fedns_udp_answer_buffer(fedns_udp_batch *batch, int i);

/// Queues `length` bytes of datagram `i`'s answer buffer to its source.
void fedns_udp_queue(fedns_udp_batch *batch, int i, size_t length);

/// Sends the queued answers (sendmmsg; an answer the kernel refuses is skipped, one full send
/// buffer waits up to 100 ms). Returns how many were not sent.
int fedns_udp_send(fedns_udp_batch *batch, int fd);

/// Makes reads on `fd` block (clears O_NONBLOCK on its file description) for at most `timeout_ms`
/// (SO_RCVTIMEO). Sends pass MSG_DONTWAIT and never block. 0, or -1 with errno set (nothing changed).
int fedns_udp_blocking_reads(int fd, int timeout_ms);

/// A non-blocking, close-on-exec eventfd (a listener thread's wake-up), or -1 with errno set.
int fedns_eventfd(void);

#endif
