import Metrics

/// The cache's metrics, declared once (STYLE §12).
struct CacheMetrics: Sendable {
    let hits = Counter(label: "fedns_cache_hits_total")
    let misses = Counter(label: "fedns_cache_misses_total")
    /// Stale answers served because the upstream path failed (RFC 8767).
    let stale = Counter(label: "fedns_cache_stale_total")
    let entries = Gauge(label: "fedns_cache_entries")
    let evictions = Counter(label: "fedns_cache_evictions_total")
}
