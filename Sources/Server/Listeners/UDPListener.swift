import ClusterState
#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Resolver
import Synchronization

/// Answers DNS over UDP on one socket. The per-query path for pre-rendered answers runs here,
/// synchronously, where the datagram is read (docs/architecture.md, the hot path); everything else hops to the engine.
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let engine: QueryEngine
    let snapshots: SnapshotStore
    let admissions: Admissions
    let table = PrerenderTable()
    let cachedAnswers = CachedAnswerTable()
    /// Queries read but not yet answered (a hand-over waits for them before closing the sockets).
    let pending: PendingAnswers
    private var executor: EventLoopTaskExecutor?

    init(engine: QueryEngine, snapshots: SnapshotStore, admissions: Admissions, pending: PendingAnswers = PendingAnswers()) {
        self.engine = engine
        self.snapshots = snapshots
        self.admissions = admissions
        self.pending = pending
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let metrics = engine.metrics
        let received = NIODeadline.now()
        let buffer = envelope.data
        switch buffer.withUnsafeReadableBytes({ admissions.admit($0, from: envelope.remoteAddress, tcp: false) }) {
        case .dropped:
            return
        case .reply(let bytes):
            send(bytes, to: envelope.remoteAddress, context: context)
        case .query(let view):
            if answerFromTable(buffer: buffer, view: view, to: envelope.remoteAddress, context: context) {
                metrics.udp.duration.recordNanoseconds((NIODeadline.now() - received).nanoseconds)
                return
            }
            resolveSlowly(buffer: buffer, view: view, to: envelope.remoteAddress, received: received, context: context)
        }
    }

    /// The hot path: a pre-rendered cluster answer, or a fresh answer of the cache with its TTLs
    /// counted down, patched with the query's ID, question and flags.
    private func answerFromTable(buffer: ByteBuffer, view: QueryView, to remote: SocketAddress, context: ChannelHandlerContext) -> Bool {
        let snapshot = snapshots.current
        let configEpoch = engine.configEpoch
        if let snapshot,
           let answer = table.lookup(PrerenderKey(name: view.lowercasedWireName, type: view.qtype.rawValue),
                                     snapshot: snapshot, config: configEpoch),
           send(answer, age: 0, for: buffer, view: view, to: remote, context: context) {
            engine.metrics.prerenderedHits.increment()
            return true
        }
        guard view.qclass == .in,
              let (cached, age) = cachedAnswers.lookup(CachedAnswerKey(view), snapshot: snapshot, config: configEpoch),
              send(cached.answer, age: age, for: buffer, view: view, to: remote, context: context) else { return false }
        cached.countHit()
        return true
    }

    /// Writes `answer` for the query in `buffer`; false when it does not fit this query (then the slow path answers).
    private func send(_ answer: PrerenderedAnswer, age: UInt32, for buffer: ByteBuffer, view: QueryView, to remote: SocketAddress,
                      context: ChannelHandlerContext) -> Bool {
        var out = context.channel.allocator.buffer(capacity: view.udpLimit)
        let written = buffer.withUnsafeReadableBytes { query in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: view.udpLimit) { dest in
                answer.write(query: query, view: view, into: dest, limit: view.udpLimit, age: age) ?? 0
            }
        }
        guard written > 0 else { return false }
        engine.metrics.countResponse(tcp: false, rcode: answer.rcode)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: out)), promise: nil)
        return true
    }

    private func resolveSlowly(buffer: ByteBuffer, view: QueryView, to remote: SocketAddress, received: NIODeadline,
                               context: ChannelHandlerContext) {
        let packet = Array(buffer.readableBytesView)
        let engine = self.engine
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let client = remote.ipAddress
        let executor = self.executor ?? EventLoopTaskExecutor(loop: loop)
        self.executor = executor
        let pending = self.pending
        pending.begin()
        Task(executorPreference: executor) {
            let outcome = await engine.resolve(packet: packet, view: view, transport: .udp, client: client, sizeLimit: view.udpLimit)
            loop.runOnLoop {
                let (handler, context) = bound.value
                if let (epoch, answer, dependencies) = outcome.prerendered {
                    handler.table.store(answer, for: PrerenderKey(name: view.lowercasedWireName, type: view.qtype.rawValue), epoch: epoch,
                                        dependencies: dependencies)
                }
                if let (epoch, cached, dependencies) = outcome.cached, view.qclass == .in {
                    handler.cachedAnswers.store(cached, for: CachedAnswerKey(view), epoch: epoch, dependencies: dependencies)
                }
                engine.metrics.countResponse(tcp: false, rcode: outcome.rcode)
                let written = loop.makePromise(of: Void.self)
                written.futureResult.whenComplete { _ in pending.end() }
                handler.send(outcome.bytes, to: remote, context: context, promise: written)
                engine.metrics.udp.duration.recordNanoseconds((NIODeadline.now() - received).nanoseconds)
            }
        }
    }

    private func send(_ bytes: [UInt8], to remote: SocketAddress, context: ChannelHandlerContext,
                      promise: EventLoopPromise<Void>? = nil) {
        let out = context.channel.allocator.buffer(bytes: bytes)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: out)), promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A UDP socket reports ICMP errors here; they concern one datagram, never the listener.
    }
}

/// Counts answers still to be written, across a listener's sockets.
final class PendingAnswers: Sendable {
    private let count = Atomic<Int>(0)
    init() {}
    func begin() { count.add(1, ordering: .relaxed) }
    func end() { count.subtract(1, ordering: .relaxed) }
    var isEmpty: Bool { count.load(ordering: .relaxed) <= 0 }
}

/// One UDP socket per event loop on the same address, spread by the kernel with SO_REUSEPORT, or the
/// sockets a previous process handed over (one channel each, spread over the loops: every one must be read).
struct UDPListener {
    /// - Parameters:
    ///   - receiveBuffer: SO_RCVBUF for each socket (`receiveBuffer`); a kernel cap is logged.
    ///   - reading: false leaves the sockets unread until `autoRead` is set (a successor waiting for its cluster sync).
    static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, receiveBuffer: Int, logger: Logger,
                     sockets: ListenerSockets = ListenerSockets(), reading: Bool = true,
                     makeHandler: @escaping @Sendable () -> UDPQueryHandler) async throws -> [Channel] {
        var channels: [Channel] = []
        var port = address.port
        let inherited = sockets.take(ListenerKey(kind: "dns-udp", host: address.host, port: address.port))
        let loops = Array(group.makeIterator())
        let count = inherited.isEmpty ? loops.count : inherited.count
        for i in 0..<count {
            let fd = inherited.isEmpty ? try ListeningSocket.udp(HostPort(host: address.host, port: port)) : inherited[i]
            let channel: Channel
            do {
                channel = try await DatagramBootstrap(group: loops[i % loops.count])
                    .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
                    .channelOption(ChannelOptions.datagramVectorReadMessageCount, value: 32)
                    .channelOption(ChannelOptions.autoRead, value: reading)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(makeHandler())
                        }
                    }
                    .withBoundSocket(fd).get()
            } catch {
                close(fd)
                throw error
            }
            // With port 0 the first socket gets a kernel-chosen port; the others must share it.
            port = ListeningSocket.localPort(fd) ?? port
            try sockets.record(ListenerKey(kind: "dns-udp", host: address.host, port: port), fd: fd)
            channels.append(channel)
        }
        await setReceiveBuffer(receiveBuffer, on: channels, address: address, logger: logger)
        return channels
    }

    /// SO_RCVBUFFORCE passes net.core.rmem_max when fedns may (CAP_NET_ADMIN); else SO_RCVBUF, which
    /// the kernel caps there. The kernel doubles the value for its bookkeeping and reports the double.
    static func setReceiveBuffer(_ bytes: Int, on channels: [Channel], address: HostPort, logger: Logger) async {
        var granted: [Int] = []
        for channel in channels {
            let value = SocketOptionValue(clamping: bytes)
            do {
                try await channel.setOption(ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: SO_RCVBUFFORCE)), value: value).get()
            } catch {
                try? await channel.setOption(ChannelOptions.socketOption(.so_rcvbuf), value: value).get()
            }
            granted.append(Int((try? await channel.getOption(ChannelOptions.socketOption(.so_rcvbuf)).get()) ?? 0))
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
