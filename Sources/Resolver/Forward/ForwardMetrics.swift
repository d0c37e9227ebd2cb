import DNSWire
import Metrics

/// The forwarder's metrics, created once per handler with a fixed label set (STYLE §12):
/// one series per configured upstream, and per rcode for the usual rcodes plus `other`.
struct ForwardMetrics: Sendable {
    static let rcodeLabels: [RCode] = [.noError, .formErr, .servFail, .nxDomain, .notImp, .refused]

    private let requests: [Upstream: Counter]
    private let responses: [Upstream: [RCode: Counter]]
    private let responsesOther: [Upstream: Counter]
    private let healthFailures: [Upstream: Counter]
    /// Time from sending a try to its reply, per upstream and reply rcode (tries that time out or
    /// fail on the network are not timed; they count in `fedns_forward_health_failures_total`).
    private let durations: [Upstream: [RCode: Metrics.Timer]]
    private let durationsOther: [Upstream: Metrics.Timer]
    /// Forwarded queries that got no usable reply from any upstream (the client gets SERVFAIL), by why.
    private let failures: [ForwardFailure: Counter] = Dictionary(uniqueKeysWithValues: ForwardFailure.allCases.map {
        ($0, Counter(label: "fedns_forward_failures_total", dimensions: [("reason", $0.rawValue)]))
    })
    /// Queries refused because `maxConcurrent` were already waiting.
    let overloaded = Counter(label: "fedns_forward_max_concurrent_rejects_total")

    init(upstreams: [Upstream]) {
        var requests: [Upstream: Counter] = [:], responses: [Upstream: [RCode: Counter]] = [:]
        var other: [Upstream: Counter] = [:], failures: [Upstream: Counter] = [:]
        var durations: [Upstream: [RCode: Metrics.Timer]] = [:], durationsOther: [Upstream: Metrics.Timer] = [:]
        for u in upstreams {
            let label = u.description
            requests[u] = Counter(label: "fedns_forward_requests_total", dimensions: [("upstream", label)])
            responses[u] = Dictionary(uniqueKeysWithValues: Self.rcodeLabels.map { code in
                (code, Counter(label: "fedns_forward_responses_total", dimensions: [("upstream", label), ("rcode", code.description)]))
            })
            other[u] = Counter(label: "fedns_forward_responses_total", dimensions: [("upstream", label), ("rcode", "other")])
            failures[u] = Counter(label: "fedns_forward_health_failures_total", dimensions: [("upstream", label)])
            durations[u] = Dictionary(uniqueKeysWithValues: Self.rcodeLabels.map { code in
                (code, Metrics.Timer(label: "fedns_forward_request_duration_seconds", dimensions: [("upstream", label), ("rcode", code.description)],
                                     preferredDisplayUnit: .seconds))
            })
            durationsOther[u] = Metrics.Timer(label: "fedns_forward_request_duration_seconds", dimensions: [("upstream", label), ("rcode", "other")],
                                              preferredDisplayUnit: .seconds)
        }
        self.requests = requests; self.responses = responses; self.responsesOther = other; self.healthFailures = failures
        self.durations = durations; self.durationsOther = durationsOther
    }

    func request(_ u: Upstream) { requests[u]?.increment() }
    func response(_ u: Upstream, _ rcode: RCode, nanoseconds: UInt64) {
        (responses[u]?[rcode] ?? responsesOther[u])?.increment()
        (durations[u]?[rcode] ?? durationsOther[u])?.recordNanoseconds(Int64(clamping: nanoseconds))
    }
    func failed(_ why: ForwardFailure) { failures[why]?.increment() }
    func healthFailure(_ u: Upstream) { healthFailures[u]?.increment() }
}

/// Why a forwarded query got SERVFAIL from fedns itself, the `reason` of `fedns_forward_failures_total`.
enum ForwardFailure: String, Sendable, CaseIterable {
    /// Every try timed out within the budget.
    case timeout
    /// No upstream could be reached (network errors only).
    case unreachable
}
