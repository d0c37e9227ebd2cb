import DNSWire
import NameExpansion
import NIOCore
import NIOPosix
import Resolver
import Synchronization

/// A scripted DNS server on a loopback address, UDP and TCP on the same port, for forwarder tests.
/// For each query the script returns what to do; every query received is logged.
final class ScriptedUpstream: Sendable {
    enum Proto: Sendable { case udp, tcp }

    /// One step of the reply to a query.
    enum Action: Sendable {
        /// Send this message (over the transport the query came on).
        case reply(Message)
        /// Send raw bytes.
        case raw([UInt8])
        /// Send these bytes to the client from another socket on `host` (another port, or another address).
        case fromOtherSocket(host: String, [UInt8])
        /// Wait before the next step.
        case delay(milliseconds: Int)
    }

    /// A received query.
    struct Received: Sendable {
        let message: Message
        let proto: Proto
        let sourcePort: Int
    }

    typealias Script = @Sendable (_ query: Message, _ proto: Proto) -> [Action]

    /// What the channel handlers share with the server object.
    final class Shared: Sendable {
        let script: Mutex<Script>
        let log = Mutex<[Received]>([])
        let group: any EventLoopGroup
        init(script: @escaping Script, group: any EventLoopGroup) { self.script = Mutex(script); self.group = group }

        func handle(_ bytes: [UInt8], proto: Proto, sourcePort: Int) -> [Action] {
            guard let query = try? WireCodec.decode(bytes) else { return [] }
            log.withLock { $0.append(Received(message: query, proto: proto, sourcePort: sourcePort)) }
            return script.withLock { $0 }(query, proto)
        }
    }

    let upstream: Upstream
    private let udp: any Channel
    private let tcp: any Channel
    private let shared: Shared

    /// Starts a server on `host` (any 127/8 address) with a kernel-chosen port.
    init(host: String = "127.0.0.1", group: any EventLoopGroup, script: @escaping Script) async throws {
        let shared = Shared(script: script, group: group)
        self.shared = shared
        (udp, tcp) = try await Self.bind(host: host, group: group, shared: shared)
        upstream = try Upstream(host: host, port: UInt16(udp.localAddress!.port!))
    }

    /// UDP and TCP must share a port: take the UDP one, then bind TCP to it (retry on a clash).
    private static func bind(host: String, group: any EventLoopGroup, shared: Shared) async throws -> (any Channel, any Channel) {
        var attempt = 0
        while true {
            attempt += 1
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(UDPScriptHandler(shared: shared))
                    }
                }
                .bind(host: host, port: 0).get()
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandler(TCPScriptHandler(shared: shared))
                        }
                    }
                    .bind(host: host, port: udp.localAddress!.port!).get()
                return (udp, tcp)
            } catch where attempt < 5 {
                try await udp.close()
            }
        }
    }

    /// Replaces the script (e.g. an upstream that comes back).
    func setScript(_ script: @escaping Script) { shared.script.withLock { $0 = script } }

    var received: [Received] { shared.log.withLock { $0 } }
    var queryCount: Int { shared.log.withLock { $0.count } }

    func stop() async {
        try? await udp.close()
        try? await tcp.close()
    }

    /// An address with nothing listening: UDP there draws ICMP port unreachable, TCP a reset.
    /// On an address of its own by default: a port just closed on 127.0.0.1 is soon handed to another
    /// test's socket, which then swallows the query instead of the kernel refusing it.
    static func closedPort(host: String = "127.0.0.66", group: any EventLoopGroup) async throws -> Upstream {
        let ch = try await DatagramBootstrap(group: group).bind(host: host, port: 0).get()
        let port = ch.localAddress!.port!
        try await ch.close()
        return try Upstream(host: host, port: UInt16(port))
    }
}

// MARK: scripts

extension ScriptedUpstream {
    /// Answers from `records`: the RRset of the question's name and type, NXDOMAIN otherwise.
    static func zone(_ records: [ResourceRecord]) -> Script {
        { query, _ in
            guard let q = query.question else { return [] }
            var m = Message.response(to: query)
            m.answer = records.filter { $0.name == q.name && $0.type == q.type }
            if m.answer.isEmpty { m.header.rcode = .nxDomain }
            return [.reply(m)]
        }
    }

    /// Answers every query with these records (zone text, names absolute).
    static func answering(_ records: [String]) -> Script {
        let parsed = records.map { try! ResourceRecord(zoneText: $0) }
        return { query, _ in
            var m = Message.response(to: query)
            m.answer = parsed
            return [.reply(m)]
        }
    }

    /// Never answers.
    static let drop: Script = { _, _ in [] }

    /// A reply to `query` with `rcode` and answer records from zone text.
    static func reply(to query: Message, rcode: RCode = .noError, _ records: [String] = []) -> Message {
        var m = Message.response(to: query, rcode: rcode)
        m.answer = records.map { try! ResourceRecord(zoneText: $0) }
        return m
    }
}

// MARK: channel handlers

private func perform(_ actions: ArraySlice<ScriptedUpstream.Action>, channel: any Channel, to remote: SocketAddress?,
                     group: any EventLoopGroup) {
    guard let action = actions.first else { return }
    let rest = actions.dropFirst()
    func send(_ bytes: [UInt8]) {
        if let remote {
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: bytes)), promise: nil)
        } else {
            var buffer = channel.allocator.buffer(capacity: bytes.count + 2)
            buffer.writeInteger(UInt16(bytes.count))
            buffer.writeBytes(bytes)
            channel.writeAndFlush(buffer, promise: nil)
        }
    }
    switch action {
    case .reply(let m): send(WireCodec.encode(m))
    case .raw(let bytes): send(bytes)
    case .fromOtherSocket(let host, let bytes):
        guard let remote else { break }
        DatagramBootstrap(group: group).bind(host: host, port: 0).whenSuccess { other in
            other.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: other.allocator.buffer(bytes: bytes)))
                .whenComplete { _ in other.close(promise: nil) }
        }
        // Give the other socket's datagram a head start so that it arrives first.
        channel.eventLoop.scheduleTask(in: .milliseconds(30)) { perform(rest, channel: channel, to: remote, group: group) }
        return
    case .delay(let ms):
        channel.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { perform(rest, channel: channel, to: remote, group: group) }
        return
    }
    perform(rest, channel: channel, to: remote, group: group)
}

private final class UDPScriptHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let shared: ScriptedUpstream.Shared
    init(shared: ScriptedUpstream.Shared) { self.shared = shared }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let actions = shared.handle(Array(envelope.data.readableBytesView), proto: .udp, sourcePort: envelope.remoteAddress.port ?? 0)
        perform(actions[...], channel: context.channel, to: envelope.remoteAddress, group: shared.group)
    }
}

/// Reads length-framed queries from one TCP connection.
private final class TCPScriptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let shared: ScriptedUpstream.Shared
    private var pending = ByteBuffer()
    init(shared: ScriptedUpstream.Shared) { self.shared = shared }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.writeBuffer(&incoming)
        while let length = pending.getInteger(at: pending.readerIndex, as: UInt16.self), pending.readableBytes >= 2 + Int(length) {
            pending.moveReaderIndex(forwardBy: 2)
            let frame = pending.readBytes(length: Int(length)) ?? []
            let actions = shared.handle(frame, proto: .tcp, sourcePort: context.remoteAddress?.port ?? 0)
            perform(actions[...], channel: context.channel, to: nil, group: shared.group)
        }
        pending.discardReadBytes()
    }
}
