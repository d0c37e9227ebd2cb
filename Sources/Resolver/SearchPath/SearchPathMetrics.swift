import Metrics

/// The search path's metrics, declared once with fixed labels (STYLE §12).
///
/// - `fedns_search_path_requests_total{result}`: walks that ended on a later candidate (`hit`:
///   answered with a CNAME to it, whatever its rcode) or gave the first reply back (`miss`: every
///   candidate NXDOMAIN). Queries whose name as asked exists, or that are not walked, are not counted.
public struct SearchPathMetrics: Sendable {
    /// How a walk ended.
    public enum Result: String, Sendable, CaseIterable { case hit, miss }

    private let requests: [Result: Counter]

    /// - Parameter factory: where the counters live; tests pass their own.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var requests: [Result: Counter] = [:]
        for result in Result.allCases {
            requests[result] = Counter(label: "fedns_search_path_requests_total", dimensions: [("result", result.rawValue)], factory: factory)
        }
        self.requests = requests
    }

    func count(_ result: Result) { requests[result]?.increment() }
}
