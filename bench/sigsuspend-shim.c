/* Lets valgrind 3.19 (Debian 12) run Swift programs: libdispatch calls sigsuspend() with a mask in
 * read-only memory when the main thread parks in dispatch_main(), and valgrind writes to that mask
 * and crashes. Preloaded under valgrind only (bench/callgrind.py); passes a writable copy. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
