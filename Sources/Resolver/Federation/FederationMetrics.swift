import Metrics

/// The federation rule's metrics, declared once with fixed labels (STYLE §12).
///
/// - `fedns_federation_answers_total{result}`: `local` (healthy local shard), `zonal`, `regional`,
///   `global` (the kind of public name the CNAME points at).
/// - `fedns_federation_conflicts_total`: queries for `<a>.<b>.<fed>.svc.<cd>` while a namespace is
///   named like the federation `<fed>` (docs/behaviour.md, federation rule 4).
public struct FederationMetrics: Sendable {
    private let answers: [FederationResult: Counter]
    private let conflicts: Counter

    /// - Parameter factory: where the counters live; tests pass their own.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var answers: [FederationResult: Counter] = [:]
        for result in FederationResult.allCases {
            answers[result] = Counter(label: "fedns_federation_answers_total", dimensions: [("result", result.rawValue)], factory: factory)
        }
        self.answers = answers
        self.conflicts = Counter(label: "fedns_federation_conflicts_total", dimensions: [], factory: factory)
    }

    func count(_ result: FederationResult) { answers[result]?.increment() }
    func countConflict() { conflicts.increment() }
}
