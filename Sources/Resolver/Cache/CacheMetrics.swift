import Metrics

/// The cache's metrics, declared once (STYLE §12).
struct CacheMetrics: Sendable {
    /// Hits by `type`: `success` (an answer) or `denial` (NXDOMAIN, NODATA), CoreDNS's split.
    private let successHits = Counter(label: "fedns_cache_hits_total", dimensions: [("type", "success")])
    private let denialHits = Counter(label: "fedns_cache_hits_total", dimensions: [("type", "denial")])
    let misses = Counter(label: "fedns_cache_misses_total")
    /// Stale answers served because the upstream path failed (RFC 8767).
    let stale = Counter(label: "fedns_cache_stale_total")
    /// Entries by `type`, as hits.
    let successEntries = Gauge(label: "fedns_cache_entries", dimensions: [("type", "success")])
    let denialEntries = Gauge(label: "fedns_cache_entries", dimensions: [("type", "denial")])
    let evictions = Counter(label: "fedns_cache_evictions_total")
}

extension CacheMetrics {
    /// The hit counter of `entry`'s kind, chosen once per entry rather than per hit where the listener serves it.
    func hits(_ entry: CacheEntry) -> Counter { entry.denial ? denialHits : successHits }
}
