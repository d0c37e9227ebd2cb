import DNSWire
import Metrics
import NIOCore
import Resolver
import Synchronization

/// The server's metrics, created once with fixed label sets (STYLE §12): nothing is created per query.
public final class ServerMetrics: Sendable {
    static let typeLabels: [RRType] = [.a, .aaaa, .cname, .srv, .ptr, .txt, .soa, .ns, .mx, .any, .https, .svcb]
    static let rcodeLabels: [RCode] = [.noError, .formErr, .servFail, .nxDomain, .notImp, .refused, .badVers]

    /// The client's address family, a label of `fedns_dns_requests_total` (CoreDNS counts requests by family too).
    enum Family: Int, Sendable, CaseIterable {
        case ipv4, ipv6
        var label: String { self == .ipv4 ? "ipv4" : "ipv6" }
        init(_ remote: SocketAddress?) {
            if case .v6? = remote { self = .ipv6 } else { self = .ipv4 }
        }
    }

    struct PerTransport: Sendable {
        /// Indexed by `Family.rawValue`.
        let requestsByType: [[RRType: Counter]]
        let requestsOther: [Counter]
        let responsesByRcode: [RCode: Counter]
        let responsesOther: Counter
        let duration: RequestDurations

        init(proto: String) {
            requestsByType = Family.allCases.map { family in
                Dictionary(uniqueKeysWithValues: ServerMetrics.typeLabels.map { t in
                    (t, Counter(label: "fedns_dns_requests_total",
                                dimensions: [("proto", proto), ("family", family.label), ("type", t.description)]))
                })
            }
            requestsOther = Family.allCases.map { family in
                Counter(label: "fedns_dns_requests_total", dimensions: [("proto", proto), ("family", family.label), ("type", "other")])
            }
            var byRcode: [RCode: Counter] = [:]
            for r in ServerMetrics.rcodeLabels {
                byRcode[r] = Counter(label: "fedns_dns_responses_total", dimensions: [("proto", proto), ("rcode", r.description)])
            }
            responsesByRcode = byRcode
            responsesOther = Counter(label: "fedns_dns_responses_total", dimensions: [("proto", proto), ("rcode", "other")])
            duration = RequestDurations(proto: proto)
        }
    }

    let udp = PerTransport(proto: "udp")
    let tcp = PerTransport(proto: "tcp")
    let drops: [DropReason: Counter]
    let refusedByACL = Counter(label: "fedns_dns_refused_clients_total")
    let prerenderedHits = Counter(label: "fedns_dns_prerendered_answers_total")
    let tcpConnectionsRejected: [TCPRejectReason: Counter] = Dictionary(
        uniqueKeysWithValues: TCPRejectReason.allCases.map {
            ($0, Counter(label: "fedns_dns_tcp_connections_rejected_total", dimensions: [("reason", $0.rawValue)]))
        })
    /// Idle connections closed to admit a new one while the table was full (RFC 7766 §6.2.3).
    let tcpConnectionsEvicted = Counter(label: "fedns_dns_tcp_connections_evicted_total")
    let tcpConnectionsIdleClosed = Counter(label: "fedns_dns_tcp_connections_idle_closed_total")
    /// Queries the kernel dropped from a full listener receive queue (`KernelSocketDrops`).
    let socketDrops = Counter(label: "fedns_dns_socket_drops_total")
    /// UDP answers the kernel would not send: the client's address refused them (ICMP unreachable
    /// reported on the socket), or the send buffer stayed full for 100 ms. The query was answered
    /// but the client never got it.
    let unsentAnswers = Counter(label: "fedns_dns_unsent_answers_total")

    /// The counts of the UDP listener threads, summed into the counters above when `/metrics` is scraped.
    private let tallies = Mutex<[ListenerTally]>([])

    public init() {
        var d: [DropReason: Counter] = [:]
        for r in DropReason.allCases { d[r] = Counter(label: "fedns_dns_drops_total", dimensions: [("reason", r.rawValue)]) }
        drops = d
    }

    /// The counts of one UDP listener thread (only that thread counts into them).
    func makeListenerTally() -> ListenerTally {
        let tally = ListenerTally(durations: udp.duration.makeShard())
        tallies.withLock { $0.append(tally) }
        return tally
    }

    /// Adds what the listener threads counted since the last call to the registry's counters
    /// (before `/metrics` renders them).
    func flush() {
        tallies.withLock { all in
            for tally in all {
                tally.flush { cell, delta in
                    switch cell {
                    case .request(let family, let type):
                        let t = udp
                        (type.map { t.requestsByType[family.rawValue][ServerMetrics.typeLabels[$0]] } ?? t.requestsOther[family.rawValue])?
                            .increment(by: delta)
                    case .response(let rcode):
                        (rcode.map { udp.responsesByRcode[ServerMetrics.rcodeLabels[$0]] } ?? udp.responsesOther)?.increment(by: delta)
                    case .prerenderedHit:
                        prerenderedHits.increment(by: delta)
                    }
                }
            }
        }
    }

    /// `fedns_dns_request_duration_seconds` for both transports (rendered here, not by the registry:
    /// the listener threads' observations are summed only now).
    func renderDurations(into out: inout [UInt8]) {
        PrometheusText.appendComment("TYPE", RequestDurations.name, "histogram", to: &out)
        udp.duration.render(into: &out)
        tcp.duration.render(into: &out)
    }

    func transport(_ isTCP: Bool) -> PerTransport { isTCP ? tcp : udp }

    func countRequest(tcp isTCP: Bool, family: Family, type: RRType, tally: ListenerTally? = nil) {
        if let tally { return tally.countRequest(family: family, type: type) }
        let t = transport(isTCP)
        (t.requestsByType[family.rawValue][type] ?? t.requestsOther[family.rawValue]).increment()
    }

    func countResponse(tcp isTCP: Bool, rcode: RCode, tally: ListenerTally? = nil) {
        if let tally { return tally.countResponse(rcode) }
        let t = transport(isTCP)
        (t.responsesByRcode[rcode] ?? t.responsesOther).increment()
    }
}

/// Counters that threads add to without a lock (`Atomic`), summed only when read.
final class TallyCells: @unchecked Sendable {
    let count: Int
    private let cells: UnsafeMutablePointer<Atomic<Int>>

    init(count: Int) {
        self.count = count
        cells = .allocate(capacity: count)
        for i in 0..<count { (cells + i).initialize(to: Atomic(0)) }
    }

    deinit {
        cells.deinitialize(count: count)
        cells.deallocate()
    }

    func add(_ n: Int, at index: Int) { (cells + index).pointee.add(n, ordering: .relaxed) }
    subscript(index: Int) -> Int { (cells + index).pointee.load(ordering: .relaxed) }
}

/// `fedns_dns_request_duration_seconds{proto}` with CoreDNS's buckets (`MetricsExposition.durationBuckets`):
/// one set of cells per UDP listener thread (`makeShard`) and one for every other writer, summed
/// when rendered.
final class RequestDurations: Sendable {
    static let name = "fedns_dns_request_duration_seconds"
    static let bounds: [Int64] = MetricsExposition.durationBuckets.map {
        $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000
    }
    /// Cells: one per bucket (not cumulative), then +Inf, then the sum in nanoseconds.
    static let cellCount = bounds.count + 2

    let proto: String
    private let shared = TallyCells(count: RequestDurations.cellCount)
    private let shards = Mutex<[TallyCells]>([])

    init(proto: String) { self.proto = proto }

    func makeShard() -> TallyCells {
        let cells = TallyCells(count: Self.cellCount)
        shards.withLock { $0.append(cells) }
        return cells
    }

    func recordNanoseconds(_ nanoseconds: Int64) { Self.record(nanoseconds, times: 1, in: shared) }

    /// Counts `times` observations of `nanoseconds` in `cells`.
    static func record(_ nanoseconds: Int64, times: Int, in cells: TallyCells) {
        var bucket = 0
        while bucket < bounds.count && bounds[bucket] < nanoseconds { bucket += 1 }
        cells.add(times, at: bucket)
        cells.add(Int(max(0, nanoseconds)) * times, at: bounds.count + 1)
    }

    func render(into out: inout [UInt8]) {
        var totals = [Int](repeating: 0, count: Self.cellCount)
        for cells in [shared] + shards.withLock({ $0 }) {
            for i in 0..<Self.cellCount { totals[i] += cells[i] }
        }
        var cumulative = 0
        for (i, bound) in Self.bounds.enumerated() {
            cumulative += totals[i]
            // Seconds as Swift prints a Double: the shortest form, "0.00025" … "8.192", as the registry wrote them.
            PrometheusText.appendSample(Self.name + "_bucket", [("proto", proto), ("le", "\(Double(bound) / 1e9)")], Double(cumulative),
                                        to: &out)
        }
        cumulative += totals[Self.bounds.count]
        PrometheusText.appendSample(Self.name + "_bucket", [("proto", proto), ("le", "+Inf")], Double(cumulative), to: &out)
        PrometheusText.appendSample(Self.name + "_sum", [("proto", proto)], Double(totals[Self.bounds.count + 1]) / 1e9, to: &out)
        PrometheusText.appendSample(Self.name + "_count", [("proto", proto)], Double(cumulative), to: &out)
    }
}

/// What one UDP listener thread counts: requests by family and type, responses by rcode,
/// pre-rendered answers and durations; `ServerMetrics.flush` adds them to the registry's counters.
final class ListenerTally: Sendable {
    enum Cell {
        /// `type` indexes `ServerMetrics.typeLabels`; nil is "other".
        case request(ServerMetrics.Family, type: Int?)
        /// Indexes `ServerMetrics.rcodeLabels`; nil is "other".
        case response(Int?)
        case prerenderedHit
    }

    static let typeSlots = ServerMetrics.typeLabels.count + 1
    static let requestCells = ServerMetrics.Family.allCases.count * typeSlots
    static let responseCells = ServerMetrics.rcodeLabels.count + 1
    static let cellCount = requestCells + responseCells + 1

    let durations: TallyCells
    private let cells = TallyCells(count: ListenerTally.cellCount)
    /// What `flush` has added to the registry so far.
    private let flushed = Mutex<[Int]>(Array(repeating: 0, count: ListenerTally.cellCount))

    init(durations: TallyCells) { self.durations = durations }

    func countRequest(family: ServerMetrics.Family, type: RRType) {
        cells.add(1, at: family.rawValue * Self.typeSlots + Self.slot(of: type, in: ServerMetrics.typeLabels))
    }

    func countResponse(_ rcode: RCode) {
        cells.add(1, at: Self.requestCells + Self.slot(of: rcode, in: ServerMetrics.rcodeLabels))
    }

    /// The index of `value` in `labels`, or `labels.count` ("other"). A loop over indices: an
    /// unspecialized `firstIndex(of:)` (a debug build) allocates.
    private static func slot<T: Equatable>(of value: T, in labels: [T]) -> Int {
        for i in labels.indices where labels[i] == value { return i }
        return labels.count
    }

    func countPrerenderedHit() { cells.add(1, at: Self.cellCount - 1) }

    func recordNanoseconds(_ nanoseconds: Int64, times: Int) {
        RequestDurations.record(nanoseconds, times: times, in: durations)
    }

    /// Calls `body` with each cell's count since the last flush (cells that did not move are skipped).
    func flush(_ body: (Cell, Int64) -> Void) {
        flushed.withLock { flushed in
            for i in 0..<Self.cellCount {
                let now = cells[i]
                let delta = now - flushed[i]
                guard delta > 0 else { continue }
                flushed[i] = now
                let cell: Cell
                if i < Self.requestCells {
                    let family = ServerMetrics.Family(rawValue: i / Self.typeSlots)!
                    let slot = i % Self.typeSlots
                    cell = .request(family, type: slot < ServerMetrics.typeLabels.count ? slot : nil)
                } else if i < Self.requestCells + Self.responseCells {
                    let slot = i - Self.requestCells
                    cell = .response(slot < ServerMetrics.rcodeLabels.count ? slot : nil)
                } else {
                    cell = .prerenderedHit
                }
                body(cell, Int64(delta))
            }
        }
    }
}
