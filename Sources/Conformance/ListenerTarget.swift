import Clocks
import DNSWire
import Foundation
import Logging
import NIOPosix
import Server
import ServiceLifecycle
import Synchronization

/// fedns built in this process as `InProcessTarget` builds it (virtual time, scripted upstreams),
/// but queried through the server's real UDP and TCP listeners on a loopback port: the listeners'
/// framing, truncation and pre-rendered table are in the path.
///
/// In scenarios without scripted upstreams (where asking again changes nothing), every UDP answer
/// is asked for a second time, which the listener's pre-rendered table answers when the first was
/// pre-renderable, and the first one not truncated also over TCP; each must be the same message as
/// the first. Differences are collected in `mismatches`.
public final class ListenerTarget: ScenarioTarget {
    let inner: InProcessTarget
    let server: ServiceGroup
    let serving: Task<Void, Never>
    let port: UInt16
    let repeats: Bool
    private let found = Mutex<[String]>([])
    private let fromTable = Mutex(0)
    private var comparedOverTCP = false

    static let host = "127.0.21.1"
    /// The listeners' own event loop: tests that time their sockets share the singleton group.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public var script: UpstreamScript { inner.script }
    /// Where a second UDP answer or the TCP answer differed from the first, one line each.
    public var mismatches: [String] { found.withLock { $0 } }
    /// How many second UDP answers the pre-rendered table gave (the engine never saw them).
    public var tableAnswers: Int { fromTable.withLock { $0 } }

    public init(_ scenario: Scenario) async throws {
        // Background services sleep as owner -1: owner 0 is the listeners' work (their tasks carry no owner).
        let inner = try InProcessTarget(scenario, backgroundOwner: -1)
        self.inner = inner
        repeats = scenario.upstreams.isEmpty
        var config = try ConfigLoader.apply(yaml: scenario.configYAML, to: FednsConfig())
        // An address of its own, and a port chosen without SO_REUSEPORT (bound to port 0 with it, a UDP
        // socket may share another server's port): other tests' servers on 127.0.0.1 never see these queries.
        config.listen = [HostPort(host: Self.host, port: Int(try Sockets.freePort(host: Self.host)))]
        config.health = .off
        config.ready = .off
        config.metrics = .off
        config.lameduckSeconds = 0
        var logger = Logger(label: "fedns.conformance.listeners")
        logger.logLevel = .critical
        let (bound, announce) = AsyncStream.makeStream(of: FednsServer.Bound.self)
        let fedns = FednsServer(config: config, engine: inner.stack.engine, snapshots: inner.stack.snapshots, registry: nil,
                                group: Self.group, logger: logger, detectsForwardingLoop: false,
                                onBound: { announce.yield($0); announce.finish() })
        server = ServiceGroup(services: [fedns], logger: logger)
        let group = server
        serving = Task {
            try? await group.run()
            announce.finish()
        }
        var iterator = bound.makeAsyncIterator()
        guard let addresses = await iterator.next(), let address = addresses.dns.first else {
            await inner.tearDown()
            throw ScenarioError("the listeners did not start")
        }
        port = UInt16(address.port)
    }

    public func send(_ packet: [UInt8], over transport: QuerySpec.Transport, step: Int, patience: Double) async -> [UInt8]? {
        // A deliberate drop is proven by half a second of silence (a loopback answer takes far less).
        let wait = patience <= 1 ? 0.5 : 5
        guard repeats, transport == .udp else { return await exchange([packet], tcp: transport == .tcp, wait: wait)[0] }
        // Asked twice from one client socket, so the same listener socket (and its table) answers both.
        let engine = inner.stack.engine
        let slowBefore = engine.slowPathQueries
        let replies = await exchange([packet, packet], tcp: false, wait: wait)
        guard let first = replies[0], let firstMessage = try? WireCodec.decode(first) else { return replies[0] }
        if replies[1] != nil, engine.slowPathQueries == slowBefore + 1 { fromTable.withLock { $0 += 1 } }
        if replies[1].flatMap({ try? WireCodec.decode($0) }) != firstMessage {
            note("step \(step): the second UDP answer differs from the first:\n\(Self.show(replies[1]))\nfirst:\n\(Self.show(first))")
        }
        // Over TCP once per scenario: a TCP connection costs several times a UDP exchange here.
        if !comparedOverTCP, !firstMessage.header.truncated {
            comparedOverTCP = true
            let overTCP = await exchange([packet], tcp: true, wait: wait)[0]
            if overTCP.flatMap({ try? WireCodec.decode($0) }) != firstMessage {
                note("step \(step): the TCP answer differs from the UDP one:\n\(Self.show(overTCP))\nUDP:\n\(Self.show(first))")
            }
        }
        return first
    }

    /// Exchanges over a real socket (on a thread outside the task pool: the socket calls block),
    /// moving virtual time on whenever the listeners' work waits on the clock.
    func exchange(_ packets: [[UInt8]], tcp: Bool, wait: Double) async -> [[UInt8]?] {
        let done = Mutex<(finished: Bool, replies: [[UInt8]?])>((false, []))
        let port = self.port
        Thread.detachNewThread {
            let replies: [[UInt8]?]
            if tcp {
                replies = packets.map { (try? Sockets.tcpExchange($0, host: Self.host, port: port, wait: wait)) ?? nil }
            } else {
                replies = (try? Sockets.udpExchanges(packets, host: Self.host, port: port, wait: wait)) ?? packets.map { _ in nil }
            }
            done.withLock { $0 = (true, replies) }
        }
        let clock = inner.clock
        let start = clock.nowNanoseconds()
        while !done.withLock({ $0.finished }) {
            if clock.isSleeping(owner: 0), let next = clock.nextDeadline, next - start <= inner.queryLimitNanoseconds {
                clock.advance(to: next)
            }
            try? await Task.sleep(nanoseconds: 1_000_000)
        }
        return done.withLock { $0.replies }
    }

    func note(_ problem: String) { found.withLock { $0.append(problem) } }

    static func show(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "  (no answer)" }
        guard let m = try? WireCodec.decode(bytes) else { return "  (\(bytes.count) undecodable bytes)" }
        return Checker.indent(m.description, by: "  ")
    }

    public func install(cluster objects: [ClusterObject]) async throws { try await inner.install(cluster: objects) }
    public func pass(seconds: Double) async { await inner.pass(seconds: seconds) }

    public func tearDown() async {
        await server.triggerGracefulShutdown()
        await serving.value
        await inner.tearDown()
    }
}
