import CFDPassing
import Foundation
import Logging
import NIOCore
import Synchronization

/// A listening socket as the hand-over names it: what it serves and where.
struct ListenerKey: Hashable, Sendable, CustomStringConvertible {
    /// `dns-udp`, `dns-tcp` or `http` (the admin endpoints).
    var kind: String
    var host: String
    var port: Int
    var description: String { "\(kind) \(HostPort(host: host, port: port))" }
}

/// The listening sockets of this process: those inherited from the previous process (taken while
/// binding) and a duplicate of every socket bound or taken here, to hand to the next process.
final class ListenerSockets: Sendable {
    private let inherited = Mutex<[ListenerKey: [Int32]]>([:])
    private let owned = Mutex<[(key: ListenerKey, fd: Int32)]>([])

    func inherit(_ sockets: [ListenerKey: [Int32]]) { inherited.withLock { $0 = sockets } }

    /// The inherited descriptors for `key` (empty when the previous process had none), now owned by the caller.
    func take(_ key: ListenerKey) -> [Int32] {
        guard key.port != 0 else { return [] }
        return inherited.withLock { $0.removeValue(forKey: key) ?? [] }
    }

    /// Keeps a duplicate of `fd` for the next hand-over (the channel owns and closes `fd` itself).
    func record(_ key: ListenerKey, fd: Int32) throws {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw ServerError(message: "dup of the \(key) socket: \(String(cString: strerror(errno)))") }
        owned.withLock { $0.append((key, copy)) }
    }

    var handOverList: [(key: ListenerKey, fd: Int32)] { owned.withLock { $0 } }

    /// Closes inherited sockets this configuration no longer listens on.
    func closeUnused() -> [ListenerKey] {
        let left = inherited.withLock { s in defer { s = [:] }; return s }
        for fds in left.values { for fd in fds { close(fd) } }
        return Array(left.keys)
    }

    func closeOwned() {
        let all = owned.withLock { s in defer { s = [] }; return s }
        for entry in all { close(entry.fd) }
    }
}

/// Binding listening sockets directly, so that their descriptors can be duplicated and handed over;
/// NIO then serves them (`withBoundSocket`). Errors name the address.
enum ListeningSocket {
    static func udp(_ address: HostPort) throws -> Int32 {
        try make(address, type: Int32(SOCK_DGRAM.rawValue), reusePort: true, listenBacklog: nil, what: "UDP")
    }

    static func tcp(_ address: HostPort, backlog: Int32) throws -> Int32 {
        try make(address, type: Int32(SOCK_STREAM.rawValue), reusePort: false, listenBacklog: backlog, what: "TCP")
    }

    static func localPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        return withUnsafePointer(to: &storage) { p -> Int? in
            switch Int32(p.pointee.ss_family) {
            case AF_INET: return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            case AF_INET6: return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            default: return nil
            }
        }
    }

    private static func make(_ address: HostPort, type: Int32, reusePort: Bool, listenBacklog: Int32?, what: String) throws -> Int32 {
        let socketAddress: SocketAddress
        do { socketAddress = try SocketAddress(ipAddress: address.host, port: address.port) } catch {
            throw ServerError(message: "\(what) \(address): not an IP address")
        }
        let family = socketAddress.protocol.rawValue
        let fd = socket(family, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw failure("socket", what, address) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        if family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let bound = socketAddress.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard bound == 0 else {
            let error = failure("bind", what, address)
            close(fd)
            throw error
        }
        if let listenBacklog, listen(fd, listenBacklog) != 0 {
            let error = failure("listen", what, address)
            close(fd)
            throw error
        }
        return fd
    }

    private static func failure(_ call: String, _ what: String, _ address: HostPort) -> ServerError {
        let code = errno
        var message = "\(call) \(what) \(address): \(String(cString: strerror(code)))"
        if code == EADDRINUSE {
            message += " (another process holds \(address); find it with `ss -lntup 'sport = :\(address.port)'`)"
        } else if code == EADDRNOTAVAIL {
            message += " (no interface has \(address.host): node set-up (--node-setup) puts it on a dummy interface)"
        } else if code == EACCES {
            message += " (ports below 1024 need CAP_NET_BIND_SERVICE)"
        }
        return ServerError(message: message)
    }
}

/// The hand-over of listening sockets from a running fedns to its successor over a Unix socket
/// (docs/operating.md, "Upgrades"). SOCK_SEQPACKET keeps each message whole.
///
/// ```text
/// new → old   "fedns-handoff 1"
/// old → new   "KIND HOST PORT\n" per socket, the sockets attached (SCM_RIGHTS), in that order
/// new → old   "taken"            once the new process is ready to read from them (its cluster state synced)
/// old → new   "stopped"          the old one no longer reads or accepts; the new one starts, the old one drains
/// ```
///
/// Exactly one process reads at any time (two reading one socket would wake each other for
/// datagrams the other took); in the gap between "stopped" and the first read, queries wait in the
/// sockets' queues.
///
/// ```text
/// ```
enum Handoff {
    static let hello = "fedns-handoff 1"
    static let taken = "taken"
    static let stopped = "stopped"
    static let maxSockets = 250

    /// Connects to the previous process and receives its sockets; nil when none answers at `path`.
    static func receive(path: String, logger: Logger) throws -> (connection: Int32, sockets: [ListenerKey: [Int32]])? {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError(message: "hand-over: socket(AF_UNIX): \(String(cString: strerror(errno)))") }
        guard (try? withUnixAddress(path, { connect(fd, $0, $1) })) == 0 else {
            let code = errno
            close(fd)
            logger.info("hand-over: no previous process answers; binding the listen addresses",
                        metadata: ["handoff.socket": "\(path)", "handoff.reason": "\(String(cString: strerror(code)))"])
            return nil
        }
        do {
            try send(fd, hello)
            var bytes = [UInt8](repeating: 0, count: 65536)
            var fds = [Int32](repeating: -1, count: maxSockets)
            var count: Int32 = 0
            let got = fedns_recv_fds(fd, &bytes, bytes.count, &fds, Int32(maxSockets), &count)
            guard got > 0 else {
                throw ServerError(message: "hand-over: the previous process sent no sockets (\(got < 0 ? String(cString: strerror(errno)) : "closed"))")
            }
            let lines = String(decoding: bytes.prefix(got), as: UTF8.self).split(separator: "\n")
            guard lines.count == Int(count) else {
                for i in 0..<Int(count) { close(fds[i]) }
                throw ServerError(message: "hand-over: \(lines.count) socket names but \(count) sockets")
            }
            var sockets: [ListenerKey: [Int32]] = [:]
            for (line, socketFD) in zip(lines, fds) {
                let parts = line.split(separator: " ")
                guard parts.count == 3, let port = Int(parts[2]) else { close(socketFD); continue }
                sockets[ListenerKey(kind: String(parts[0]), host: String(parts[1]), port: port), default: []].append(socketFD)
            }
            return (fd, sockets)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Says "taken" and waits until the old process has stopped reading (or is gone).
    static func confirm(_ connection: Int32) throws {
        defer { close(connection) }
        try send(connection, taken)
        var bytes = [UInt8](repeating: 0, count: 64)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let got = recv(connection, &bytes, bytes.count, 0)
        if got < 0 {
            throw ServerError(message: "hand-over: no answer to \"taken\": \(String(cString: strerror(errno)))")
        }
        // 0 bytes: the old process ended; nobody else reads either.
    }

    static func send(_ fd: Int32, _ text: String, fds: [Int32] = []) throws {
        let bytes = Array(text.utf8)
        guard fedns_send_fds(fd, bytes, bytes.count, fds, Int32(fds.count)) == 0 else {
            throw ServerError(message: "hand-over: sendmsg: \(String(cString: strerror(errno)))")
        }
    }

    static func withUnixAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw ServerError(message: "hand-over socket path longer than \(capacity - 1) bytes: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// Listens at the hand-over path for the next process; hands it every listening socket and, once it
/// says it has taken them, calls `onTaken`. A successor that fails before that changes nothing.
final class HandoffListener: Sendable {
    let path: String
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)

    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError(message: "hand-over: socket(AF_UNIX): \(String(cString: strerror(errno)))") }
        // The path may name the previous process's socket (it no longer listens there) or a stale file.
        unlink(path)
        let bound = try Handoff.withUnixAddress(path) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 4) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ServerError(message: "hand-over: bind/listen \(path): \(message)")
        }
        self.path = path
        self.listener = fd
    }

    /// `onTaken` gets the connection: it stops reading, then sends "stopped" and closes it.
    func start(sockets: ListenerSockets, logger: Logger, onTaken: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 200) > 0 else { continue }
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { continue }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                if serve(connection, sockets: sockets, logger: logger) {
                    stopped.store(true, ordering: .relaxed)
                    onTaken(connection)
                } else {
                    close(connection)
                }
            }
            close(listener)
        }
        thread.name = "fedns-handoff"
        thread.start()
    }

    /// One successor: true when it took the sockets (the connection is then left open for "stopped").
    private func serve(_ connection: Int32, sockets: ListenerSockets, logger: Logger) -> Bool {
        var bytes = [UInt8](repeating: 0, count: 256)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let got = recv(connection, &bytes, bytes.count, 0)
        guard got > 0, String(decoding: bytes.prefix(got), as: UTF8.self) == Handoff.hello else {
            logger.warning("hand-over: a connection without the hand-over greeting; ignored", metadata: ["handoff.socket": "\(path)"])
            return false
        }
        let list = sockets.handOverList.prefix(Handoff.maxSockets)
        let manifest = list.map { "\($0.key.kind) \($0.key.host) \($0.key.port)" }.joined(separator: "\n")
        do { try Handoff.send(connection, manifest, fds: list.map(\.fd)) } catch {
            logger.warning("hand-over: cannot send the sockets; still serving", metadata: ["error": "\(error)"])
            return false
        }
        logger.info("hand-over: sockets sent; serving until the new process takes over", metadata: ["handoff.sockets": "\(list.count)"])
        // The successor may first wait for its cluster sync: no deadline, only its "taken" or its end.
        timeout = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let answer = recv(connection, &bytes, bytes.count, 0)
        guard answer > 0, String(decoding: bytes.prefix(answer), as: UTF8.self) == Handoff.taken else {
            logger.warning("hand-over: the new process ended before taking over; still serving", metadata: ["handoff.socket": "\(path)"])
            return false
        }
        return true
    }

    /// Stops listening (within 200 ms); the path is left alone (a successor binds it anew).
    func stop() { stopped.store(true, ordering: .relaxed) }
}
