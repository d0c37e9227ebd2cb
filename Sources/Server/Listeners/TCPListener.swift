import ClusterState
#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import NIOCore
import NIOPosix
import Resolver
import Synchronization

/// Splits a TCP stream into DNS messages by their two-byte length prefix (RFC 1035 §4.2.2).
struct LengthPrefixedDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

/// Answers DNS over one TCP connection: pipelined queries are resolved concurrently and each answer
/// goes out when ready, possibly out of order (RFC 7766 §6.2.1.1). The connection table decides
/// when an idle connection closes; one with a query in flight or an answer being written is never
/// closed for being idle, only when it has finished nothing for a long time (its client stopped reading).
final class TCPQueryHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    let engine: QueryEngine
    let admissions: Admissions
    let connections: TCPConnections
    let maxInFlight: Int
    private var inFlight = 0
    private var idleCheck: Scheduled<Void>?

    init(engine: QueryEngine, admissions: Admissions, connections: TCPConnections, maxInFlight: Int = 64) {
        self.engine = engine
        self.admissions = admissions
        self.connections = connections
        self.maxInFlight = maxInFlight
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleIdleCheck(context: context, in: connections.idleCheck(context.channel)?.recheckIn ?? 0)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        connections.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let metrics = engine.metrics
        let admission = buffer.withUnsafeReadableBytes { admissions.admit($0, from: context.remoteAddress, tcp: true) }
        if case .dropped = admission { return }
        // A connection closed to admit a newcomer takes no new work: it is closing.
        guard connections.beginWork(context.channel) else { return }
        switch admission {
        case .dropped:
            return
        case .reply(let bytes):
            send(bytes, context: context)
        case .query(let view):
            guard inFlight < maxInFlight else {
                // Too many outstanding queries on one connection: shed this one (RFC 7766 §6.2.2 lets servers limit).
                metrics.countResponse(tcp: true, rcode: .servFail)
                send(buffer.withUnsafeReadableBytes { ErrorReply.make(query: $0, view: view, rcode: .servFail) }, context: context)
                return
            }
            inFlight += 1
            let received = NIODeadline.now()
            let packet = Array(buffer.readableBytesView)
            let engine = self.engine
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let client = context.remoteAddress?.ipAddress
            Task(executorPreference: EventLoopTaskExecutor(loop: loop)) {
                let outcome = await engine.resolve(packet: packet, view: view, transport: .tcp, client: client, sizeLimit: 65535)
                loop.runOnLoop {
                    let (handler, context) = bound.value
                    handler.inFlight -= 1
                    metrics.countResponse(tcp: true, rcode: outcome.rcode)
                    handler.send(outcome.bytes, context: context)
                    metrics.tcp.duration.recordNanoseconds((NIODeadline.now() - received).nanoseconds)
                }
            }
        }
    }

    /// Writes one answer; the work begun for its query ends when the bytes have left (or failed).
    private func send(_ bytes: [UInt8], context: ChannelHandlerContext) {
        let channel = context.channel, connections = self.connections
        guard channel.isActive else { connections.endWork(channel); return }
        var out = channel.allocator.buffer(capacity: bytes.count + 2)
        out.writeInteger(UInt16(bytes.count))
        out.writeBytes(bytes)
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in connections.endWork(channel) }
        context.writeAndFlush(wrapOutboundOut(out), promise: written)
    }

    /// Looks at most once a second, so a timeout that shrinks as the table fills is noticed.
    private func scheduleIdleCheck(context: ChannelHandlerContext, in nanoseconds: UInt64) {
        let delay = TimeAmount.nanoseconds(Int64(min(nanoseconds, 1_000_000_000)))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            switch handler.connections.idleCheck(context.channel) {
            case nil:
                // Closed to admit a newcomer (already counted).
                context.close(promise: nil)
            case let check? where check.close:
                // Idle too long, or stalled: its client stopped reading answers.
                handler.engine.metrics.tcpConnectionsIdleClosed.increment()
                context.close(promise: nil)
            case let check?:
                handler.scheduleIdleCheck(context: context, in: check.recheckIn)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The connection table shared by a listener's connections (they live on several event loops).
final class TCPConnections: Sendable {
    private let state: Mutex<(table: TCPConnectionTable<ObjectIdentifier>, channels: [ObjectIdentifier: Channel])>
    private let clock: @Sendable () -> UInt64
    private let draining = Atomic<Bool>(false)

    init(settings: TCPSettings, clock: @escaping @Sendable () -> UInt64 = { UInt64(NIODeadline.now().uptimeNanoseconds) }) {
        let table = TCPConnectionTable<ObjectIdentifier>(maxConnections: settings.maxConnections, clientShare: settings.clientShare,
                                                         idleTimeout: UInt64(settings.idleTimeoutSeconds * 1e9))
        state = Mutex((table, [:]))
        self.clock = clock
    }

    /// Admits `channel` or not; a connection the table closes to make room is closed here.
    func admit(_ channel: Channel) -> TCPConnectionTable<ObjectIdentifier>.Admission {
        let id = ObjectIdentifier(channel), now = clock()
        let client = channel.remoteAddress?.ipAddress ?? ""
        let (decision, victim) = state.withLock { s -> (TCPConnectionTable<ObjectIdentifier>.Admission, Channel?) in
            let decision = s.table.admit(id, client: client, now: now)
            var victim: Channel?
            if case .admitClosing(let old) = decision { victim = s.channels.removeValue(forKey: old) }
            if case .reject = decision {} else { s.channels[id] = channel }
            return (decision, victim)
        }
        victim?.close(promise: nil)
        return decision
    }

    func beginWork(_ channel: Channel) -> Bool {
        let now = clock()
        return state.withLock { $0.table.beginWork(ObjectIdentifier(channel), now: now) }
    }
    func endWork(_ channel: Channel) { let now = clock(); state.withLock { $0.table.endWork(ObjectIdentifier(channel), now: now) } }
    func idleCheck(_ channel: Channel) -> (close: Bool, recheckIn: UInt64)? {
        let now = clock(), draining = self.draining.load(ordering: .relaxed)
        return state.withLock { s in
            draining ? s.table.drainCheck(ObjectIdentifier(channel), now: now) : s.table.idleCheck(ObjectIdentifier(channel), now: now)
        }
    }

    /// From now on connections close as `TCPConnectionTable.drainCheck` says (the listening socket is another process's).
    func drain() { draining.store(true, ordering: .relaxed) }
    var count: Int { state.withLock { $0.table.count } }

    func remove(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { s in
            // Only this channel's own entry: an evicted channel's id may already be reused by a newer one.
            guard let held = s.channels[id], held === channel else { return }
            s.channels[id] = nil
            s.table.remove(id)
        }
    }
}

/// Admits or refuses each accepted connection by the connection table, counting every decision.
final class ConnectionAdmitter: ChannelInboundHandler, Sendable {
    typealias InboundIn = Channel
    let connections: TCPConnections
    let metrics: ServerMetrics
    init(connections: TCPConnections, metrics: ServerMetrics) { self.connections = connections; self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        switch connections.admit(child) {
        case .reject(let reason):
            metrics.tcpConnectionsRejected[reason]?.increment()
            child.close(promise: nil)
            return
        case .admitClosing:
            metrics.tcpConnectionsEvicted.increment()
        case .admit:
            break
        }
        context.fireChannelRead(data)
    }
}

struct TCPListener {
    static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, settings: TCPSettings,
                     metrics: ServerMetrics, makeHandler: @escaping @Sendable (TCPConnections) -> TCPQueryHandler) async throws -> Channel {
        try await bind(address: address, group: group, settings: settings, metrics: metrics, sockets: ListenerSockets(), reading: true,
                       connections: TCPConnections(settings: settings), makeHandler: makeHandler)
    }

    /// Binds `address`, or serves the socket a previous process handed over; `reading` false accepts
    /// nothing until `autoRead` is set.
    static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, settings: TCPSettings, metrics: ServerMetrics,
                     sockets: ListenerSockets, reading: Bool, connections: TCPConnections,
                     makeHandler: @escaping @Sendable (TCPConnections) -> TCPQueryHandler) async throws -> Channel {
        let key = ListenerKey(kind: "dns-tcp", host: address.host, port: address.port)
        var inherited = sockets.take(key)
        // Extra inherited sockets for one address (none are expected) are closed, not served.
        for extra in inherited.dropFirst() { close(extra) }
        let fd = try inherited.first ?? ListeningSocket.tcp(address, backlog: 256)
        inherited = []
        try sockets.record(key, fd: fd)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.autoRead, value: reading)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionAdmitter(connections: connections, metrics: metrics))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(ByteToMessageHandler(LengthPrefixedDecoder()))
                    try ops.addHandler(makeHandler(connections))
                }
            }
            .withBoundSocket(fd).get()
    }
}
