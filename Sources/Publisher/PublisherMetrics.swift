import Metrics

/// `fedns_publish_*`, declared once with fixed labels (docs/publishing.md, metrics).
struct PublisherMetrics: Sendable {
    static let updateResults = ["success", "prerequisite_failed", "refused", "notauth", "notzone", "unreachable", "bad_reply", "other"]
    let updates: [String: Counter]
    let zoneReads: [String: Counter]
    let conflicts = Counter(label: "fedns_publish_conflicts_total")
    let recordsManaged = Gauge(label: "fedns_publish_records_managed")
    let clustersHealthy = Gauge(label: "fedns_publish_clusters_healthy")
    let clustersTotal = Gauge(label: "fedns_publish_clusters")
    let lastReconcile = Gauge(label: "fedns_publish_last_reconcile_timestamp_seconds")
    let sinceReconcile = Gauge(label: "fedns_publish_seconds_since_last_reconcile")

    init() {
        var updates: [String: Counter] = [:], reads: [String: Counter] = [:]
        for r in Self.updateResults {
            updates[r] = Counter(label: "fedns_publish_updates_total", dimensions: [("result", r)])
            reads[r] = Counter(label: "fedns_publish_zone_reads_total", dimensions: [("result", r)])
        }
        self.updates = updates; zoneReads = reads
    }

    func update(_ result: String) { (updates[result] ?? updates["other"])?.increment() }
    func zoneRead(_ result: String) { (zoneReads[result] ?? zoneReads["other"])?.increment() }
}
