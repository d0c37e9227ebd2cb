#if canImport(Glibc)
import Glibc
#endif
import Clocks
import DNSWire
import NameExpansion
import Resolver
import Synchronization
import Testing

/// Builders and checkers shared by the forward, cache and local-zones tests.
enum ForwardFixtures {
    /// A client query as the server would hand it to the chain.
    static func request(_ name: String, _ type: RRType = .a, id: UInt16 = 0x1234, edns: Bool = true,
                        dnssecOK: Bool = false, checkingDisabled: Bool = false, class qclass: RRClass = .in) -> Request {
        var m = Message.query(id: id, name: try! DomainName(name), type: type, class: qclass,
                              edns: edns ? EDNS(udpPayloadSize: 4096, dnssecOK: dnssecOK) : nil)
        m.header.checkingDisabled = checkingDisabled
        return Request(message: m, transport: .udp)
    }

    /// How many UDP sockets of this network namespace are connected to `upstream` (an IPv4 address), read
    /// from /proc/net/udp: a forwarder's try holds one from its send until it ends.
    static func socketsConnected(to upstream: Upstream) -> Int {
        var address = in_addr()
        guard inet_pton(AF_INET, upstream.host, &address) == 1 else { return -1 }
        // The kernel prints the address as the 32-bit value in host order, and the port.
        let remote = hex(UInt64(address.s_addr), digits: 8) + ":" + hex(UInt64(upstream.port), digits: 4)
        let fd = open("/proc/net/udp", O_RDONLY)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        var text: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65_536)
        while case let n = read(fd, &chunk, chunk.count), n > 0 { text += chunk[0..<n] }
        // Columns: sl local_address rem_address st ...
        return String(decoding: text, as: UTF8.self).split(separator: "\n").dropFirst()
            .filter { $0.split(separator: " ").dropFirst(2).first.map(String.init) == remote }.count
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    static func records(_ lines: [String]) -> [ResourceRecord] { lines.map { try! ResourceRecord(zoneText: $0) } }

    /// A reply to `request` with sections from zone text.
    static func reply(to request: Request, rcode: RCode = .noError, answer: [String] = [], authority: [String] = [],
                      truncated: Bool = false) -> Message {
        var m = Message.response(to: request.message, rcode: rcode)
        m.answer = records(answer)
        m.authority = records(authority)
        m.header.truncated = truncated
        return m
    }

    /// Sections compared as sets; CNAMEs in the answer must come first and in the expected order.
    static func expectSections(_ m: Message, answer: [String], authority: [String] = [],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        let expectedAnswer = records(answer), expectedAuthority = records(authority)
        #expect(Set(m.answer) == Set(expectedAnswer), "answer:\n\(m)", sourceLocation: sourceLocation)
        #expect(Set(m.authority) == Set(expectedAuthority), "authority:\n\(m)", sourceLocation: sourceLocation)
        let cnames = expectedAnswer.filter { $0.type == .cname }
        #expect(Array(m.answer.prefix(cnames.count)) == cnames, "CNAME order:\n\(m)", sourceLocation: sourceLocation)
    }

    /// Runs `query` against a forwarder whose time is `clock`, moving the clock to the deadline of each try's
    /// timer, at most `cutShort` times and only once `ready` holds; returns the response and the deadlines moved
    /// to (each a try that timed out). `ready` is asked with the number cut short so far. Real time only bounds
    /// the test, so a slow machine cannot change what the query sees. A query that must end without a timeout
    /// passes `cutShort: 0`.
    static func drive(_ clock: ManualClock, cutShort: Int = .max, when ready: @escaping (_ cut: Int) -> Bool = { _ in true },
                      _ query: @escaping @Sendable () async -> Response) async throws -> (Response, waits: [UInt64]) {
        let done = Atomic<Bool>(false)
        let task = Task {
            defer { done.store(true, ordering: .sequentiallyConsistent) }
            return await query()
        }
        var waits: [UInt64] = []
        while true {
            var deadline: UInt64?
            let moved = await SystemTimeSource.poll(within: 30) {
                deadline = waits.count < cutShort && ready(waits.count) ? clock.nextDeadline : nil
                return done.load(ordering: .sequentiallyConsistent) || deadline != nil
            }
            try #require(moved, "the query ends, or a try of it waits on the clock")
            guard !done.load(ordering: .sequentiallyConsistent), let deadline else { break }
            waits.append(deadline)
            clock.advance(to: deadline)
        }
        return (await task.value, waits)
    }
}

/// A `next` that counts its calls and answers with a settable function.
final class FakeNext: Sendable {
    private let state: Mutex<(calls: Int, answer: @Sendable (Request) -> Message)>
    init(_ answer: @escaping @Sendable (Request) -> Message) { state = Mutex((0, answer)) }

    var calls: Int { state.withLock { $0.calls } }
    func answer(with f: @escaping @Sendable (Request) -> Message) { state.withLock { $0.answer = f } }

    var next: Next {
        Next { request in
            let f = self.state.withLock { s in s.calls += 1; return s.answer }
            return Response(message: f(request))
        }
    }
}
