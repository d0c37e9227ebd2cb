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

/// Reads up to the batch's count of datagrams without waiting (recvmmsg, MSG_DONTWAIT) and forgets
/// the answers queued before. Returns how many, or -1 with errno set (EAGAIN: none queued).
int fedns_udp_receive(fedns_udp_batch *batch, int fd);

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

/// A non-blocking, close-on-exec eventfd (a listener thread's wake-up), or -1 with errno set.
int fedns_eventfd(void);

#endif
