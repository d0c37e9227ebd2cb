#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DNSWire
import NameExpansion

/// Asks one DNS server over UDP, then over TCP when the reply is truncated (RFC 7766), the way a
/// stub resolver does. A reply counts only when its ID and question match the query (RFC 5452).
struct DNSClient: Sendable {
    let host: String
    let port: UInt16
    /// Per-query wait, in milliseconds.
    let timeoutMilliseconds: Int

    /// `HOST:PORT`, `HOST` (port 53), `[V6]:PORT` or a bare IPv6 address.
    init?(server: String, timeoutMilliseconds: Int = 2000) {
        var host = server, port: UInt16 = 53
        if server.hasPrefix("["), let close = server.firstIndex(of: "]") {
            host = String(server[server.index(after: server.startIndex)..<close])
            let rest = server[server.index(after: close)...]
            if rest.hasPrefix(":") { guard let p = UInt16(rest.dropFirst()) else { return nil }; port = p } else if !rest.isEmpty { return nil }
        } else if server.filter({ $0 == ":" }).count == 1, let colon = server.firstIndex(of: ":") {
            host = String(server[..<colon])
            guard let p = UInt16(server[server.index(after: colon)...]) else { return nil }
            port = p
        }
        guard IPAddress.canonical(host) != nil else { return nil }
        self.host = host; self.port = port; self.timeoutMilliseconds = timeoutMilliseconds
    }

    func ask(_ name: DomainName, _ type: RRType) -> Exchange {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = Message.query(id: id, name: name, type: type, edns: EDNS(udpPayloadSize: 1232))
        let packet = WireCodec.encode(query)
        switch exchange(packet, tcp: false, expecting: query) {
        case .failure(let error): return .failed(error.message, transport: "udp")
        case .success(let reply) where !reply.header.truncated: return Exchange(reply: reply, error: nil, transport: "udp")
        case .success:
            switch exchange(packet, tcp: true, expecting: query) {
            case .failure(let error): return .failed("truncated over UDP; TCP: \(error.message)", transport: "tcp")
            case .success(let reply): return Exchange(reply: reply, error: nil, transport: "tcp")
            }
        }
    }

    // MARK: sockets

    private func exchange(_ packet: [UInt8], tcp: Bool, expecting query: Message) -> Result<Message, WireError> {
        guard let address = SocketAddress(host: host, port: port) else { return .failure(WireError("bad server address \(host)")) }
        let fd = socket(address.family, Int32(tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return .failure(WireError("socket: \(errnoText())")) }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // A connected UDP socket only accepts datagrams from the server's address and port.
        guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return .failure(WireError("connect: \(errnoText())")) }
        if tcp {
            let framed = [UInt8(packet.count >> 8), UInt8(packet.count & 0xff)] + packet
            guard sendAll(fd, framed) else { return .failure(WireError("send: \(errnoText())")) }
            guard let lengthBytes = receiveExactly(fd, 2) else { return .failure(WireError("no reply over TCP (\(errnoText()))")) }
            let length = Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])
            guard let body = receiveExactly(fd, length) else { return .failure(WireError("short reply over TCP")) }
            return matching(body, query)
        }
        guard send(fd, packet, packet.count, 0) == packet.count else { return .failure(WireError("send: \(errnoText())")) }
        var buffer = [UInt8](repeating: 0, count: 65535)
        // Junk (wrong ID or question) does not end the wait; the socket timeout does.
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return .failure(WireError(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? "timeout" : "recv: \(errnoText())")) }
            if case .success(let reply) = matching(Array(buffer[..<n]), query) { return .success(reply) }
        }
    }

    private func matching(_ bytes: [UInt8], _ query: Message) -> Result<Message, WireError> {
        do {
            let reply = try WireCodec.decode(bytes)
            guard reply.header.id == query.header.id, reply.header.isResponse,
                  reply.questions.count == 1, reply.questions[0].name == query.questions[0].name,
                  reply.questions[0].type == query.questions[0].type else { return .failure(WireError("reply does not match the query")) }
            return .success(reply)
        } catch {
            return .failure(error)
        }
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private func receiveExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count), offset = 0
        while offset < count {
            let n = out[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            offset += n
        }
        return out
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// A `sockaddr_in` or `sockaddr_in6` for an address literal.
private enum SocketAddress {
    case v4(sockaddr_in), v6(sockaddr_in6)

    init?(host: String, port: UInt16) {
        if let bytes = IPAddress.v4Bytes(host) {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: bytes) }
            self = .v4(a)
        } else if let bytes = IPAddress.v6Bytes(host) {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &a.sin6_addr) { $0.copyBytes(from: bytes) }
            self = .v6(a)
        } else {
            return nil
        }
    }

    var family: Int32 {
        switch self { case .v4: AF_INET; case .v6: AF_INET6 }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch self {
        case .v4(var a): withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        case .v6(var a): withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
    }
}
