#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DNSWire
import Dispatch
import NameExpansion
import Server

/// Why an exchange with the primary failed: each is logged once per change and counted by its `label`.
public enum PrimaryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No TCP connection, or it broke, or the primary did not answer in time.
    case unreachable(String)
    /// The primary answered with an error rcode; `tsigError` when its TSIG record carried one.
    case rejected(RCode, tsigError: UInt16?)
    /// A reply that does not parse, does not match the request, or whose TSIG does not verify.
    case badReply(String)

    public var label: String {
        switch self {
        case .unreachable: "unreachable"
        case .rejected(let rcode, _):
            switch rcode {
            case .yxRRSet, .nxRRSet, .yxDomain, .nxDomain: "prerequisite_failed"
            case .refused: "refused"
            case .notAuth: "notauth"
            case .notZone: "notzone"
            default: "other"
            }
        case .badReply: "bad_reply"
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let why): "primary unreachable: \(why)"
        case .rejected(let rcode, let tsig?):
            "primary answered \(rcode) (TSIG error \(Self.tsigErrorName(tsig)): check the key's name, algorithm and secret)"
        case .rejected(let rcode, nil):
            rcode == .refused || rcode == .notAuth
                ? "primary answered \(rcode) (is the key allowed to update and transfer this zone?)" : "primary answered \(rcode)"
        case .badReply(let why): "bad reply from the primary: \(why)"
        }
    }

    static func tsigErrorName(_ code: UInt16) -> String {
        switch code { case 16: "BADSIG"; case 17: "BADKEY"; case 18: "BADTIME"; case 22: "BADTRUNC"; default: "\(code)" }
    }
}

/// The zone's primary over TCP (RFC 1035 §4.2.2 framing: a two-byte length before each message), every
/// request and reply TSIG-signed. Exchanges block a dispatch thread, never a task's.
public struct Primary: Sendable {
    public let server: HostPort
    public let zone: DomainName
    public let key: TSIGKey
    public var timeoutSeconds = 5

    public init(server: HostPort, zone: DomainName, key: TSIGKey) {
        self.server = server; self.zone = zone; self.key = key
    }

    /// Every record of the zone, by AXFR.
    public func transfer() async throws(PrimaryError) -> [ResourceRecord] {
        try await offload { () throws(PrimaryError) in try transferNow() }
    }

    /// Sends one UPDATE; returns when the primary said NOERROR.
    public func update(prerequisites: [ResourceRecord], updates: [ResourceRecord]) async throws(PrimaryError) {
        try await offload { () throws(PrimaryError) in try updateNow(prerequisites: prerequisites, updates: updates) }
    }

    func transferNow() throws(PrimaryError) -> [ResourceRecord] {
        let exchange: TSIGExchange
        do { exchange = try TSIGExchange.zoneTransfer(zone: zone, id: UInt16.random(in: 0...UInt16.max), key: key) } catch {
            throw .badReply("cannot sign the transfer request: \(error)")
        }
        let socket = try connect()
        defer { close(socket) }
        try send(exchange.request, on: socket)
        var records: [ResourceRecord] = []
        var soaSeen = 0
        while soaSeen < 2 {
            let reply = try check(try receive(on: socket), exchange)
            if reply.answer.isEmpty { throw .badReply("empty transfer message") }
            for r in reply.answer {
                if r.type == .soa { soaSeen += 1; if soaSeen == 2 { break } }
                records.append(r)
            }
        }
        return records
    }

    func updateNow(prerequisites: [ResourceRecord], updates: [ResourceRecord]) throws(PrimaryError) {
        let exchange: TSIGExchange
        do {
            exchange = try TSIGExchange.update(zone: zone, id: UInt16.random(in: 0...UInt16.max), prerequisites: prerequisites,
                                               updates: updates, key: key)
        } catch {
            throw .badReply("cannot sign the update: \(error)")
        }
        let socket = try connect()
        defer { close(socket) }
        try send(exchange.request, on: socket)
        _ = try check(try receive(on: socket), exchange)
    }

    /// The reply's message once it matches the request, says NOERROR and its TSIG verifies.
    private func check(_ bytes: [UInt8], _ exchange: TSIGExchange) throws(PrimaryError) -> Message {
        let reply: SignedReply
        do { reply = try exchange.verify(reply: bytes) } catch { throw .badReply("\(error)") }
        guard reply.message.header.id == exchange.id, reply.message.header.isResponse else {
            throw .badReply("the reply does not answer the request (ID \(reply.message.header.id))")
        }
        if reply.message.header.rcode != .noError || (reply.tsigError ?? 0) != 0 {
            throw .rejected(reply.message.header.rcode, tsigError: reply.tsigError.flatMap { $0 == 0 ? nil : $0 })
        }
        guard reply.verified else { throw .badReply("the reply's TSIG does not verify with key \(key.name)") }
        return reply.message
    }

    // MARK: socket

    private func connect() throws(PrimaryError) -> Int32 {
        let v6 = server.host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .unreachable("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let port = in_port_t(UInt16(server.port).bigEndian)
        var result: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6); a.sin6_port = port
            guard inet_pton(AF_INET6, server.host, &a.sin6_addr) == 1 else { close(fd); throw .unreachable("bad address \(server.host)") }
            result = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET); a.sin_port = port
            guard inet_pton(AF_INET, server.host, &a.sin_addr) == 1 else { close(fd); throw .unreachable("bad address \(server.host)") }
            result = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard result == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw .unreachable("connect to \(server): \(why)")
        }
        return fd
    }

    private func send(_ message: [UInt8], on fd: Int32) throws(PrimaryError) {
        let framed = [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message
        var offset = 0
        while offset < framed.count {
            let n = framed[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw .unreachable("send to \(server): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    private func receive(on fd: Int32) throws(PrimaryError) -> [UInt8] {
        let header = try readExactly(2, fd)
        return try readExactly(Int(header[0]) << 8 | Int(header[1]), fd)
    }

    private func readExactly(_ count: Int, _ fd: Int32) throws(PrimaryError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { if errno == EINTR { continue }; throw .unreachable("read from \(server): \(String(cString: strerror(errno)))") }
            if n == 0 { throw .unreachable("\(server) closed the connection") }
            got += n
        }
        return bytes
    }
}

/// Runs blocking socket work on a dispatch thread, so the cooperative pool keeps running.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws(PrimaryError) -> T) async throws(PrimaryError) -> T {
    let result: Result<T, PrimaryError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            do throws(PrimaryError) { continuation.resume(returning: .success(try work())) } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
