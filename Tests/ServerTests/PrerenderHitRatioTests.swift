import Clocks
import ClusterState
import DNSWire
import Logging
import NameExpansion
import NIOPosix
import Resolver
import Testing
@testable import Server

/// The pre-rendered hit ratio under endpoint churn (docs/architecture.md, cluster state): 10,000
/// Services asked uniformly, one endpoint change every 1,000 queries (10 changes a second at
/// 10,000 q/s). Counted, not timed: each query goes to the table as the UDP listener does, and to
/// the engine's slow path when the table has no answer.
@Suite struct PrerenderHitRatioTests {
    static let services = 10_000

    static func slice(_ i: Int, generation: Int) -> ClusterObject {
        .endpointSlice(EndpointSlice(name: "s\(i)-1", service: ServiceKey(namespace: "ns", name: "s\(i)"), addressType: "IPv4",
                                     endpoints: [Endpoint(addresses: ["10.\(100 + generation % 100).\(i / 256).\(i % 256)"])],
                                     ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))
    }

    static func cluster() -> ClusterObjects {
        var objects = ClusterObjects(namespaces: ["ns"])
        for i in 0..<services {
            objects.services.append(Service(key: ServiceKey(namespace: "ns", name: "s\(i)"), kind: .headless,
                                            ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))
            if case .endpointSlice(let e) = slice(i, generation: 0) { objects.endpointSlices.append(e) }
        }
        return objects
    }

    /// Asks `queries` uniformly spread names with a change every `changeEvery`; returns the share the table answered.
    static func hitRatio(queries: Int, changeEvery: Int) async throws -> Double {
        var config = FednsConfig()
        config.forward.upstreams = [try Upstream(host: "192.0.2.254")]
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        var logger = Logger(label: "test.hit-ratio")
        logger.logLevel = .critical
        let stack = try ResolverStack.build(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        stack.snapshots.install(cluster())
        let engine = stack.engine
        let table = PrerenderTable()
        let packets = try (0..<services).map { i in
            WireCodec.encode(.query(id: 1, name: try DomainName("s\(i).ns.svc.cluster.local."), type: .a, edns: nil))
        }

        func ask(_ i: Int) async throws {
            let packet = packets[i]
            guard case .pass(let view) = packet.withUnsafeBytes({ Gate.inspect($0, identityNames: false) }) else {
                Issue.record("the gate did not pass a query"); return
            }
            let key = PrerenderKey(name: view.lowercasedWireName, type: view.qtype.rawValue)
            let snapshot = try #require(stack.snapshots.current)
            if table.lookup(key, snapshot: snapshot, config: engine.configEpoch) != nil { return }
            let outcome = await engine.resolve(packet: packet, view: view, transport: .udp, client: "127.0.0.1", sizeLimit: 1232)
            if let (epoch, answer, dependencies) = outcome.prerendered {
                table.store(answer, for: key, epoch: epoch, dependencies: dependencies)
            }
        }

        for i in 0..<services { try await ask(i) }  // a warm table: every name asked once
        var rng = SeededGenerator(seed: 8)
        let slowBefore = engine.slowPathQueries
        for q in 1...queries {
            try await ask(Int(rng.next() % UInt64(services)))
            if q % changeEvery == 0 {
                let changed = Int(rng.next() % UInt64(services))
                stack.snapshots.apply([.upsert(slice(changed, generation: q / changeEvery))])
            }
        }
        return 1 - Double(engine.slowPathQueries - slowBefore) / Double(queries)
    }

    @Test("10 endpoint changes a second at 10,000 q/s over 10,000 Services: over 95 % of queries answered pre-rendered")
    func hitRatioUnderChurn() async throws {
        let ratio = try await Self.hitRatio(queries: 20_000, changeEvery: 1_000)
        print("pre-rendered hit ratio: \(ratio * 100) % (20,000 queries, 20 endpoint changes, 10,000 Services)")
        #expect(ratio > 0.95)
    }
}
