#if canImport(Glibc)
import Glibc
#endif
import Clocks
import CUDPBatch
import DNSWire
import Synchronization

/// Waits for the replies of every UDP try of the process on one thread (docs/architecture.md, forwarding).
///
/// A try is a fresh non-blocking socket connected to the upstream (a random source port the kernel
/// picks, only the upstream's datagrams delivered, ICMP port unreachable reported as ECONNREFUSED),
/// sent on by the caller and then registered in one epoll set with the task's continuation. The
/// thread reads each ready socket, offers every datagram to the try's `accept`, and ends the try —
/// on a reply, a socket error, its deadline or cancellation — by closing the socket and resuming the
/// task. Only the thread closes a registered socket, so each is closed exactly once, never while it
/// is being read; a socket that never got registered is closed by its caller.
///
/// Deadlines are nanoseconds of `SystemTimeSource`: the thread sleeps in epoll_wait until the earliest.
/// A try without one (the forwarder runs on another `TimeSource`) waits until it is cancelled.
final class UDPTries: Sendable {
    /// The process's reader, started on first use.
    static let shared = UDPTries()

    /// A datagram longer than this is cut (the queries ask for at most 1232 bytes).
    static let receiveSize = 65_535
    private static let wakeToken = UInt64.max

    private let epoll: Int32
    private let wake: Int32
    private let state = Mutex(State())
    private let clock = SystemTimeSource()

    private struct State {
        /// Registered tries by slot; a token is the slot index and a generation, so a stale event
        /// for a reused slot or descriptor number finds nothing.
        var slots: [PendingTry?] = []
        var freeSlots: [Int] = []
        var generation: UInt64 = 0
        /// Min-heap of try deadlines; entries of tries already ended are dropped when they reach the top.
        var deadlines: [(at: UInt64, token: UInt64)] = []
        /// Tries whose task was cancelled, for the thread to end.
        var cancelled: [UInt64] = []
        /// Until when the thread sleeps (0: awake); a try due earlier wakes it.
        var sleepingUntil: UInt64 = 0
        /// Why the thread could not start (no epoll set, eventfd or thread): every try fails with it.
        var startError: String?

        func live(_ token: UInt64) -> PendingTry? {
            let index = Int(token & 0xffff_ffff)
            guard index < slots.count, let p = slots[index], p.token == token else { return nil }
            return p
        }

        mutating func remove(_ p: PendingTry) {
            let index = Int(p.token & 0xffff_ffff)
            slots[index] = nil
            freeSlots.append(index)
        }
    }

    private init() {
        epoll = fedns_epoll_create()
        wake = fedns_eventfd()
        if epoll < 0 || wake < 0 || fedns_epoll_add(epoll, wake, Self.wakeToken) != 0 {
            let why = "upstream reader: \(errnoText())"
            state.withLock { $0.startError = why }
            return
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            Unmanaged<UDPTries>.fromOpaque(context!).takeUnretainedValue().run()
            return nil
        }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<UDPTries>.fromOpaque(context).release()
            let why = "upstream reader thread: \(String(cString: strerror(started)))"
            state.withLock { $0.startError = why }
        }
    }

    /// Sends `query` to `upstream` on a fresh socket and waits for the datagram `accept` takes, an
    /// error, `deadline` (nanoseconds of `SystemTimeSource`, nil: none) or the task's cancellation (`.timeout`).
    func exchange(_ query: [UInt8], with upstream: Upstream, deadline: UInt64?,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome {
        let fd = upstream.host.withCString { fedns_udp_connect($0, upstream.port) }
        guard fd >= 0 else { return .networkError("socket: \(errnoText())") }
        let sent = query.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == query.count else {
            let why = sent < 0 ? errnoText() : "short write"
            close(fd)
            return .networkError("send: \(why)")
        }
        let pending = PendingTry(fd: fd, deadline: deadline, accept: accept)
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { register(pending, $0) }
        } onCancel: {
            cancel(pending)
        }
    }

    /// Hands `pending` to the thread, or ends it at once (cancelled already, or epoll refused it).
    private func register(_ pending: PendingTry, _ continuation: UnsafeContinuation<TryOutcome, Never>) {
        let (refused, wakeThread) = state.withLock { s -> (TryOutcome?, Bool) in
            if let why = s.startError { return (.networkError(why), false) }
            if pending.cancelRequested { return (.timeout, false) }
            let index = s.freeSlots.popLast() ?? s.slots.count
            if index == s.slots.count { s.slots.append(nil) }
            // Never 0 (an unregistered try's token) nor `wakeToken`.
            s.generation = s.generation % 0x7fff_ffff + 1
            let token = s.generation << 32 | UInt64(index)
            guard fedns_epoll_add(epoll, pending.fd, token) == 0 else {
                s.freeSlots.append(index)
                return (.networkError("epoll: \(errnoText())"), false)
            }
            pending.token = token
            pending.continuation = continuation
            s.slots[index] = pending
            guard let deadline = pending.deadline else { return (nil, false) }
            s.deadlines.pushHeap((deadline, token))
            guard deadline < s.sleepingUntil else { return (nil, false) }
            s.sleepingUntil = deadline
            return (nil, true)
        }
        if let refused {
            close(pending.fd)
            continuation.resume(returning: refused)
        } else if wakeThread {
            signal()
        }
    }

    private func cancel(_ pending: PendingTry) {
        let wakeThread = state.withLock { s -> Bool in
            pending.cancelRequested = true
            guard pending.token != 0, s.live(pending.token) === pending else { return false }
            s.cancelled.append(pending.token)
            return true
        }
        if wakeThread { signal() }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    // MARK: the thread

    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.receiveSize, alignment: 8)
        var tokens = [UInt64](repeating: 0, count: 64)
        var ending: [UInt64] = []
        while true {
            let timeout = state.withLock { s -> Int32 in
                // Deadlines of ended tries must not wake the thread.
                while let top = s.deadlines.first, s.live(top.token) == nil { s.deadlines.popHeap() }
                guard let next = s.deadlines.first?.at else { s.sleepingUntil = .max; return -1 }
                s.sleepingUntil = next
                let now = clock.nowNanoseconds()
                return next <= now ? 0 : Int32(clamping: (next - now + 999_999) / 1_000_000)
            }
            let ready = tokens.withUnsafeMutableBufferPointer { fedns_epoll_wait(epoll, $0.baseAddress, Int32($0.count), timeout) }
            state.withLock { $0.sleepingUntil = 0 }
            for token in tokens.prefix(Int(max(ready, 0))) {
                if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(wake, &value, 8)
                } else if let pending = state.withLock({ $0.live(token) }) {
                    drain(pending, into: buffer)
                }
            }
            // Cancelled tries, then those past their deadline.
            state.withLock { s in
                swap(&ending, &s.cancelled)
                let now = clock.nowNanoseconds()
                while let top = s.deadlines.first, top.at <= now {
                    ending.append(top.token)
                    s.deadlines.popHeap()
                }
            }
            for token in ending {
                if let pending = state.withLock({ $0.live(token) }) { finish(pending, .timeout) }
            }
            ending.removeAll(keepingCapacity: true)
        }
    }

    /// Reads every queued datagram of a ready socket until one answers or the socket fails.
    private func drain(_ pending: PendingTry, into buffer: UnsafeMutableRawBufferPointer) {
        while true {
            let count = recv(pending.fd, buffer.baseAddress, buffer.count, 0)
            if count < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR: continue
                default: return finish(pending, .networkError(errnoText()))
                }
            }
            if let reply = pending.accept(Array(UnsafeRawBufferPointer(rebasing: buffer.prefix(count)))) {
                return finish(pending, .reply(reply))
            }
        }
    }

    private func finish(_ pending: PendingTry, _ outcome: TryOutcome) {
        let continuation = state.withLock { s in
            s.remove(pending)
            defer { pending.continuation = nil }
            return pending.continuation
        }
        close(pending.fd)
        continuation?.resume(returning: outcome)
    }
}

/// One UDP try: its socket, what ends it, and the task waiting for it. `token`, `continuation` and
/// `cancelRequested` change only under `UDPTries`'s lock.
private final class PendingTry: @unchecked Sendable {
    let fd: Int32
    let deadline: UInt64?
    let accept: @Sendable ([UInt8]) -> UpstreamReply?
    var token: UInt64 = 0
    var continuation: UnsafeContinuation<TryOutcome, Never>?
    var cancelRequested = false

    init(fd: Int32, deadline: UInt64?, accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) {
        self.fd = fd; self.deadline = deadline; self.accept = accept
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

extension Array where Element == (at: UInt64, token: UInt64) {
    /// Adds `entry` to a min-heap ordered by `at`.
    fileprivate mutating func pushHeap(_ entry: Element) {
        append(entry)
        var child = count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard self[child].at < self[parent].at else { break }
            swapAt(child, parent)
            child = parent
        }
    }

    /// Removes the earliest entry of a min-heap.
    fileprivate mutating func popHeap() {
        swapAt(0, count - 1)
        removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var least = parent
            if left < count, self[left].at < self[least].at { least = left }
            if right < count, self[right].at < self[least].at { least = right }
            guard least != parent else { return }
            swapAt(parent, least)
            parent = least
        }
    }
}
