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
    /// Time from the first try to the answer (or to giving up), per forwarded query.
    let duration: Metrics.Timer
    /// Queries refused because `maxConcurrent` were already waiting.
    let overloaded = Counter(label: "fedns_forward_max_concurrent_rejects_total")

    init(upstreams: [Upstream]) {
        var requests: [Upstream: Counter] = [:], responses: [Upstream: [RCode: Counter]] = [:]
        var other: [Upstream: Counter] = [:], failures: [Upstream: Counter] = [:]
        for u in upstreams {
            let label = u.description
            requests[u] = Counter(label: "fedns_forward_requests_total", dimensions: [("upstream", label)])
            responses[u] = Dictionary(uniqueKeysWithValues: Self.rcodeLabels.map { code in
                (code, Counter(label: "fedns_forward_responses_total", dimensions: [("upstream", label), ("rcode", code.description)]))
            })
            other[u] = Counter(label: "fedns_forward_responses_total", dimensions: [("upstream", label), ("rcode", "other")])
            failures[u] = Counter(label: "fedns_forward_health_failures_total", dimensions: [("upstream", label)])
        }
        self.requests = requests; self.responses = responses; self.responsesOther = other; self.healthFailures = failures
        self.duration = Metrics.Timer(label: "fedns_forward_request_duration_seconds", preferredDisplayUnit: .seconds)
    }

    func request(_ u: Upstream) { requests[u]?.increment() }
    func response(_ u: Upstream, _ rcode: RCode) { (responses[u]?[rcode] ?? responsesOther[u])?.increment() }
    func healthFailure(_ u: Upstream) { healthFailures[u]?.increment() }
}
