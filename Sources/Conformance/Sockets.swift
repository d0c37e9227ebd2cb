import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain blocking sockets with poll() timeouts for the black-box runner: a DNS client and the
/// scripted upstream servers. Loopback only; small and synchronous on purpose.
enum Sockets {
    struct Address: @unchecked Sendable {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 { Int32(storage.ss_family) }

        init?(host: String, port: UInt16) {
            var hints = addrinfo()
            hints.ai_flags = AI_NUMERICHOST
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return nil }
            defer { freeaddrinfo(result) }
            length = info.pointee.ai_addrlen
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(length)))
            }
        }
        init() {}

        func withPointer<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
            withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
        }

        var port: UInt16 {
            // sin_port and sin6_port both sit right after the 2-byte family.
            withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    }

    /// - Parameter reuseAddress: SO_REUSEADDR, for servers only: on Linux two UDP sockets that both set it
    ///   may be given the same port, and then one receives the other's replies.
    static func open(_ family: Int32, _ type: Int32, reuseAddress: Bool = false) throws -> Int32 {
        let fd = socket(family, type, 0)
        guard fd >= 0 else { throw Failure("socket") }
        var one: Int32 = 1
        if reuseAddress { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        return fd
    }

    static let udp = Int32(SOCK_DGRAM.rawValue), tcp = Int32(SOCK_STREAM.rawValue)

    /// Waits until `fd` is readable; false on timeout.
    static func readable(_ fd: Int32, seconds: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(seconds * 1000)) > 0
    }

    // MARK: client

    /// One UDP exchange: the first datagram back from the server, or nil after `wait` seconds.
    static func udpExchange(_ packet: [UInt8], host: String, port: UInt16, wait: Double) throws -> [UInt8]? {
        try udpExchanges([packet], host: host, port: port, wait: wait)[0]
    }

    /// UDP exchanges one after the other from one client socket (so a server with several
    /// SO_REUSEPORT sockets gets them all on the same one): for each, the first datagram back, or nil.
    static func udpExchanges(_ packets: [[UInt8]], host: String, port: UInt16, wait: Double) throws -> [[UInt8]?] {
        guard let to = Address(host: host, port: port) else { throw Failure("address \(host)") }
        let fd = try open(to.family, udp)
        defer { close(fd) }
        var replies: [[UInt8]?] = []
        var buffer = [UInt8](repeating: 0, count: 65535)
        for packet in packets {
            let sent = to.withPointer { sa, len in packet.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) } }
            guard sent == packet.count else { throw Failure("sendto") }
            let deadline = Date().addingTimeInterval(wait)
            let left = deadline.timeIntervalSinceNow
            guard left > 0, readable(fd, seconds: left) else { replies.append(nil); continue }
            var from = Address()
            from.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutableBytes(of: &from.storage) { sa in
                buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, 0, sa.baseAddress!.assumingMemoryBound(to: sockaddr.self), &from.length) }
            }
            // ICMP port unreachable: nobody listens, so no answer will come.
            replies.append(n < 0 ? nil : Array(buffer[0..<n]))
        }
        return replies
    }

    /// One TCP exchange with 2-byte framing; nil when the server closes or `wait` runs out.
    static func tcpExchange(_ packet: [UInt8], host: String, port: UInt16, wait: Double) throws -> [UInt8]? {
        guard let to = Address(host: host, port: port) else { throw Failure("address \(host)") }
        let fd = try open(to.family, tcp)
        defer { close(fd) }
        guard to.withPointer({ connect(fd, $0, $1) }) == 0 else { return nil }
        let framed = [UInt8(packet.count >> 8), UInt8(packet.count & 0xff)] + packet
        guard writeAll(fd, framed) else { return nil }
        let deadline = Date().addingTimeInterval(wait)
        guard let head = readExactly(fd, 2, until: deadline) else { return nil }
        return readExactly(fd, Int(head[0]) << 8 | Int(head[1]), until: deadline)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    static func readExactly(_ fd: Int32, _ count: Int, until deadline: Date) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, readable(fd, seconds: left) else { return nil }
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return out
    }

    // MARK: server

    /// Binds UDP and TCP on the same address and port (port 0: a free one); returns both sockets and the port.
    static func bindPair(host: String, port: UInt16, reuseAddress: Bool = true) throws -> (udp: Int32, tcp: Int32, port: UInt16) {
        for _ in 0..<50 {
            guard let address = Address(host: host, port: port) else { throw Failure("address \(host)") }
            let u = try open(address.family, udp, reuseAddress: reuseAddress)
            guard address.withPointer({ bind(u, $0, $1) }) == 0 else { close(u); throw Failure("bind udp \(host):\(port)") }
            var bound = Address()
            bound.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutableBytes(of: &bound.storage) { getsockname(u, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &bound.length) }
            let actual = bound.port
            guard let tcpAddress = Address(host: host, port: actual) else { close(u); throw Failure("address \(host)") }
            let t = try open(tcpAddress.family, tcp, reuseAddress: reuseAddress)
            if tcpAddress.withPointer({ bind(t, $0, $1) }) == 0, listen(t, 64) == 0 { return (u, t, actual) }
            close(u); close(t)
            if port != 0 { throw Failure("bind tcp \(host):\(port)") }
        }
        throw Failure("no free UDP+TCP port on \(host)")
    }

    /// A free UDP+TCP port on `host` (closed again: the caller's server binds it).
    static func freePort(host: String) throws -> UInt16 {
        // Without SO_REUSEADDR: a port another socket holds is never chosen.
        let pair = try bindPair(host: host, port: 0, reuseAddress: false)
        close(pair.udp); close(pair.tcp)
        return pair.port
    }
}
