import Clocks
import DNSWire
import Foundation
import Logging
import NameExpansion
import NIOPosix
import Resolver
import Synchronization
import Testing
@testable import Server

/// Every upstream unreachable; counts the health probes (`. NS`) each one receives.
final class ProbeCounter: UpstreamTransport {
    private let counts = Mutex<[String: Int]>([:])

    func exchange(_ query: [UInt8], with upstream: Upstream, tcp: Bool, timeoutNanoseconds: UInt64,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome {
        if let q = try? WireCodec.decode(query), q.questions.first == Question(name: .root, type: .ns) {
            counts.withLock { $0[upstream.host, default: 0] += 1 }
        }
        return .networkError("unreachable")
    }

    func probes(_ host: String) -> Int { counts.withLock { $0[host, default: 0] } }
}

/// Real time, 1000 times faster: the 3 s probe interval passes in 3 ms.
struct FastTime: TimeSource {
    func nowNanoseconds() -> UInt64 { SystemTimeSource().nowNanoseconds() * 1000 }
    func sleep(nanoseconds: UInt64) async throws { try await Task.sleep(nanoseconds: max(1, nanoseconds / 1000)) }
}

/// Waits (real time, bounded) until `condition` holds.
func eventually(_ what: String, within seconds: Double = 30, _ condition: () -> Bool) async throws {
    if await !SystemTimeSource.poll(within: seconds, until: condition) { Issue.record("timed out waiting until \(what)") }
}

@Suite struct ReloadTests {
    static let logger: Logger = { var l = Logger(label: "test.reload"); l.logLevel = .critical; return l }()

    static func config(upstream: String) throws -> FednsConfig {
        var config = FednsConfig()
        config.forward.upstreams = [try Upstream(host: upstream)]
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        return config
    }

    /// Two failed queries mark the chain's upstream down, which starts its probes.
    static func failTwice(_ chain: Chain) async throws {
        for _ in 0..<2 { _ = await chain.resolve(Request(message: .query(id: 1, name: try DomainName("www.example."), type: .a))) }
    }

    /// A stack forwarding to 192.0.2.1 with its probes running, after two failed queries marked that upstream down.
    static func stackWithUpstreamDown() async throws -> (ProbeCounter, ResolverStack, Task<Void?, Never>) {
        let transport = ProbeCounter()
        let stack = try ResolverStack.build(config: try config(upstream: "192.0.2.1"), group: MultiThreadedEventLoopGroup.singleton,
                                            logger: logger, time: FastTime(), transport: transport)
        let service = stack.probes
        let probes = Task { try? await service.run() }
        try await failTwice(stack.engine.chain)
        return (transport, stack, probes)
    }

    @Test("a kube-dns ConfigMap reload stops the old forwarder's health probes and probes the new forwarder's upstreams")
    func reloadReplacesProbes() async throws {
        let (transport, stack, probes) = try await Self.stackWithUpstreamDown()
        try await eventually("the old upstream is probed") { transport.probes("192.0.2.1") >= 2 }

        let next = try Self.config(upstream: "192.0.2.2")
        let watcher = KubeDNSConfigWatcher(reload: ConfigReload(directory: NSTemporaryDirectory(), resolve: { next }), engine: stack.engine,
                                           snapshots: stack.snapshots, group: MultiThreadedEventLoopGroup.singleton, probes: stack.probes,
                                           logger: Self.logger, time: FastTime(), transport: transport)
        #expect(watcher.apply())
        try await Self.failTwice(stack.engine.chain)
        try await eventually("the new upstream is probed") { transport.probes("192.0.2.2") >= 2 }
        // The new probes start only once the old ones have stopped: from here the old count must stay.
        let old = transport.probes("192.0.2.1"), new = transport.probes("192.0.2.2")
        try await eventually("the new upstream is probed again and again") { transport.probes("192.0.2.2") >= new + 10 }
        #expect(transport.probes("192.0.2.1") == old, "the old forwarder is still probed after the reload")
        #expect(stack.probes.activeProbeLoops == 1)

        probes.cancel()
        await probes.value
        #expect(stack.probes.activeProbeLoops == 0, "nothing keeps probing after shutdown")
    }

    @Test("a rejected reload keeps the old chain, probes and all")
    func rejectedReloadKeepsProbes() async throws {
        let (transport, stack, probes) = try await Self.stackWithUpstreamDown()
        let bad = try {
            var config = try Self.config(upstream: "192.0.2.2")
            config.clusterZone.ttl = 999_999   // out of range: the whole update is rejected
            return config
        }()
        let watcher = KubeDNSConfigWatcher(reload: ConfigReload(directory: NSTemporaryDirectory(), resolve: { bad }), engine: stack.engine,
                                           snapshots: stack.snapshots, group: MultiThreadedEventLoopGroup.singleton, probes: stack.probes,
                                           logger: Self.logger, time: FastTime(), transport: transport)
        #expect(!watcher.apply())
        let before = transport.probes("192.0.2.1")
        try await eventually("the old upstream is still probed") { transport.probes("192.0.2.1") >= before + 3 }
        probes.cancel()
        await probes.value
    }
}
