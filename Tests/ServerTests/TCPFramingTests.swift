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

/// Runs blocking socket calls on a thread of their own, not on the task pool the other tests share.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

/// A blocking TCP client for poking at framing (raw bytes, chosen segment boundaries); its waits go
/// through `offPool`.
final class RawTCP: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(port).bigEndian)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads one framed message; nil on close or after `seconds`.
    func receive(seconds: Double = 30) async -> [UInt8]? {
        await offPool {
            guard let head = self.read(2, seconds: seconds) else { return nil }
            return self.read(Int(head[0]) << 8 | Int(head[1]), seconds: seconds)
        }
    }

    /// True when the server closed the connection (EOF) within `seconds`.
    func closedByServer(seconds: Double) async -> Bool {
        await offPool {
            var p = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return false }
            var byte: UInt8 = 0
            return recv(self.fd, &byte, 1, Int32(MSG_PEEK)) == 0
        }
    }

    private func read(_ count: Int, seconds: Double) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        let deadline = Date().addingTimeInterval(seconds)
        while got < count {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = deadline.timeIntervalSinceNow
            guard left > 0, poll(&p, 1, Int32(left * 1000)) > 0 else { return nil }
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return out
    }
}

/// DNS over TCP (RFC 1035 §4.2.2, RFC 7766) against the real TCP listener on a loopback port.
@Suite(.serialized) struct TCPFramingTests {
    /// Its own event loop: tests that time their sockets share the singleton group.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static let cluster = """
        apiVersion: v1
        kind: Service
        metadata: {name: nginx, namespace: default}
        spec: {type: ClusterIP, clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10]}
        """

    /// A listener over a resolver stack with one Service; `body` gets its port and the engine's metrics.
    static func withListener(_ body: (Int) async throws -> Void) async throws {
        var config = FednsConfig()
        config.forward.upstreams = [try Upstream(host: "192.0.2.254")]
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        var logger = Logger(label: "test.tcp")
        logger.logLevel = .critical
        let group = Self.group
        let stack = try ResolverStack.build(config: config, group: group, logger: logger)
        _ = stack.snapshots.install(try ObjectLoader.load(yaml: cluster))
        let engine = stack.engine
        let admissions = Admissions(access: AccessList(networks: CIDR.defaultAllowed), identityNames: false, metrics: engine.metrics)
        var settings = TCPSettings()
        settings.maxConnections = 16
        let channel = try await TCPListener.bind(address: HostPort(host: "127.0.0.1", port: 0), group: group, settings: settings,
                                                 metrics: engine.metrics) {
            TCPQueryHandler(engine: engine, admissions: admissions, connections: $0)
        }
        do { try await body(try #require(channel.localAddress?.port)) } catch {
            try? await channel.close()
            throw error
        }
        try await channel.close()
    }

    static func query(id: UInt16, _ qname: String = "nginx.default.svc.cluster.local.") throws -> [UInt8] {
        WireCodec.encode(.query(id: id, name: try DomainName(qname), type: .a, edns: nil))
    }

    static func framed(_ message: [UInt8]) -> [UInt8] { [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message }

    /// The answer must be nginx's ClusterIP for query `id`.
    static func expectNginx(_ bytes: [UInt8]?, id: UInt16, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reply = try WireCodec.decode(try #require(bytes, "no answer", sourceLocation: sourceLocation))
        #expect(reply.header.id == id, sourceLocation: sourceLocation)
        #expect(reply.answer.map(\.rdata) == [[10, 96, 0, 10]], sourceLocation: sourceLocation)
    }

    @Test("a length prefix split across segments, and a message split too")
    func splitLengthPrefix() async throws {
        try await Self.withListener { port in
            let client = try RawTCP(port: port)
            let framed = Self.framed(try Self.query(id: 1))
            client.send([framed[0]])
            try await Task.sleep(for: .milliseconds(30))
            client.send(Array(framed[1..<9]))
            try await Task.sleep(for: .milliseconds(30))
            client.send(Array(framed[9...]))
            try Self.expectNginx(await client.receive(), id: 1)
        }
    }

    @Test("two queries in one segment get two answers")
    func twoInOneSegment() async throws {
        try await Self.withListener { port in
            let client = try RawTCP(port: port)
            client.send(Self.framed(try Self.query(id: 7)) + Self.framed(try Self.query(id: 8)))
            let answers = [await client.receive(), await client.receive()]
            let ids = try answers.map { try WireCodec.decode(try #require($0)).header.id }
            #expect(Set(ids) == [7, 8], "answers may come in any order (RFC 7766 §6.2.1.1)")
            for (answer, id) in zip(answers, ids) { try Self.expectNginx(answer, id: id) }
        }
    }

    @Test("a message of length 0 is dropped (too short for a header); the connection goes on")
    func zeroLength() async throws {
        try await Self.withListener { port in
            let client = try RawTCP(port: port)
            client.send([0, 0] + Self.framed(try Self.query(id: 9)))
            try Self.expectNginx(await client.receive(), id: 9)
        }
    }

    @Test("a connection closed in the middle of a message: nothing is answered, the listener serves the next client")
    func closedMidMessage() async throws {
        try await Self.withListener { port in
            for cut in [1, 2, 7] {
                let client = try RawTCP(port: port)
                client.send(Array(Self.framed(try Self.query(id: 2))[0..<cut]))
                shutdown(client.fd, Int32(SHUT_WR))
                #expect(await client.closedByServer(seconds: 30), "the server closes its side after the client's EOF")
                #expect(await client.receive(seconds: 0.2) == nil, "and answers nothing")
            }
            let next = try RawTCP(port: port)
            next.send(Self.framed(try Self.query(id: 3)))
            try Self.expectNginx(await next.receive(), id: 3)
        }
    }
}
