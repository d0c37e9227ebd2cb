import Foundation
import Logging
import Synchronization
import Testing
@testable import Server

/// The hand-over protocol between two `ListenerSockets` in one process: what the successor receives
/// is the same kernel socket (a datagram sent before the hand-over is read from the inherited copy),
/// and a successor that leaves before "taken" changes nothing.
@Suite struct HandoffTests {
    let logger = Logger(label: "test")

    func socketPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("fedns-handoff-\(UUID().uuidString.prefix(8)).sock").path
    }

    @Test(.timeLimit(.minutes(1)))
    func theSuccessorReceivesTheSameSocketsWithWhatIsQueuedInThem() async throws {
        let tcp = try ListeningSocket.tcp(HostPort(host: "127.0.0.1", port: 0), backlog: 8)
        defer { close(tcp) }
        let tcpPort = try #require(ListeningSocket.localPort(tcp))
        let old = try Predecessor(path: socketPath(), logger: logger) { sockets in
            try sockets.record(ListenerKey(kind: "dns-tcp", host: "127.0.0.1", port: tcpPort), fd: tcp)
        }
        defer { old.stop() }
        let (path, port) = (old.path, old.port)

        // A datagram queued in the old socket before the hand-over.
        let client = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(client) }
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = UInt16(port).bigEndian
        to.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let payload: [UInt8] = Array("queued before the hand-over".utf8)
        _ = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(client, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }

        let received = try #require(try Handoff.receive(path: path, logger: logger))
        let udp = try #require(received.sockets[ListenerKey(kind: "dns-udp", host: "127.0.0.1", port: port)]?.first)
        #expect(received.sockets[ListenerKey(kind: "dns-tcp", host: "127.0.0.1", port: tcpPort)]?.count == 1)
        #expect(ListeningSocket.localPort(udp) == port)
        var buffer = [UInt8](repeating: 0, count: 128)
        let got = recv(udp, &buffer, buffer.count, 0)
        #expect(got == payload.count && Array(buffer.prefix(max(got, 0))) == payload)
        #expect(old.taken.load(ordering: .relaxed) == 0, "not taken before the successor says so")

        try Handoff.confirm(received.connection)
        for _ in 0..<500 where old.taken.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(old.taken.load(ordering: .relaxed) == 1)
        for fds in received.sockets.values { for fd in fds { close(fd) } }
    }

    @Test(.timeLimit(.minutes(1)))
    func aSuccessorThatLeavesBeforeTakingOverChangesNothing() async throws {
        let old = try Predecessor(path: socketPath(), logger: logger)
        defer { old.stop() }
        let path = old.path

        let failed = try #require(try Handoff.receive(path: path, logger: logger))
        for fds in failed.sockets.values { for fd in fds { close(fd) } }
        close(failed.connection)  // gone before "taken"

        // The old process still hands over to the next one.
        let next = try #require(try Handoff.receive(path: path, logger: logger))
        #expect(next.sockets.values.flatMap { $0 }.count == 1)
        let before = old.taken.load(ordering: .relaxed)
        #expect(before == 0)
        try Handoff.confirm(next.connection)
        for _ in 0..<500 where old.taken.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let after = old.taken.load(ordering: .relaxed)
        #expect(after == 1)
        for fds in next.sockets.values { for fd in fds { close(fd) } }
    }

    @Test func nobodyAtThePathMeansBindingAnew() throws {
        #expect(try Handoff.receive(path: socketPath(), logger: logger) == nil)
    }

    @Test func anAddressInUseIsNamed() throws {
        let held = try ListeningSocket.tcp(HostPort(host: "127.0.0.1", port: 0), backlog: 1)
        defer { close(held) }
        let port = try #require(ListeningSocket.localPort(held))
        #expect {
            _ = try ListeningSocket.tcp(HostPort(host: "127.0.0.1", port: port), backlog: 1)
        } throws: { "\($0)".contains("bind TCP 127.0.0.1:\(port)") && "\($0)".contains("another process holds 127.0.0.1:\(port)") }
    }
}

/// The process handing over: a UDP socket on a free loopback port (and whatever `record` adds) in its
/// `ListenerSockets`, and a hand-over listener at `path` that counts the successors that took over.
final class Predecessor: Sendable {
    let path: String
    let port: Int
    let taken = Atomic<Int>(0)
    private let udp: Int32
    private let listener: HandoffListener

    init(path: String, logger: Logger, record: (ListenerSockets) throws -> Void = { _ in }) throws {
        let sockets = ListenerSockets()
        let udp = try ListeningSocket.udp(HostPort(host: "127.0.0.1", port: 0))
        self.path = path
        self.udp = udp
        do {
            port = try #require(ListeningSocket.localPort(udp))
            try sockets.record(ListenerKey(kind: "dns-udp", host: "127.0.0.1", port: port), fd: udp)
            try record(sockets)
            listener = try HandoffListener(path: path)
        } catch {
            close(udp)
            throw error
        }
        listener.start(sockets: sockets, logger: logger) { [self] connection in
            taken.add(1, ordering: .relaxed)
            try? Handoff.send(connection, Handoff.stopped)
            close(connection)
        }
    }

    func stop() {
        listener.stop()
        close(udp)
        unlink(path)
    }
}
