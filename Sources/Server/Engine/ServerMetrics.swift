import DNSWire
import Metrics
import NIOCore
import Resolver

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
        let duration: Timer

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
            // Buckets as CoreDNS's (`MetricsExposition.durationBuckets`), set where the factory is made.
            duration = Timer(label: "fedns_dns_request_duration_seconds", dimensions: [("proto", proto)], preferredDisplayUnit: .seconds)
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

    public init() {
        var d: [DropReason: Counter] = [:]
        for r in DropReason.allCases { d[r] = Counter(label: "fedns_dns_drops_total", dimensions: [("reason", r.rawValue)]) }
        drops = d
    }

    func transport(_ isTCP: Bool) -> PerTransport { isTCP ? tcp : udp }

    func countRequest(tcp isTCP: Bool, family: Family, type: RRType) {
        let t = transport(isTCP)
        (t.requestsByType[family.rawValue][type] ?? t.requestsOther[family.rawValue]).increment()
    }

    func countResponse(tcp isTCP: Bool, rcode: RCode) {
        let t = transport(isTCP)
        (t.responsesByRcode[rcode] ?? t.responsesOther).increment()
    }
}
