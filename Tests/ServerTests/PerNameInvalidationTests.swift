import ClusterState
import DNSWire
import Foundation
import Glibc
import Logging
import NameExpansion
import NIOCore
import NIOPosix
import Resolver
import Testing
@testable import Server

/// A blocking UDP client on loopback; one socket, so the same listener socket (and its table) answers.
final class RawUDP: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init(port: Int) {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    }

    deinit { close(fd) }

    func ask(_ packet: [UInt8], seconds: Double = 5) async -> [UInt8]? {
        await offPool {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = in_port_t(UInt16(self.port).bigEndian)
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            let sent = packet.withUnsafeBytes { bytes in
                withUnsafePointer(to: &sa) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(self.fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            guard sent == packet.count else { return nil }
            var p = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return nil }
            var out = [UInt8](repeating: 0, count: 4096)
            let n = out.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? Array(out[0..<n]) : nil
        }
    }
}

/// A change invalidates only the pre-rendered answers of the names it affects (docs/architecture.md,
/// cluster state): asked through the real UDP listener, whose table answers without the engine.
@Suite(.serialized) struct PerNameInvalidationTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func service(_ name: String, _ ip: String, namespace: String = "ns") -> ClusterObject {
        .service(Service(key: ServiceKey(namespace: namespace, name: name), kind: .clusterIP([ip]),
                         ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))
    }

    static func slice(_ service: String, _ ips: [String], ready: Bool = true) -> ClusterObject {
        .endpointSlice(EndpointSlice(name: "\(service)-1", service: ServiceKey(namespace: "ns", name: service), addressType: "IPv4",
                                     endpoints: ips.map { Endpoint(addresses: [$0], ready: ready) },
                                     ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))
    }

    static let base: [ClusterObject] = [
        .namespace("ns"),
        service("a", "10.96.0.1"), service("b", "10.96.0.2"),
        slice("a", ["10.1.0.1"]), slice("b", ["10.1.0.2"]),
    ]

    /// A UDP listener (one socket, one table) over a stack with `federations: {fed: example.com}`.
    static func withListener(transport: (any UpstreamTransport)? = nil,
                             _ body: (RawUDP, ResolverStack) async throws -> Void) async throws {
        var config = FednsConfig()
        config.forward.upstreams = [try Upstream(host: "192.0.2.254")]
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        config.federation.federations = ["fed": "example.com"]
        config.federation.zone = "zone-a"
        config.federation.region = "region-a"
        var logger = Logger(label: "test.invalidation")
        logger.logLevel = .critical
        let stack = try ResolverStack.build(config: config, group: group, logger: logger, transport: transport)
        var objects = ClusterObjects()
        objects = objects.applying(base.map(ClusterChange.upsert))
        stack.snapshots.install(objects)
        let engine = stack.engine, snapshots = stack.snapshots
        let admissions = Admissions(access: AccessList(networks: CIDR.defaultAllowed), identityNames: false, metrics: engine.metrics)
        // Room for a whole burst (UDPListenerTests sends 200 queries at once) even when the listener thread
        // gets no CPU for a while: at 64 KB a loaded machine dropped the burst's tail in the kernel.
        let servers = try await UDPListener.bind(address: HostPort(host: "127.0.0.1", port: 0), group: group, receiveBuffer: 1 << 21,
                                                 logger: logger, engine: engine, snapshots: snapshots, admissions: admissions)
        let client = RawUDP(port: try #require(servers.first?.port))
        do { try await body(client, stack) } catch {
            for s in servers { await s.close() }
            throw error
        }
        for s in servers { await s.close() }
    }

    struct Change: Sendable, CustomStringConvertible {
        var description: String
        var changes: [ClusterChange]
        /// Names whose pre-rendered answers must survive the change (answered by the table).
        var kept: [String]
        /// Names whose answers must be rendered again (the engine answers them).
        var dropped: [String]
    }

    static let cases: [Change] = [
        Change(description: "an endpoint of a changes", changes: [.upsert(slice("a", ["10.1.0.9"]))],
               kept: ["b.ns.svc.cluster.local. A", "_http._tcp.b.ns.svc.cluster.local. SRV", "2.0.1.10.in-addr.arpa. PTR",
                      "nosuch.ns.svc.cluster.local. A"],
               dropped: ["a.ns.svc.cluster.local. A", "10-1-0-1.a.ns.svc.cluster.local. A", "_http._tcp.a.ns.svc.cluster.local. SRV",
                         "1.0.1.10.in-addr.arpa. PTR"]),
        Change(description: "a's ClusterIP changes", changes: [.upsert(service("a", "10.96.0.9"))],
               kept: ["b.ns.svc.cluster.local. A", "2.0.96.10.in-addr.arpa. PTR"],
               dropped: ["a.ns.svc.cluster.local. A", "1.0.96.10.in-addr.arpa. PTR"]),
        Change(description: "a Service appears where a name was NXDOMAIN", changes: [.upsert(service("c", "10.96.0.3"))],
               kept: ["a.ns.svc.cluster.local. A", "b.ns.svc.cluster.local. A", "nosuch.ns.svc.cluster.local. A"],
               dropped: ["c.ns.svc.cluster.local. A"]),
        Change(description: "b is deleted", changes: [.delete(ObjectRef(kind: .service, namespace: "ns", name: "b"))],
               kept: ["a.ns.svc.cluster.local. A", "a.ns.fed.svc.cluster.local. CNAME"],
               dropped: ["b.ns.svc.cluster.local. A", "b.ns.fed.svc.cluster.local. CNAME", "2.0.96.10.in-addr.arpa. PTR"]),
        Change(description: "a namespace appears: every answer may differ", changes: [.upsert(.namespace("other"))],
               kept: [],
               dropped: ["a.ns.svc.cluster.local. A", "b.ns.svc.cluster.local. A", "other.svc.cluster.local. A"]),
    ]

    static func packet(_ question: String, id: UInt16) throws -> [UInt8] {
        let parts = question.split(separator: " ")
        let type: RRType = switch parts[1] {
        case "A": .a
        case "SRV": .srv
        case "PTR": .ptr
        default: .cname
        }
        return WireCodec.encode(.query(id: id, name: try DomainName(String(parts[0])), type: type, edns: nil))
    }

    /// True when the table answered `question` (the engine's slow-path count did not move).
    static func fromTable(_ question: String, _ client: RawUDP, _ engine: QueryEngine) async throws -> Bool {
        let before = engine.slowPathQueries
        let reply = try #require(await client.ask(try packet(question, id: 7)), "no answer to \(question)")
        #expect(try WireCodec.decode(reply).header.id == 7)
        return engine.slowPathQueries == before
    }

    @Test("a change leaves the pre-rendered answers of other names in place and drops its own", arguments: cases)
    func changeDropsOnlyItsNames(_ change: Change) async throws {
        try await Self.withListener { client, stack in
            let engine = stack.engine
            let names = change.kept + change.dropped
            for name in names { _ = try await Self.fromTable(name, client, engine) }
            for name in names { #expect(try await Self.fromTable(name, client, engine), "\(name) is pre-rendered before the change") }
            try #require(stack.snapshots.apply(change.changes) != nil)
            for name in change.kept { #expect(try await Self.fromTable(name, client, engine), "\(name) kept its answer") }
            for name in change.dropped { #expect(!(try await Self.fromTable(name, client, engine)), "\(name) was rendered again") }
        }
    }

    static func cnames(_ question: String, _ client: RawUDP) async throws -> [ResourceRecord] {
        try WireCodec.decode(try #require(await client.ask(try packet(question, id: 9)))).answer.filter { $0.type == .cname }
    }

    @Test("the federated answer flips between the local answer and the CNAME on the first query after a readiness change")
    func federatedFlip() async throws {
        try await Self.withListener { (client: RawUDP, stack: ResolverStack) async throws in
            let question = "a.ns.fed.svc.cluster.local. CNAME"
            // Healthy: the local answer (no CNAME record for this type); asked twice so the table holds it.
            #expect(try await Self.cnames(question, client).isEmpty)
            #expect(try await Self.fromTable(question, client, stack.engine))
            stack.snapshots.apply([.upsert(Self.slice("a", ["10.1.0.1"], ready: false))])
            let flipped = try await Self.cnames(question, client)
            #expect(flipped.map(\.rdata) == [RData.name(try DomainName("a.ns.fed.svc.zone-a.example.com."))], "\(flipped)")
            #expect(try await Self.fromTable(question, client, stack.engine))
            // A change to another Service leaves the CNAME pre-rendered; a's readiness brings the local answer back.
            stack.snapshots.apply([.upsert(Self.slice("b", ["10.1.0.7"]))])
            #expect(try await Self.fromTable(question, client, stack.engine))
            stack.snapshots.apply([.upsert(Self.slice("a", ["10.1.0.1"]))])
            #expect(try await Self.cnames(question, client).isEmpty)
        }
    }

    @Test("a forwarded answer served from the cache stays through a change; a reverse name forwarded because no one held the address is dropped when a Service takes it")
    func cachedForwardedAnswers() async throws {
        try await Self.withListener(transport: AnsweringUpstream()) { client, stack in
            let engine = stack.engine
            let names = ["www.example.com. A", "9.0.96.10.in-addr.arpa. PTR"]
            for name in names { _ = try await Self.fromTable(name, client, engine) }
            for name in names { #expect(try await Self.fromTable(name, client, engine), "\(name) is served from the cache's bytes") }
            try #require(stack.snapshots.apply([.upsert(Self.service("c", "10.96.0.9"))]) != nil)
            #expect(try await Self.fromTable("www.example.com. A", client, engine), "a new Service does not change where www.example.com goes")
            #expect(!(try await Self.fromTable("9.0.96.10.in-addr.arpa. PTR", client, engine)), "the address now belongs to c")
            let reply = try WireCodec.decode(try #require(await client.ask(try Self.packet("9.0.96.10.in-addr.arpa. PTR", id: 3))))
            #expect(reply.answer.map(\.rdata) == [RData.name(try DomainName("c.ns.svc.cluster.local."))])
        }
    }
}

/// An upstream that answers every query: A 192.0.2.1 or PTR host.example.com., TTL 300.
struct AnsweringUpstream: UpstreamTransport {
    func exchange(_ query: [UInt8], with upstream: Upstream, tcp: Bool, timeoutNanoseconds: UInt64,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome {
        guard let q = try? WireCodec.decode(query), let question = q.questions.first else { return .networkError("undecodable query") }
        var reply = Message.response(to: q)
        reply.header.recursionAvailable = true
        switch question.type {
        case .a: reply.answer = [ResourceRecord(name: question.name, type: .a, ttl: 300, rdata: RData.a("192.0.2.1")!)]
        case .ptr: reply.answer = [ResourceRecord(name: question.name, type: .ptr, ttl: 300,
                                                  rdata: RData.name(try! DomainName("host.example.com.")))]
        default: break
        }
        return accept(WireCodec.encode(reply)).map(TryOutcome.reply) ?? .networkError("reply not accepted")
    }
}
