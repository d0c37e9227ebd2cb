import ClusterState
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
/// goes out when ready, possibly out of order (RFC 7766 §6.2.1.1); an idle connection is closed.
final class TCPQueryHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    let engine: QueryEngine
    let admissions: Admissions
    let maxInFlight: Int
    private var inFlight = 0

    init(engine: QueryEngine, admissions: Admissions, maxInFlight: Int = 64) {
        self.engine = engine
        self.admissions = admissions
        self.maxInFlight = maxInFlight
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let metrics = engine.metrics
        switch buffer.withUnsafeReadableBytes({ admissions.admit($0, from: context.remoteAddress, tcp: true) }) {
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

    private func send(_ bytes: [UInt8], context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var out = context.channel.allocator.buffer(capacity: bytes.count + 2)
        out.writeInteger(UInt16(bytes.count))
        out.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Counts open TCP connections and refuses new ones over the limit.
final class ConnectionLimiter: ChannelInboundHandler, Sendable {
    typealias InboundIn = Channel
    let open = Mutex(0)
    let limit: Int
    let rejected: @Sendable () -> Void
    init(limit: Int, rejected: @escaping @Sendable () -> Void) { self.limit = limit; self.rejected = rejected }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        let admitted = open.withLock { n -> Bool in
            guard n < limit else { return false }
            n += 1
            return true
        }
        guard admitted else {
            rejected()
            child.close(promise: nil)
            return
        }
        child.closeFuture.whenComplete { _ in self.open.withLock { $0 -= 1 } }
        context.fireChannelRead(data)
    }
}

struct TCPListener {
    static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, idleTimeout: TimeAmount, connectionLimit: Int,
                     metrics: ServerMetrics, makeHandler: @escaping @Sendable () -> TCPQueryHandler) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionLimiter(limit: connectionLimit) {
                        metrics.tcpConnectionsRejected.increment()
                    })
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try ops.addHandler(ByteToMessageHandler(LengthPrefixedDecoder()))
                    try ops.addHandler(makeHandler())
                }
            }
            .bind(host: address.host, port: address.port).get()
    }
}
