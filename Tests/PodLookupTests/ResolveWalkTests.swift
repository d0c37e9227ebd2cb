import DNSWire
import Foundation
import Glibc
import NameExpansion
import NIOPosix
import Synchronization
import Testing
@testable import PodLookup

/// A server's data for these tests: records as zone text; names in `servfail` fail; an absent name is
/// NXDOMAIN, a present name without the type NODATA.
struct FakeData: Sendable {
    let records: [ResourceRecord]
    let servfail: Set<DomainName>
    /// Names whose UDP reply is truncated (TC=1, no records): the client must retry over TCP.
    let truncate: Set<DomainName>

    init(_ zone: String, servfail: [String] = [], truncate: [String] = []) throws {
        records = try zone.split(separator: "\n").map { try ResourceRecord(zoneText: String($0.drop(while: { $0 == " " }))) }
        self.servfail = Set(try servfail.map(DomainName.init))
        self.truncate = Set(try truncate.map(DomainName.init))
    }

    func reply(to query: Message, overUDP: Bool = true) -> Message {
        let q = query.questions[0]
        var m = Message.response(to: query)
        if servfail.contains(q.name) { m.header.rcode = .servFail; return m }
        if overUDP && truncate.contains(q.name) { m.header.truncated = true; return m }
        var current = q.name
        // Follow CNAMEs inside the data, as a recursive server puts the chain in the answer.
        for _ in 0..<8 {
            let here = records.filter { $0.name == current }
            if here.isEmpty { m.header.rcode = .nxDomain; return m }
            m.answer += here.filter { $0.type == q.type }
            guard let cname = here.first(where: { $0.type == .cname }), let target = cname.targetName else { return m }
            m.answer.append(cname)
            current = target
        }
        return m
    }
}

private func exchange(_ data: FakeData, _ name: DomainName, _ type: RRType) -> Exchange {
    Exchange(reply: data.reply(to: .query(id: 1, name: name, type: type)), error: nil, transport: "fake")
}

private let pod = ResolvConf.kubernetesPod(namespace: "default", clusterDomain: try! DomainName("cluster.local"),
                                           hostSearch: [], nameserver: "10.96.0.10")

private let world = """
    nginx.mynamespace.myfederation.svc.cluster.local. 5 IN A 10.0.0.20
    nginx.mynamespace.myfederation.svc.cluster.local. 5 IN AAAA fd00::20
    v4.mynamespace.myfederation.svc.cluster.local. 5 IN A 10.0.0.21
    v6only.cluster.local. 5 IN AAAA fd00::22
    v6only.svc.cluster.local. 5 IN TXT "exists"
    v6only. 5 IN A 192.0.2.1
    alias.default.svc.cluster.local. 5 IN CNAME web.example.com.
    web.example.com. 60 IN A 192.0.2.80
    """

struct WalkRow: Sendable, CustomTestStringConvertible {
    var typed: String
    var family: AddressFamily
    var flavor: StubFlavor
    /// `name TYPE` for every query sent, in order (names relative to nothing: absolute without the dot).
    var sent: [String]
    var status: StubStatus
    var addresses: [String] = []
    var servfail: [String] = []
    var testDescription: String { "\(flavor) \(typed) \(family)" }
}

@Suite("fedns resolve: the stub resolver's walk")
struct ResolveWalkTests {
    static let rows: [WalkRow] = [
        // Search path order with ndots:5; A and AAAA per name; stops at the first name with records.
        WalkRow(typed: "nginx.mynamespace.myfederation", family: .any, flavor: .glibc,
                sent: ["nginx.mynamespace.myfederation.default.svc.cluster.local A", "nginx.mynamespace.myfederation.default.svc.cluster.local AAAA",
                       "nginx.mynamespace.myfederation.svc.cluster.local A", "nginx.mynamespace.myfederation.svc.cluster.local AAAA"],
                status: .ok, addresses: ["10.0.0.20", "fd00::20"]),
        WalkRow(typed: "nginx.mynamespace.myfederation", family: .inet, flavor: .glibc,
                sent: ["nginx.mynamespace.myfederation.default.svc.cluster.local A", "nginx.mynamespace.myfederation.svc.cluster.local A"],
                status: .ok, addresses: ["10.0.0.20"]),
        // AAAA only on an IPv4-only name: glibc moves on after NODATA, reaches the as-is name, then reports NODATA.
        WalkRow(typed: "v4.mynamespace.myfederation", family: .inet6, flavor: .glibc,
                sent: ["v4.mynamespace.myfederation.default.svc.cluster.local AAAA", "v4.mynamespace.myfederation.svc.cluster.local AAAA",
                       "v4.mynamespace.myfederation.cluster.local AAAA", "v4.mynamespace.myfederation AAAA"],
                status: .nodata),
        // musl stops at the NODATA.
        WalkRow(typed: "v4.mynamespace.myfederation", family: .inet6, flavor: .musl,
                sent: ["v4.mynamespace.myfederation.default.svc.cluster.local AAAA", "v4.mynamespace.myfederation.svc.cluster.local AAAA"],
                status: .nodata),
        // glibc: either family with records ends the walk.
        WalkRow(typed: "v6only", family: .any, flavor: .glibc,
                sent: ["v6only.default.svc.cluster.local A", "v6only.default.svc.cluster.local AAAA",
                       "v6only.svc.cluster.local A", "v6only.svc.cluster.local AAAA",
                       "v6only.cluster.local A", "v6only.cluster.local AAAA"],
                status: .ok, addresses: ["fd00::22"]),
        // musl: the NODATA at svc.cluster.local ends it.
        WalkRow(typed: "v6only", family: .any, flavor: .musl,
                sent: ["v6only.default.svc.cluster.local A", "v6only.default.svc.cluster.local AAAA",
                       "v6only.svc.cluster.local A", "v6only.svc.cluster.local AAAA"],
                status: .nodata),
        // SERVFAIL: glibc moves on, musl gives up.
        WalkRow(typed: "v6only", family: .inet6, flavor: .glibc,
                sent: ["v6only.default.svc.cluster.local AAAA", "v6only.svc.cluster.local AAAA", "v6only.cluster.local AAAA"],
                status: .ok, addresses: ["fd00::22"], servfail: ["v6only.default.svc.cluster.local"]),
        WalkRow(typed: "v6only", family: .inet6, flavor: .musl,
                sent: ["v6only.default.svc.cluster.local AAAA"], status: .servfail, servfail: ["v6only.default.svc.cluster.local"]),
        // A CNAME chain in the answer: the address is the target's.
        WalkRow(typed: "alias", family: .inet, flavor: .glibc, sent: ["alias.default.svc.cluster.local A"],
                status: .ok, addresses: ["192.0.2.80"]),
        // Nothing anywhere: every name, then NXDOMAIN.
        WalkRow(typed: "nosuch.example", family: .inet, flavor: .glibc,
                sent: ["nosuch.example.default.svc.cluster.local A", "nosuch.example.svc.cluster.local A",
                       "nosuch.example.cluster.local A", "nosuch.example A"],
                status: .nxdomain),
        // Absolute: only the name itself.
        WalkRow(typed: "web.example.com.", family: .inet, flavor: .glibc, sent: ["web.example.com A"],
                status: .ok, addresses: ["192.0.2.80"]),
    ]

    @Test(arguments: rows)
    func walk(_ row: WalkRow) async throws {
        let data = try FakeData(world, servfail: row.servfail)
        let names = candidates(for: row.typed, conf: pod, flavor: row.flavor)
        let trace = await StubWalk.run(candidates: names, family: row.family, flavor: row.flavor) { exchange(data, $0, $1) }
        #expect(trace.queries.map { "\($0.name.dropLast()) \($0.type)" } == row.sent)
        #expect(trace.queries.map(\.index) == Array(1...max(1, row.sent.count)).prefix(row.sent.count).map { $0 })
        #expect(trace.status == row.status)
        #expect(trace.addresses == row.addresses)
    }

    @Test("No reply ends the walk: glibc reports a failure, it does not try the next name")
    func timeoutStops() async throws {
        let names = candidates(for: "nginx", conf: pod, flavor: .glibc)
        let trace = await StubWalk.run(candidates: names, family: .inet, flavor: .glibc) { _, _ in .failed("timeout", transport: "udp") }
        #expect(trace.queries.count == 1)
        #expect(trace.status == .error)
        #expect(trace.queries[0].rcode == "NOANSWER")
    }

    @Test("Human output: one line per query, then the result")
    func textReport() async throws {
        let data = try FakeData(world)
        let names = candidates(for: "nginx.mynamespace.myfederation", conf: pod, flavor: .glibc)
        let trace = await StubWalk.run(candidates: names, family: .inet, flavor: .glibc) { exchange(data, $0, $1) }
        let report = ResolveReport(name: "nginx.mynamespace.myfederation", flavor: "glibc", family: "inet", ndots: 5,
                                   search: pod.search.map(\.description), trace: trace)
        let lines = report.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("1  nginx.mynamespace.myfederation.default.svc.cluster.local. A"))
        #expect(lines[1].hasSuffix("→ NXDOMAIN"))
        #expect(lines[2].contains("→ NOERROR  A 10.0.0.20"))
        #expect(lines[3].hasPrefix("result: 10.0.0.20"))
        let decoded = try JSONDecoder().decode(ResolveReport.self, from: Data(report.json.utf8))
        #expect(decoded.trace.addresses == ["10.0.0.20"])
        #expect(decoded.trace.queries.count == 2)
    }
}

// MARK: against a fake server on loopback

/// A DNS server on 127.0.0.1 (UDP and TCP, same port) answering from `FakeData`, one thread each.
final class FakeServer: Sendable {
    let port: UInt16
    private let udp: Int32, tcp: Int32
    let udpQueries = Mutex<Int>(0), tcpQueries = Mutex<Int>(0)

    init(_ data: FakeData) throws {
        // The kernel picks a free UDP port; TCP may hold it elsewhere (tests run in parallel): try another.
        for _ in 0..<50 {
            if let (udp, tcp, port) = Self.bindPair() {
                self.udp = udp; self.tcp = tcp; self.port = port
                start(data)
                return
            }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// A UDP and a listening TCP socket on the same free 127.0.0.1 port, or nil when TCP has it.
    private static func bindPair() -> (Int32, Int32, UInt16)? {
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        var len = size
        var one: Int32 = 1
        setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                bind(udp, a, size) == 0 && getsockname(udp, a, &len) == 0 && bind(tcp, a, size) == 0 && listen(tcp, 8) == 0
            }
        }
        guard bound else {
            close(udp); close(tcp)
            return nil
        }
        return (udp, tcp, UInt16(bigEndian: addr.sin_port))
    }

    private func start(_ data: FakeData) {
        let (udpFD, tcpFD) = (udp, tcp)
        Thread.detachNewThread { [self] in
            var buf = [UInt8](repeating: 0, count: 4096)
            var peer = sockaddr_storage(), peerLen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            while true {
                let n = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udpFD, &buf, buf.count, 0, $0, &peerLen) } }
                guard n > 0, let query = try? WireCodec.decode(Array(buf[..<n])) else { if n <= 0 { return }; continue }
                self.udpQueries.withLock { $0 += 1 }
                // Junk first (wrong ID): the client must keep waiting for the real reply.
                var junk = data.reply(to: query); junk.header.id &+= 1
                for m in [junk, data.reply(to: query)] {
                    let out = WireCodec.encode(m)
                    _ = withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udpFD, out, out.count, 0, $0, peerLen) } }
                }
            }
        }
        Thread.detachNewThread { [self] in
            while true {
                let conn = accept(tcpFD, nil, nil)
                guard conn >= 0 else { return }
                var head = [UInt8](repeating: 0, count: 2)
                if recv(conn, &head, 2, Int32(MSG_WAITALL)) == 2 {
                    var body = [UInt8](repeating: 0, count: Int(head[0]) << 8 | Int(head[1]))
                    if recv(conn, &body, body.count, Int32(MSG_WAITALL)) == body.count, let query = try? WireCodec.decode(body) {
                        self.tcpQueries.withLock { $0 += 1 }
                        let out = WireCodec.encode(data.reply(to: query, overUDP: false))
                        let framed = [UInt8(out.count >> 8), UInt8(out.count & 0xff)] + out
                        _ = send(conn, framed, framed.count, 0)
                    }
                }
                close(conn)
            }
        }
    }

    func stop() { shutdown(udp, Int32(SHUT_RDWR)); close(udp); shutdown(tcp, Int32(SHUT_RDWR)); close(tcp) }
}

@Suite("fedns resolve --server: UDP, TCP after TC, reply matching")
struct ResolveServerTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    @Test("The walk against a real socket: junk ignored, TC retried over TCP")
    func overSockets() async throws {
        let server = try FakeServer(try FakeData(world, truncate: ["nginx.mynamespace.myfederation.svc.cluster.local"]))
        defer { server.stop() }
        let client = try #require(DNSClient(server: "127.0.0.1:\(server.port)", timeoutMilliseconds: 2000, group: Self.group))
        let names = candidates(for: "nginx.mynamespace.myfederation", conf: pod, flavor: .glibc)
        let trace = await StubWalk.run(candidates: names, family: .inet, flavor: .glibc) { await client.ask($0, $1) }
        #expect(trace.queries.map(\.rcode) == ["NXDOMAIN", "NOERROR"])
        #expect(trace.queries.map(\.transport) == ["udp", "tcp"])
        #expect(trace.addresses == ["10.0.0.20"])
        #expect(server.udpQueries.withLock { $0 } == 2)
        #expect(server.tcpQueries.withLock { $0 } == 1)
    }

    @Test("Server address forms", arguments: [
        ("127.0.0.1:5353", "127.0.0.1", UInt16(5353)), ("127.0.0.2", "127.0.0.2", 53), ("[::1]:5300", "::1", 5300), ("::1", "::1", 53),
    ])
    func serverAddress(_ text: String, _ host: String, _ port: UInt16) throws {
        let client = try #require(DNSClient(server: text, group: Self.group))
        #expect(client.host == host && client.port == port)
    }

    @Test("Bad server addresses are refused", arguments: ["localhost:53", "127.0.0.1:99999", "[::1]x"])
    func badServerAddress(_ text: String) {
        #expect(DNSClient(server: text, group: Self.group) == nil)
    }
}
