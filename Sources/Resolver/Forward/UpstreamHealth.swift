/// Consecutive-failure bookkeeping for upstreams: after `threshold` failures in a row an upstream
/// is down and tried after the healthy ones; any answer (a query's or a probe's) brings it back.
struct UpstreamHealth: Sendable {
    let threshold: Int
    private(set) var consecutiveFailures: [Upstream: Int] = [:]

    init(threshold: Int) { self.threshold = threshold }

    func isDown(_ upstream: Upstream) -> Bool { consecutiveFailures[upstream, default: 0] >= threshold }

    /// Records a timeout or network error; returns true when this failure marked the upstream down.
    mutating func recordFailure(_ upstream: Upstream) -> Bool {
        let n = consecutiveFailures[upstream, default: 0] + 1
        consecutiveFailures[upstream] = n
        return n == threshold
    }

    mutating func recordSuccess(_ upstream: Upstream) { consecutiveFailures[upstream] = nil }

    /// `upstreams` with the healthy ones first, each group in configured order.
    func ordered(_ upstreams: [Upstream]) -> [Upstream] {
        upstreams.filter { !isDown($0) } + upstreams.filter { isDown($0) }
    }

    var down: [Upstream] { consecutiveFailures.filter { $0.value >= threshold }.map(\.key) }
}
