import Clocks
import DNSWire
import NIOCore
import NIOPosix
import Synchronization

/// How one try with one upstream ended.
public enum TryOutcome: Sendable {
    case reply(UpstreamReply)
    case timeout
    /// ICMP unreachable (ECONNREFUSED), a refused TCP connection, or another socket error.
    case networkError(String)
}

/// One query/reply exchange with one upstream, over a fresh socket each time: a connected UDP
/// socket on a kernel-chosen ephemeral port (random source port, RFC 5452 §9.2; connecting also
/// makes the kernel report ICMP port unreachable) waited on by ``UDPTries``' thread, or a TCP
/// connection (after TC, rare) with 2-byte length framing on NIO.
/// The forwarder's default ``UpstreamTransport``.
struct UpstreamExchange: UpstreamTransport {
    let group: any EventLoopGroup
    let time: any TimeSource

    func exchange(_ query: [UInt8], with upstream: Upstream, tcp: Bool, timeoutNanoseconds: UInt64,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome {
        tcp ? await self.tcp(query, matcher: accept, to: upstream, timeoutNanoseconds: timeoutNanoseconds)
            : await udp(query, matcher: accept, to: upstream, timeoutNanoseconds: timeoutNanoseconds)
    }

    /// With the system clock the try's deadline is kept by the reader thread itself (an epoll_wait
    /// timeout): no timer task and no task group per try. Any other `TimeSource` (the tests'
    /// `ManualClock`, the conformance runner's) decides alone when time is up, so the try then races
    /// a sleep on it, as TCP tries do, and losing the race cancels the try.
    func udp(_ query: [UInt8], matcher: @escaping @Sendable ([UInt8]) -> UpstreamReply?, to upstream: Upstream, timeoutNanoseconds: UInt64) async -> TryOutcome {
        if time is SystemTimeSource {
            let deadline = time.nowNanoseconds() + timeoutNanoseconds
            return await UDPTries.shared.exchange(query, with: upstream, deadline: deadline, accept: matcher)
        }
        return await race(timeoutNanoseconds) { _ in
            await UDPTries.shared.exchange(query, with: upstream, deadline: nil, accept: matcher)
        }
    }

    func tcp(_ query: [UInt8], matcher: @escaping @Sendable ([UInt8]) -> UpstreamReply?, to upstream: Upstream, timeoutNanoseconds: UInt64) async -> TryOutcome {
        await race(timeoutNanoseconds) { abandon in
            let loop = group.next()
            let promise = loop.makePromise(of: TryOutcome.self)
            do {
                let address = try SocketAddress(ipAddress: upstream.host, port: Int(upstream.port))
                let channel = try await ClientBootstrap(group: loop)
                    .connectTimeout(.nanoseconds(Int64(timeoutNanoseconds)))
                    .channelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandler(StreamReplyHandler(matcher: matcher, promise: promise))
                        }
                    }
                    .connect(to: address).get()
                guard abandon.attach(channel) else { promise.succeed(.timeout); return await outcome(promise) }
                var framed = channel.allocator.buffer(capacity: query.count + 2)
                framed.writeInteger(UInt16(query.count))
                framed.writeBytes(query)
                try await channel.writeAndFlush(framed).get()
            } catch ChannelError.connectTimeout {
                promise.succeed(.timeout)
            } catch {
                promise.succeed(.networkError("\(error)"))
            }
            return await outcome(promise)
        }
    }

    private func outcome(_ promise: EventLoopPromise<TryOutcome>) async -> TryOutcome {
        (try? await promise.futureResult.get()) ?? .networkError("no outcome")
    }

    /// Runs `attempt` against a timer of this exchange's `TimeSource`; whichever ends first wins and
    /// the attempt's channel is closed, which ends the attempt too.
    private func race(_ timeout: UInt64, _ attempt: @escaping @Sendable (Abandon) async -> TryOutcome) async -> TryOutcome {
        let abandon = Abandon()
        let time = self.time
        return await withTaskGroup(of: TryOutcome.self) { tasks in
            tasks.addTask { await attempt(abandon) }
            tasks.addTask {
                do { try await time.sleep(nanoseconds: timeout) } catch {}
                return .timeout
            }
            let first = await tasks.next() ?? .timeout
            tasks.cancelAll()
            abandon.now()
            return first
        }
    }
}

/// Hands an attempt's channel to whoever ends the attempt; a channel attached after the end is closed at once.
final class Abandon: Sendable {
    private let state = Mutex<(ended: Bool, channel: (any Channel)?)>((false, nil))

    /// Returns false (and closes `channel`) when the attempt has already ended.
    func attach(_ channel: any Channel) -> Bool {
        let ended = state.withLock { s in
            if !s.ended { s.channel = channel }
            return s.ended
        }
        if ended { channel.close(promise: nil) }
        return !ended
    }

    func now() {
        let channel = state.withLock { s in s.ended = true; return s.channel }
        channel?.close(promise: nil)
    }
}

/// Reads 2-byte length-framed messages from a TCP connection (RFC 1035 §4.2.2) until one answers
/// the query.
final class StreamReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let matcher: @Sendable ([UInt8]) -> UpstreamReply?
    let promise: EventLoopPromise<TryOutcome>
    private var pending: ByteBuffer?
    private var done = false

    init(matcher: @escaping @Sendable ([UInt8]) -> UpstreamReply?, promise: EventLoopPromise<TryOutcome>) { self.matcher = matcher; self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        while !done, let length = pending!.getInteger(at: pending!.readerIndex, as: UInt16.self),
              pending!.readableBytes >= 2 + Int(length) {
            pending!.moveReaderIndex(forwardBy: 2)
            let frame = pending!.readBytes(length: Int(length)) ?? []
            if let reply = matcher(frame) { finish(.reply(reply)) }
        }
        pending!.discardReadBytes()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.networkError("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.networkError("connection closed"))
        context.fireChannelInactive()
    }

    private func finish(_ outcome: TryOutcome) {
        guard !done else { return }
        done = true
        promise.succeed(outcome)
    }
}
