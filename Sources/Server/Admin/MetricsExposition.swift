import Prometheus

/// fedns's release, as `fedns --version` and the `fedns_build_info` and `coredns_build_info` series show it.
public enum FednsBuild {
    public static let version = "0.1.0"
}

/// What `/metrics` answers: fedns's series from the registry, the scrape-time gauges
/// (`fedns_ready`, `fedns_build_info`), then the CoreDNS series rendered from fedns's samples.
struct MetricsExposition: Sendable {
    /// CoreDNS's request-duration buckets (0.25 ms doubling up to 8.192 s), for fedns's DNS and
    /// forwarding latencies alike: a cluster answer takes well under a millisecond, which
    /// swift-prometheus's default buckets (from 5 ms) cannot tell apart.
    static let durationBuckets: [Duration] = (0..<16).map { .nanoseconds(250_000 << $0) }
    static let durationHistograms = ["fedns_dns_request_duration_seconds", "fedns_forward_request_duration_seconds"]

    /// The metrics factory fedns bootstraps swift-metrics with: Prometheus, with the duration buckets above.
    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        for name in durationHistograms { factory.durationHistogramBuckets[name] = durationBuckets }
        return factory
    }

    let registry: PrometheusCollectorRegistry
    let coreDNS: CoreDNSSeries
    /// The server's own series that are summed when scraped (the listener threads' counts).
    let server: ServerMetrics?

    init(registry: PrometheusCollectorRegistry, dnsPort: Int, server: ServerMetrics? = nil) {
        self.registry = registry
        self.coreDNS = CoreDNSSeries(dnsPort: dnsPort, version: FednsBuild.version)
        self.server = server
    }

    func render(ready: Bool) -> [UInt8] {
        server?.flush()
        var out = registry.emitToBuffer()
        server?.renderDurations(into: &out)
        PrometheusText.appendComment("HELP", "fedns_ready", "1 when /ready answers 200: the first cluster sync is done and fedns is not in lameduck.",
                                     to: &out)
        PrometheusText.appendComment("TYPE", "fedns_ready", "gauge", to: &out)
        PrometheusText.appendSample("fedns_ready", [], ready ? 1 : 0, to: &out)
        PrometheusText.appendComment("TYPE", "fedns_build_info", "gauge", to: &out)
        PrometheusText.appendSample("fedns_build_info", [("version", FednsBuild.version)], 1, to: &out)
        coreDNS.render(from: PrometheusText.samples(out), into: &out)
        return out
    }
}
