import Foundation
import Synchronization
import Testing
@testable import Conformance
#if canImport(Glibc)
import Glibc
#endif

/// A server that answers over UDP at once and listens on TCP only `tcpAfter` seconds later, as fedns
/// does while it binds its UDP sockets and then its TCP listener (slowly on a busy machine). Every
/// answer is the query with QR set.
final class StaggeredServer: Sendable {
    let port: UInt16
    private let udp: Int32
    private let tcp = Atomic<Int32>(-1)

    init(tcpAfter: Double) throws {
        let pair = try Sockets.bindPair(host: "127.0.0.1", port: 0)
        close(pair.tcp)
        port = pair.port
        udp = pair.udp
        let (fd, port) = (pair.udp, pair.port)
        let server = self
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                var from = Sockets.Address()
                from.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutableBytes(of: &from.storage) { sa in
                    buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, 0, sa.baseAddress!.assumingMemoryBound(to: sockaddr.self), &from.length) }
                }
                guard n >= 12 else { return }
                let reply = Self.answer(Array(buffer[0..<n]))
                _ = from.withPointer { sa, len in reply.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) } }
            }
        }
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: tcpAfter)
            guard let address = Sockets.Address(host: "127.0.0.1", port: port), let listener = try? Sockets.open(AF_INET, Sockets.tcp),
                  address.withPointer({ bind(listener, $0, $1) }) == 0, listen(listener, 8) == 0 else { return }
            server.tcp.store(listener, ordering: .relaxed)
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                if let head = Sockets.readExactly(connection, 2, until: Date().addingTimeInterval(10)),
                   let query = Sockets.readExactly(connection, Int(head[0]) << 8 | Int(head[1]), until: Date().addingTimeInterval(10)) {
                    _ = Sockets.writeAll(connection, head + Self.answer(query))
                }
                close(connection)
            }
        }
    }

    static func answer(_ query: [UInt8]) -> [UInt8] {
        var reply = query
        reply[2] |= 0x80
        return reply
    }

    func stop() {
        shutdown(udp, Int32(SHUT_RDWR))
        let listener = tcp.load(ordering: .relaxed)
        if listener >= 0 { shutdown(listener, Int32(SHUT_RDWR)) }
    }
}

@Suite struct RemoteTargetTests {
    /// The first query of a scenario may be over TCP (tcp-client, gate/axfr): the target is serving
    /// only once both transports answer, not as soon as UDP does.
    @Test func aTargetIsServingOnlyWhenTCPAnswersToo() async throws {
        let server = try StaggeredServer(tcpAfter: 1)
        defer { server.stop() }
        let target = RemoteTarget(script: UpstreamScript([]), host: "127.0.0.1", port: server.port, stateFile: nil, reloadWait: 0)
        try await target.waitUntilServing(clusterDomain: "cluster.local")
        // ID 42, RD, one question: www.example.org. A IN.
        let query: [UInt8] = [0, 42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] + [3] + Array("www".utf8) + [7] + Array("example".utf8)
            + [3] + Array("org".utf8) + [0, 0, 1, 0, 1]
        let answer = await target.send(query, over: .tcp, step: 1, patience: 10)
        #expect(answer.map { Array($0.prefix(2)) } == [0, 42])
    }
}
