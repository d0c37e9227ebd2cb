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

/// The UDP listener's own loop (recvmmsg/sendmmsg): datagrams sent in bursts, so that one read takes
/// many of them, from many client sockets; every query gets its own answer at its own address.
@Suite(.serialized) struct UDPListenerTests {
    /// A UDP client socket on loopback that sends without waiting and collects what comes back.
    final class Client {
        let fd: Int32
        init() {
            fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var size: Int32 = 1 << 20
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        deinit { close(fd) }

        func send(_ packet: [UInt8], to port: Int) {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = in_port_t(UInt16(port).bigEndian)
            sa.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = packet.withUnsafeBytes { bytes in
                withUnsafePointer(to: &sa) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        /// The datagrams that arrive until `count` have or `seconds` pass.
        func receive(_ count: Int, seconds: Double = 30) -> [[UInt8]] {
            var out: [[UInt8]] = []
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while out.count < count, Date() < deadline {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 200) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { out.append(Array(buffer[0..<n])) }
            }
            return out
        }
    }

    static func query(_ name: String, _ type: RRType, id: UInt16, edns: EDNS? = nil) throws -> [UInt8] {
        WireCodec.encode(.query(id: id, name: try DomainName(name), type: type, edns: edns))
    }

    /// The question and ID of each answer, as "ID name type".
    static func keys(_ replies: [[UInt8]]) throws -> Set<String> {
        Set(try replies.map { bytes in
            let m = try WireCodec.decode(bytes)
            return "\(m.header.id) \(m.questions.first?.name.description ?? "-") \(m.questions.first?.type.description ?? "-")"
        })
    }

    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            Thread { c.resume(with: Result { try body() }) }.start()
        }
    }

    @Test("40 client sockets sending at once each get the answers to their own queries, table and slow path alike")
    func manyClientsAtOnce() async throws {
        try await PerNameInvalidationTests.withListener(transport: AnsweringUpstream()) { listener, stack in
            let port = listener.port
            // Pre-rendered and cached before the burst: a and b from the table, www.example.com from the cache.
            for q in ["a.ns.svc.cluster.local. A", "b.ns.svc.cluster.local. A", "www.example.com. A"] {
                _ = await listener.ask(try PerNameInvalidationTests.packet(q, id: 1))
            }
            let questions: [(String, RRType)] = [
                ("a.ns.svc.cluster.local.", .a), ("b.ns.svc.cluster.local.", .a), ("www.example.com.", .a),
                ("nosuch.ns.svc.cluster.local.", .a), ("a.ns.svc.cluster.local.", .aaaa),
            ]
            let perClient = 5
            let result = try await Self.offPool { () -> (sent: [Int32: Set<String>], got: [Int32: Set<String>]) in
                let clients = (0..<40).map { _ in Client() }
                var sent: [Int32: Set<String>] = [:]
                for round in 0..<perClient {
                    for (c, client) in clients.enumerated() {
                        // A different question for each client in each round, and an ID naming both.
                        let (name, type) = questions[(c + round) % questions.count]
                        let id = UInt16(c * 100 + round)
                        client.send(try Self.query(name, type, id: id), to: port)
                        sent[client.fd, default: []].insert("\(id) \(name) \(type)")
                    }
                }
                var got: [Int32: Set<String>] = [:]
                for client in clients { got[client.fd] = try Self.keys(client.receive(perClient)) }
                withExtendedLifetime(clients) {}
                return (sent, got)
            }
            #expect(result.got == result.sent)
            _ = stack
        }
    }

    @Test("a malformed datagram in a burst changes nothing for the queries around it")
    func malformedInABurst() async throws {
        try await PerNameInvalidationTests.withListener(transport: AnsweringUpstream()) { listener, stack in
            let port = listener.port
            _ = await listener.ask(try PerNameInvalidationTests.packet("a.ns.svc.cluster.local. A", id: 1))
            let malformed: [[UInt8]] = [
                [0x12],                                              // shorter than a header: dropped
                Array(repeating: 0xff, count: 40),                   // a response with garbage: dropped
                [0x00, 0x07, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f],  // a question cut short: FORMERR
                [],                                                  // empty
            ]
            let got = try await Self.offPool { () -> (answers: [[UInt8]], keys: Set<String>) in
                let client = Client()
                var expected = 0
                for i in 0..<24 {
                    if i % 6 == 3 { client.send(malformed[(i / 6) % malformed.count], to: port) }
                    let name = i % 2 == 0 ? "a.ns.svc.cluster.local." : "www.example.com."
                    client.send(try Self.query(name, .a, id: UInt16(1000 + i)), to: port)
                    expected += 1
                }
                let answers = client.receive(expected + 1)
                return (answers, try Self.keys(answers.filter { (try? WireCodec.decode($0))?.header.rcode == .noError }))
            }
            let wanted = Set((0..<24).map { i in "\(1000 + i) \(i % 2 == 0 ? "a.ns.svc.cluster.local." : "www.example.com.") A" })
            #expect(got.keys == wanted)
            // The cut-short question gets FORMERR with its ID; the other malformed datagrams no answer.
            let others = got.answers.filter { (try? WireCodec.decode($0))?.header.rcode != .noError }
            #expect(others.count == 1 && others.first.map { $0[0] == 0x00 && $0[1] == 0x07 && $0[3] & 0x0f == 1 } == true, "\(others)")
            _ = stack
        }
    }

    @Test("an answer over the client's payload is cut to whole records with TC, from the table as from the engine")
    func truncation() async throws {
        try await PerNameInvalidationTests.withListener { listener, stack in
            let ips = (1...80).map { "10.2.0.\($0)" }
            stack.snapshots.apply([
                .upsert(.service(Service(key: ServiceKey(namespace: "ns", name: "big"), kind: .headless,
                                         ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))),
                .upsert(PerNameInvalidationTests.slice("big", ips)),
            ])
            for (edns, limit) in [(nil, 512), (EDNS(udpPayloadSize: 1232), 1232)] as [(EDNS?, Int)] {
                var sizes: [Int] = []
                for round in 0..<2 {
                    let before = stack.engine.slowPathQueries
                    let reply = try #require(await listener.ask(try Self.query("big.ns.svc.cluster.local.", .a, id: 77, edns: edns)))
                    let m = try WireCodec.decode(reply)
                    #expect(reply.count <= limit && m.header.truncated && m.header.id == 77, "\(reply.count) bytes")
                    #expect(!m.answer.isEmpty && m.answer.count < ips.count)
                    if round == 1 { #expect(stack.engine.slowPathQueries == before, "the second answer comes from the table") }
                    sizes.append(reply.count)
                }
                #expect(sizes[0] == sizes[1])
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func closingWakesTheIdleThreadAndLeavesTheSocketToItsOtherHolders() async throws {
        let group = PerNameInvalidationTests.group
        var config = FednsConfig()
        config.forward.upstreams = [try Upstream(host: "192.0.2.254")]
        var logger = Logger(label: "test.udp")
        logger.logLevel = .critical
        let stack = try ResolverStack.build(config: config, group: group, logger: logger)
        stack.snapshots.install(ClusterObjects())
        let admissions = Admissions(access: AccessList(networks: CIDR.defaultAllowed), identityNames: false, metrics: stack.engine.metrics)
        let sockets = ListenerSockets()
        let servers = try await UDPListener.bind(address: HostPort(host: "127.0.0.1", port: 0), group: group, receiveBuffer: 1 << 16,
                                                 logger: logger, sockets: sockets, engine: stack.engine, snapshots: stack.snapshots,
                                                 admissions: admissions)
        let server = try #require(servers.first)
        let successorCopy = try #require(sockets.handOverList.first?.fd)
        // Idle in poll(): stopping reading and closing must both wake it.
        try await Task.sleep(for: .milliseconds(50))
        await server.setReading(false)
        let client = Client()
        client.send(try Self.query("x.example.", .a, id: 5), to: server.port)
        await server.close()
        #expect(try await server.closeFuture.get() == ())
        // The kernel socket lives on in the copy a successor would get, with the datagram nobody read.
        var p = pollfd(fd: successorCopy, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 30_000) == 1)
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(successorCopy, &buffer, buffer.count, 0)
        #expect(n > 0 && buffer[0] == 0 && buffer[1] == 5)
        sockets.closeOwned()
    }

    @Test("durations counted by listener threads and by other writers render as one histogram with CoreDNS's buckets")
    func durationsSummedWhenRendered() throws {
        let metrics = ServerMetrics()
        let first = metrics.makeListenerTally(), second = metrics.makeListenerTally()
        first.recordNanoseconds(100_000, times: 3)        // ≤ 0.25 ms
        second.recordNanoseconds(3_000_000, times: 2)     // ≤ 4 ms
        metrics.udp.duration.recordNanoseconds(20_000_000_000)  // over 8.192 s: +Inf only
        metrics.tcp.duration.recordNanoseconds(600_000)
        var out: [UInt8] = []
        metrics.renderDurations(into: &out)
        let samples = PrometheusText.samples(out)
        let udp = samples.filter { $0.name == "fedns_dns_request_duration_seconds_bucket" && $0.labels["proto"] == "udp" }
        #expect(udp.map { $0.labels["le"]! } == ["0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032",
                                                "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"])
        #expect(udp.map(\.value) == [3, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6])
        let value = { (name: String, proto: String) in samples.first { $0.name == name && $0.labels["proto"] == proto }?.value }
        #expect(value("fedns_dns_request_duration_seconds_count", "udp") == 6)
        #expect(value("fedns_dns_request_duration_seconds_sum", "udp") == 20.0063)
        #expect(value("fedns_dns_request_duration_seconds_count", "tcp") == 1)
    }
}
