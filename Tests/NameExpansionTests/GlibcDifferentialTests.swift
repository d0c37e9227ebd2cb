#if os(Linux)
import Foundation
import Glibc
import Testing
import NameExpansion

/// `candidates(for:conf:flavor: .glibc)` against this machine's real glibc: `getent hosts NAME` runs
/// in a private mount namespace whose /etc/resolv.conf points at a loopback listener of this test,
/// which logs every question and answers NXDOMAIN so the stub walks its whole list.
/// Needs root (for port 53 and the bind mount), as TESTING.md describes; skipped otherwise.
private let canRunGetent = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/getent")

@Suite(.serialized, .enabled(if: canRunGetent, "needs root, unshare and getent (skipped, not passed)"))
struct GlibcDifferentialTests {
    /// An address of loopback's 127/8 no other test or helper uses.
    static let listener = "127.53.0.1"
    static let long = ["a", "b", "c", "d"].map { String(repeating: $0, count: 60) }.joined(separator: ".")

    @Test(arguments: [
        ("search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5", "nginx.mynamespace.myfederation"),
        ("search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5", "a.b.c.d.e.f"),
        ("search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5", "kubernetes.default.svc.cluster.local."),
        ("search example.com corp.example", "www.google.com"),
        ("search example.com corp.example", "host"),
        ("search example.com corp.example\noptions ndots:0", "host"),
        ("search example.com corp.example\noptions no-tld-query", "host"),
        ("search example.com . corp.example", "host"),
        ("domain example.com", "Host.Sub"),
        ("search example.com x\noptions ndots:5", long),
    ])
    func matchesGetentHosts(confLines: String, name: String) throws {
        let text = "nameserver \(Self.listener)\n\(confLines)\noptions attempts:1 timeout:1\n"
        let asked = try Self.namesAsked(resolvConf: text, lookup: name)
        let expected = candidates(for: name, conf: ResolvConf(parsing: text), flavor: .glibc).map(\.labels)
        #expect(!asked.isEmpty, "the listener saw no question")
        #expect(asked == expected)
    }

    /// The A-record questions glibc sends for `getent hosts name` (it walks the list for AAAA first).
    static func namesAsked(resolvConf: String, lookup name: String) throws -> [[String]] {
        let confURL = FileManager.default.temporaryDirectory.appendingPathComponent("names-resolv-\(getpid()).conf")
        try resolvConf.write(to: confURL, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: confURL) }

        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(53).bigEndian
        inet_pton(AF_INET, listener, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0, "bind \(listener):53 failed: errno \(errno)")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "/bin/sh", "-c", #"mount --bind "$0" /etc/resolv.conf && exec getent hosts "$1""#, confURL.path, name]
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        var asked: [[String]] = []
        var buffer = [UInt8](repeating: 0, count: 1500)
        let deadline = Date().addingTimeInterval(20)
        var idleAfterExit = 0
        while idleAfterExit < 2, Date() < deadline {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            guard count > 0 else {
                if !process.isRunning { idleAfterExit += 1 }
                continue
            }
            guard let (labels, type, end) = parseQuestion(Array(buffer[0..<count])) else { continue }
            if type == 1 { asked.append(labels) }
            var reply = Array(buffer[0..<end])
            reply[2] = 0x80 | (reply[2] & 0x01)   // QR, keep RD
            reply[3] = 0x80 | 3                   // RA, NXDOMAIN
            for i in 6..<12 { reply[i] = 0 }      // no answer, authority or additional records
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, peerLength) }
            }
        }
        // A bounded wait, not `waitUntilExit()`: one run on a loaded machine never returned from it.
        let exitDeadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < exitDeadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        return asked
    }

    /// The question's labels, type, and where the question ends (queries carry no compression).
    static func parseQuestion(_ packet: [UInt8]) -> ([String], UInt16, Int)? {
        var labels: [String] = []
        var i = 12
        while i < packet.count {
            let length = Int(packet[i])
            if length == 0 {
                guard i + 5 <= packet.count else { return nil }
                return (labels, UInt16(packet[i + 1]) << 8 | UInt16(packet[i + 2]), i + 5)
            }
            guard length < 64, i + 1 + length <= packet.count else { return nil }
            labels.append(String(decoding: packet[(i + 1)..<(i + 1 + length)], as: UTF8.self))
            i += 1 + length
        }
        return nil
    }
}
#endif
