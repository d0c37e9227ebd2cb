import Metrics

/// The cluster zone's metrics, declared once with fixed labels (STYLE §12).
///
/// `fedns_cluster_zone_responses_total{result}`: `answer`, `nodata`, `nxdomain`, `not_ready`
/// (SERVFAIL EDE 14 before the first sync), `chase_failed` (an ExternalName target could not be
/// resolved).
public struct ClusterZoneMetrics: Sendable {
    /// What one cluster-zone response was, for the `result` label.
    public enum Result: String, Sendable, CaseIterable {
        case answer, nodata, nxdomain
        case notReady = "not_ready"
        case chaseFailed = "chase_failed"
    }

    private let responses: [Result: Counter]

    /// - Parameter factory: where the counters live; tests pass their own.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var responses: [Result: Counter] = [:]
        for result in Result.allCases {
            responses[result] = Counter(label: "fedns_cluster_zone_responses_total",
                                        dimensions: [("result", result.rawValue)], factory: factory)
        }
        self.responses = responses
    }

    func count(_ result: Result) { responses[result]?.increment() }
}
