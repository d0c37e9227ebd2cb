import DNSWire
import Foundation
import NameExpansion
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A scripted upstream as a real UDP+TCP server on a loopback address, for the black-box modes.
/// It answers by the same `UpstreamScript` as the in-process transport, in real time.
final class LoopbackUpstream: Sendable {
    let upstream: ScriptedUpstream
    let host: String
    let port: UInt16
    private let udpSocket: Int32
    private let tcpSocket: Int32
    private let script: UpstreamScript
    private let stopped = Atomic<Bool>(false)

    /// Binds `host:port` (port 0: a free port).
    init(_ upstream: ScriptedUpstream, host: String, port: UInt16, script: UpstreamScript) throws {
        let pair = try Sockets.bindPair(host: host, port: port)
        self.upstream = upstream
        self.host = host
        self.port = pair.port
        self.udpSocket = pair.udp
        self.tcpSocket = pair.tcp
        self.script = script
        let server = self
        Thread.detachNewThread { server.serveUDP() }
        Thread.detachNewThread { server.acceptTCP() }
    }

    var address: String { AddressAndPort(host: host, port: port)?.description ?? "\(host):\(port)" }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        // The loops notice within one poll interval and close their sockets.
    }

    /// fedns probes for a forwarding loop at start-up; answering it at once keeps it out of the scenario.
    static func isLoopProbe(_ query: [UInt8]) -> Bool {
        guard let q = try? WireCodec.decode(query).question else { return false }
        return q.name.lowercasedLabels.last == "fedns-loop-probe"
    }

    static func nxdomain(_ query: [UInt8]) -> [UInt8] {
        guard let q = try? WireCodec.decode(query) else { return [] }
        return WireCodec.encode(Message.response(to: q, rcode: .nxDomain))
    }

    private func serveUDP() {
        var buffer = [UInt8](repeating: 0, count: 65535)
        while !stopped.load(ordering: .relaxed) {
            guard Sockets.readable(udpSocket, seconds: 0.1) else { continue }
            var from = Sockets.Address()
            from.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = udpSocket
            let n = withUnsafeMutableBytes(of: &from.storage) { sa in
                buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, 0, sa.baseAddress!.assumingMemoryBound(to: sockaddr.self), &from.length) }
            }
            guard n > 0 else { continue }
            let query = Array(buffer[0..<n])
            let plan = Self.isLoopProbe(query) ? UpstreamPlan(datagrams: [Self.nxdomain(query)])
                : script.plan(upstream, query: query, transport: .udp)
            let reply = from
            let send: @Sendable () -> Void = {
                for d in plan.datagrams {
                    _ = reply.withPointer { sa, len in d.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) } }
                }
            }
            if plan.delay > 0 {
                DispatchQueue.global().asyncAfter(deadline: .now() + plan.delay, execute: send)
            } else {
                send()
            }
        }
        close(udpSocket)
    }

    private func acceptTCP() {
        while !stopped.load(ordering: .relaxed) {
            guard Sockets.readable(tcpSocket, seconds: 0.1) else { continue }
            let connection = accept(tcpSocket, nil, nil)
            guard connection >= 0 else { continue }
            let server = self
            Thread.detachNewThread { server.serveTCP(connection) }
        }
        close(tcpSocket)
    }

    private func serveTCP(_ fd: Int32) {
        defer { close(fd) }
        while !stopped.load(ordering: .relaxed) {
            guard let head = Sockets.readExactly(fd, 2, until: Date().addingTimeInterval(10)) else { return }
            guard let query = Sockets.readExactly(fd, Int(head[0]) << 8 | Int(head[1]), until: Date().addingTimeInterval(10)) else { return }
            let plan = Self.isLoopProbe(query) ? UpstreamPlan(datagrams: [Self.nxdomain(query)])
                : script.plan(upstream, query: query, transport: .tcp)
            if plan.delay > 0 { Thread.sleep(forTimeInterval: plan.delay) }
            for d in plan.datagrams {
                guard Sockets.writeAll(fd, [UInt8(d.count >> 8), UInt8(d.count & 0xff)] + d) else { return }
            }
            if plan.close { return }
        }
    }
}
