import ClusterState
#if canImport(Glibc)
import Glibc
#endif
import CUDPBatch
import DNSWire
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Resolver
import Synchronization

/// One UDP socket served by a thread of its own (docs/architecture.md, the hot path).
///
/// The thread reads up to `batchSize` datagrams with one recvmmsg, answers those it can from its
/// tables into preallocated buffers, and writes the answers with one sendmmsg. The read blocks until
/// the first datagram comes; after `idleAfterMs` without one, the thread waits in poll() on the
/// socket and an eventfd that wakes it to stop or to start or stop reading. A query the tables
/// cannot answer is resolved in a task on `slowPathLoop`, whose completion sends the answer itself
/// (a UDP socket may be written from any thread) and leaves any answer to keep in the thread's
/// inbox, applied before its next batch.
final class UDPSocketServer: Sendable {
    static let batchSize = 32
    /// How long a read waits before the thread waits in poll() instead (where stopping is heard at once).
    static let idleAfterMs: Int32 = 10
    /// Larger datagrams are cut here and the gate sees what is left (FORMERR); as NIO's listener did.
    static let datagramSize = 4096
    /// An answer is at most the client's payload (≤ 1232); an error reply of the gate is smaller still.
    static let answerSize = 2048

    let fd: Int32
    let port: Int
    /// Completed when the thread has stopped (after `close`).
    let closeFuture: EventLoopFuture<Void>

    private let wake: Int32
    private let closed: EventLoopPromise<Void>
    private let stopping = Atomic<Bool>(false)
    private let threadDone = Atomic<Bool>(false)
    private let reading: Atomic<Bool>
    /// `setReading` bumps `requested`; the thread publishes in `acknowledged` the last request it has
    /// acted on, so that `setReading(false)` returns only once no further read will happen.
    private let requested = Atomic<Int>(0)
    private let acknowledged = Atomic<Int>(0)
    /// Answers of the slow path still to be written on `fd`: the socket is closed after the last.
    private let inflight = Mutex<(count: Int, threadDone: Bool)>((0, false))
    private let inbox = Mutex<[TableStore]>([])
    private let inboxCount = Atomic<Int>(0)
    private let unsent: Counter

    /// An answer the slow path derived, for the thread's tables.
    enum TableStore: Sendable {
        case prerendered(PrerenderKey, AnswerEpoch, PrerenderedAnswer, AnswerDependencies)
        case cached(CachedAnswerKey, AnswerEpoch, CachedAnswer, AnswerDependencies)
    }

    /// Serves `fd` (now owned: closed after `close()` and the last answer) from a new thread.
    init(fd: Int32, reading: Bool, engine: QueryEngine, snapshots: SnapshotStore, admissions: Admissions,
         pending: PendingAnswers, slowPathLoop: any EventLoop) throws {
        let wake = fedns_eventfd()
        guard wake >= 0 else { throw ServerError(message: "eventfd: \(String(cString: strerror(errno)))") }
        guard let batch = fedns_udp_batch_create(Int32(Self.batchSize), Self.datagramSize, Self.answerSize) else {
            Glibc.close(wake)
            throw ServerError(message: "UDP listener: out of memory for its buffers")
        }
        self.fd = fd
        self.port = ListeningSocket.localPort(fd) ?? 0
        unsent = engine.metrics.unsentAnswers
        self.wake = wake
        self.reading = Atomic(reading)
        closed = slowPathLoop.makePromise(of: Void.self)
        closeFuture = closed.futureResult
        let loop = UDPLoop(server: nil, batch: batch, engine: engine, snapshots: snapshots, admissions: admissions,
                           pending: pending, executor: EventLoopTaskExecutor(loop: slowPathLoop))
        let thread = Thread { [self] in
            loop.server = self
            run(loop)
            loop.server = nil
        }
        thread.name = "fedns-udp"
        thread.start()
    }

    /// Starts or stops reading; stopping returns once the thread reads no more (a hand-over's
    /// "stopped" must not be said while this process may still take a datagram).
    func setReading(_ on: Bool) async {
        reading.store(on, ordering: .sequentiallyConsistent)
        let request = requested.add(1, ordering: .sequentiallyConsistent).newValue
        signal()
        while acknowledged.load(ordering: .sequentiallyConsistent) < request, !threadDone.load(ordering: .sequentiallyConsistent) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Stops the thread and waits for it. The socket itself is left alone: a successor may hold
    /// the same kernel socket, so it is never shut down, only this descriptor closed.
    func close() async {
        guard !stopping.exchange(true, ordering: .sequentiallyConsistent) else {
            try? await closeFuture.get()
            return
        }
        signal()
        try? await closeFuture.get()
        // Only now: a close before the thread had stopped could let another descriptor take this number.
        Glibc.close(wake)
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    private func run(_ loop: UDPLoop) {
        var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        // The read itself waits for the next datagram, so a wake-up costs two system calls: that read
        // and the send. A read that times out (the socket idle for `idleAfterMs`) leaves the waiting
        // to poll(), where a signal (stop, stop reading) is heard at once; so does a socket that could
        // not be made blocking.
        let blocking = fedns_udp_blocking_reads(fd, Self.idleAfterMs) == 0
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let request = requested.load(ordering: .sequentiallyConsistent)
            let on = reading.load(ordering: .sequentiallyConsistent)
            acknowledged.store(request, ordering: .sequentiallyConsistent)
            guard on else {
                waitForEvents(&fds, count: 1)
                continue
            }
            let received = fedns_udp_receive(loop.batch, fd, blocking ? 1 : 0)
            guard received > 0 else {
                if received < 0, errno == EINTR { continue }
                if received < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                    // Not expected on a bound UDP socket (ENOMEM…): do not spin on it.
                    poll(nil, 0, 10)
                }
                waitForEvents(&fds, count: 2)
                continue
            }
            if inboxCount.load(ordering: .acquiring) > 0 {
                let stores = inbox.withLock { s in defer { s.removeAll(keepingCapacity: true) }; return s }
                inboxCount.store(0, ordering: .releasing)
                loop.apply(stores)
            }
            loop.answer(count: Int(received), on: fd)
        }
        fedns_udp_batch_destroy(loop.batch)
        let closeNow = inflight.withLock { state in
            state.threadDone = true
            return state.count == 0
        }
        if closeNow { Glibc.close(fd) }
        threadDone.store(true, ordering: .sequentiallyConsistent)
        closed.succeed(())
    }

    /// Waits in poll() for the eventfd (and the socket when `count` is 2), and clears the eventfd.
    private func waitForEvents(_ fds: inout [pollfd], count: Int) {
        for i in fds.indices { fds[i].revents = 0 }
        guard poll(&fds, nfds_t(count), -1) > 0 else { return }
        if fds[0].revents != 0 {
            var value: UInt64 = 0
            _ = read(wake, &value, 8)
        }
    }

    // MARK: the slow path's side, on other threads

    fileprivate func beginAnswer() {
        inflight.withLock { $0.count += 1 }
    }

    /// Sends a slow-path answer to `source` and queues what it leaves for the tables.
    fileprivate func finishAnswer(_ bytes: [UInt8], to source: sockaddr_storage, length: socklen_t, stores: [TableStore]) {
        // Before the answer: the client's next query must meet the table with this answer in it.
        if !stores.isEmpty {
            inbox.withLock { $0.append(contentsOf: stores) }
            inboxCount.add(stores.count, ordering: .releasing)
        }
        var destination = source
        let sent = bytes.withUnsafeBytes { data in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, data.baseAddress, data.count, Int32(MSG_DONTWAIT), $0, length)
                }
            }
        }
        if sent < 0 { unsent.increment() }
        let closeNow = inflight.withLock { state in
            state.count -= 1
            return state.threadDone && state.count == 0
        }
        if closeNow { Glibc.close(fd) }
    }
}

/// The state one listener thread owns: its batch buffers and answer tables (no lock: only that
/// thread touches them).
private final class UDPLoop: @unchecked Sendable {
    weak var server: UDPSocketServer?
    let batch: OpaquePointer
    let engine: QueryEngine
    let snapshots: SnapshotStore
    let admissions: Admissions
    let pending: PendingAnswers
    let executor: EventLoopTaskExecutor
    let table = PrerenderTable()
    let cachedAnswers = CachedAnswerTable()
    /// What this thread counts (no shared cache line, no lock); summed when `/metrics` is scraped.
    let tally: ListenerTally
    /// The gate lower-cases each question name into this storage, reused from packet to packet.
    var nameBuffer: [UInt8] = []

    init(server: UDPSocketServer?, batch: OpaquePointer, engine: QueryEngine, snapshots: SnapshotStore, admissions: Admissions,
         pending: PendingAnswers, executor: EventLoopTaskExecutor) {
        self.server = server
        self.batch = batch
        self.engine = engine
        self.snapshots = snapshots
        self.admissions = admissions
        self.pending = pending
        self.executor = executor
        tally = engine.metrics.makeListenerTally()
    }

    func apply(_ stores: [UDPSocketServer.TableStore]) {
        for store in stores {
            switch store {
            case .prerendered(let key, let epoch, let answer, let dependencies):
                table.store(answer, for: key, epoch: epoch, dependencies: dependencies)
            case .cached(let key, let epoch, let answer, let dependencies):
                cachedAnswers.store(answer, for: key, epoch: epoch, dependencies: dependencies)
            }
        }
    }

    /// Answers the `count` datagrams of the batch: the table's answers and the gate's replies go out
    /// together in one sendmmsg, the rest to the slow path.
    func answer(count: Int, on fd: Int32) {
        let received = NIODeadline.now()
        // Once per batch, like the clock: the snapshot and configuration the batch is answered under.
        let snapshot = snapshots.current
        let configEpoch = engine.configEpoch
        var fromTables = 0
        for i in 0..<count {
            var length = 0
            var sourceLength: socklen_t = 0
            let packet = UnsafeRawBufferPointer(start: fedns_udp_packet(batch, Int32(i), &length), count: length)
            let source = fedns_udp_source(batch, Int32(i), &sourceLength)!
            let out = UnsafeMutableRawBufferPointer(start: fedns_udp_answer_buffer(batch, Int32(i)), count: UDPSocketServer.answerSize)
            switch admissions.admit(packet, from: source, tally: tally, nameBuffer: &nameBuffer) {
            case .dropped:
                continue
            case .reply(let bytes):
                if bytes.count <= out.count {
                    out.copyBytes(from: bytes)
                    fedns_udp_queue(batch, Int32(i), bytes.count)
                } else {
                    let sent = bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), source, sourceLength) }
                    if sent < 0 { engine.metrics.unsentAnswers.increment() }
                }
            case .query(let view):
                if let written = answerFromTable(packet, view: view, into: out, snapshot: snapshot, configEpoch: configEpoch) {
                    fedns_udp_queue(batch, Int32(i), written)
                    fromTables += 1
                } else {
                    resolveSlowly(packet, view: view, source: source, sourceLength: sourceLength, received: received)
                }
            }
        }
        let unsent = fedns_udp_send(batch, fd)
        if unsent > 0 { engine.metrics.unsentAnswers.increment(by: Int64(unsent)) }
        if fromTables > 0 {
            tally.recordNanoseconds((NIODeadline.now() - received).nanoseconds, times: fromTables)
        }
    }

    /// The hot path: a pre-rendered cluster answer, or a fresh answer of the cache with its TTLs
    /// counted down, patched with the query's ID, question and flags. Returns the answer's length.
    private func answerFromTable(_ packet: UnsafeRawBufferPointer, view: QueryView, into out: UnsafeMutableRawBufferPointer,
                                 snapshot: ClusterSnapshot?, configEpoch: UInt64) -> Int? {
        if let snapshot,
           let written = table.withValue(PrerenderKey(name: view.lowercasedWireName, type: view.qtype.rawValue), snapshot: snapshot,
                                         config: configEpoch, { answer -> Int? in
               guard let written = answer.write(query: packet, view: view, into: out, limit: view.udpLimit, age: 0) else { return nil }
               tally.countResponse(answer.rcode)
               return written
           }) {
            tally.countPrerenderedHit()
            return written
        }
        guard view.qclass == .in,
              let (cached, age) = cachedAnswers.lookup(CachedAnswerKey(view), snapshot: snapshot, config: configEpoch),
              let written = cached.answer.write(query: packet, view: view, into: out, limit: view.udpLimit, age: age) else { return nil }
        cached.countHit()
        tally.countResponse(cached.answer.rcode)
        return written
    }

    private func resolveSlowly(_ bytes: UnsafeRawBufferPointer, view: QueryView, source: UnsafePointer<sockaddr>, sourceLength: socklen_t,
                               received: NIODeadline) {
        guard let server else { return }
        let packet = Array(bytes)
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: source, count: Int(sourceLength))) }
        let client = addressText(source)
        let engine = self.engine, pending = self.pending
        pending.begin()
        server.beginAnswer()
        Task(executorPreference: executor) { [storage] in
            let outcome = await engine.resolve(packet: packet, view: view, transport: .udp, client: client, sizeLimit: view.udpLimit)
            var stores: [UDPSocketServer.TableStore] = []
            if let (epoch, answer, dependencies) = outcome.prerendered {
                stores.append(.prerendered(PrerenderKey(name: view.lowercasedWireName, type: view.qtype.rawValue), epoch, answer, dependencies))
            }
            if let (epoch, cached, dependencies) = outcome.cached, view.qclass == .in {
                stores.append(.cached(CachedAnswerKey(view), epoch, cached, dependencies))
            }
            engine.metrics.countResponse(tcp: false, rcode: outcome.rcode)
            server.finishAnswer(outcome.bytes, to: storage, length: sourceLength, stores: stores)
            engine.metrics.udp.duration.recordNanoseconds((NIODeadline.now() - received).nanoseconds)
            pending.end()
        }
    }
}

/// The client's address as text (for the chain's pod lookups), as NIO's `SocketAddress.ipAddress` gives it.
func addressText(_ source: UnsafePointer<sockaddr>) -> String? {
    if Int32(source.pointee.sa_family) == AF_INET {
        // Dotted quad by hand: inet_ntop goes through sprintf, 1,700 instructions a query.
        let address = source.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { out in
            var at = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                if shift < 24 { out[at] = UInt8(ascii: "."); at += 1 }
                let octet = UInt8(truncatingIfNeeded: address >> UInt32(shift))
                if octet >= 100 { out[at] = 48 + octet / 100; at += 1 }
                if octet >= 10 { out[at] = 48 + octet / 10 % 10; at += 1 }
                out[at] = 48 + octet % 10; at += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: out[..<at]), as: UTF8.self)
        }
    }
    guard Int32(source.pointee.sa_family) == AF_INET6 else { return nil }
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let ok = source.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
        var a = p.pointee.sin6_addr
        return inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
    }
    guard ok != nil else { return nil }
    return String(cString: buffer)
}

/// Counts answers still to be written, across a listener's sockets.
final class PendingAnswers: Sendable {
    private let count = Atomic<Int>(0)
    init() {}
    func begin() { count.add(1, ordering: .relaxed) }
    func end() { count.subtract(1, ordering: .relaxed) }
    var isEmpty: Bool { count.load(ordering: .relaxed) <= 0 }
}

/// One UDP socket per event loop of `group` on the same address, spread by the kernel with
/// SO_REUSEPORT, or the sockets a previous process handed over (every one must be read), each
/// served by a thread of its own (`UDPSocketServer`).
struct UDPListener {
    /// - Parameters:
    ///   - receiveBuffer: SO_RCVBUF for each socket (`receiveBuffer`); a kernel cap is logged.
    ///   - reading: false leaves the sockets unread until `setReading(true)` (a successor waiting for its cluster sync).
    ///   - group: one socket per loop; the slow path of each socket runs on one of them.
    static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, receiveBuffer: Int, logger: Logger,
                     sockets: ListenerSockets = ListenerSockets(), reading: Bool = true, engine: QueryEngine,
                     snapshots: SnapshotStore, admissions: Admissions, pending: PendingAnswers = PendingAnswers()) async throws -> [UDPSocketServer] {
        var servers: [UDPSocketServer] = []
        var port = address.port
        let inherited = sockets.take(ListenerKey(kind: "dns-udp", host: address.host, port: address.port))
        let loops = Array(group.makeIterator())
        let count = inherited.isEmpty ? loops.count : inherited.count
        do {
            for i in 0..<count {
                let fd = inherited.isEmpty ? try ListeningSocket.udp(HostPort(host: address.host, port: port)) : inherited[i]
                // With port 0 the first socket gets a kernel-chosen port; the others must share it.
                port = ListeningSocket.localPort(fd) ?? port
                do {
                    try sockets.record(ListenerKey(kind: "dns-udp", host: address.host, port: port), fd: fd)
                    servers.append(try UDPSocketServer(fd: fd, reading: reading, engine: engine, snapshots: snapshots,
                                                       admissions: admissions, pending: pending, slowPathLoop: loops[i % loops.count]))
                } catch {
                    close(fd)
                    throw error
                }
            }
        } catch {
            for server in servers { await server.close() }
            throw error
        }
        setReceiveBuffer(receiveBuffer, on: servers.map(\.fd), address: address, logger: logger)
        return servers
    }

    /// SO_RCVBUFFORCE passes net.core.rmem_max when fedns may (CAP_NET_ADMIN); else SO_RCVBUF, which
    /// the kernel caps there. The kernel doubles the value for its bookkeeping and reports the double.
    static func setReceiveBuffer(_ bytes: Int, on fds: [Int32], address: HostPort, logger: Logger) {
        var granted: [Int] = []
        let size = socklen_t(MemoryLayout<Int32>.size)
        for fd in fds {
            var value = Int32(clamping: bytes)
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, size) != 0 {
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, size)
            }
            var got: Int32 = 0
            var length = size
            granted.append(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &length) == 0 ? Int(got) : 0)
        }
        let metadata: Logger.Metadata = ["dns.listen": "\(address)", "dns.receive_buffer_requested": "\(bytes)",
                                         "dns.receive_buffer": "\(granted.min() ?? 0)"]
        if granted.contains(where: { $0 < 2 * bytes }) {
            logger.warning("UDP receive buffer capped by the kernel (raise net.core.rmem_max or grant CAP_NET_ADMIN)", metadata: metadata)
        } else {
            logger.info("UDP receive buffer set", metadata: metadata)
        }
    }
}
