/// The CoreDNS series fedns exposes beside its own, so that the CoreDNS dashboards and the
/// coredns-mixin alerts work unchanged (docs/operating.md, "CoreDNS series").
///
/// Nothing here is counted: each query is counted once, under fedns's name, and at scrape time
/// the CoreDNS series are rendered from those samples: labels renamed, labels CoreDNS does not have
/// summed away, CoreDNS's constant labels added. The hot path pays nothing for the second name.
struct CoreDNSSeries: Sendable {
    /// Where a CoreDNS label's value comes from.
    enum Label: Sendable {
        /// `server`: `dns://:PORT`, as CoreDNS labels a server block `.:PORT`.
        case server
        case fixed(String, String)
        /// The value of fedns's label `from`, under CoreDNS's name.
        case copy(String, from: String)
        /// The value of fedns's label `from`, translated (`family`: `ipv4` is CoreDNS's `1`).
        case mapped(String, from: String, [String: String])

        var name: String {
            switch self {
            case .server: "server"
            case .fixed(let n, _), .copy(let n, _), .mapped(let n, _, _): n
            }
        }
    }

    enum Kind: String, Sendable { case counter, gauge, histogram }

    /// One CoreDNS series and the fedns series it is the sum of.
    struct Series: Sendable {
        let name: String
        let kind: Kind
        let help: String
        let from: [String]
        let labels: [Label]
        /// Leaves out histograms nothing was observed into, as CoreDNS creates a forwarding histogram
        /// at its first observation (one per upstream and rcode would otherwise be hundreds of zeros).
        var onlyObserved = false
    }

    /// The port of the first DNS listener.
    let server: String
    let version: String

    init(dnsPort: Int, version: String) {
        server = "dns://:\(dnsPort)"
        self.version = version
    }

    static let zone = Label.fixed("zone", ".")
    static let zones = Label.fixed("zones", ".")
    static let view = Label.fixed("view", "")
    static let to = Label.copy("to", from: "upstream")
    static let forwardProxy = Label.fixed("proxy_name", "forward")

    static let series: [Series] = [
        Series(name: "coredns_dns_requests_total", kind: .counter, help: "Counter of DNS requests made per zone, protocol and family.",
               from: ["fedns_dns_requests_total"],
               labels: [.server, zone, view, .copy("proto", from: "proto"), .mapped("family", from: "family", ["ipv4": "1", "ipv6": "2"]),
                        .copy("type", from: "type")]),
        Series(name: "coredns_dns_responses_total", kind: .counter, help: "Counter of response status codes.",
               from: ["fedns_dns_responses_total"], labels: [.server, zone, view, .copy("rcode", from: "rcode"), .fixed("plugin", "")]),
        Series(name: "coredns_dns_request_duration_seconds", kind: .histogram, help: "Histogram of the time (in seconds) each request took per zone.",
               from: ["fedns_dns_request_duration_seconds"], labels: [.server, zone, view]),
        Series(name: "coredns_cache_entries", kind: .gauge, help: "The number of elements in the cache.",
               from: ["fedns_cache_entries"], labels: [.server, .copy("type", from: "type"), zones, view]),
        Series(name: "coredns_cache_hits_total", kind: .counter, help: "The count of cache hits.",
               from: ["fedns_cache_hits_total"], labels: [.server, .copy("type", from: "type"), zones, view]),
        Series(name: "coredns_cache_misses_total", kind: .counter, help: "The count of cache misses.",
               from: ["fedns_cache_misses_total"], labels: [.server, zones, view]),
        Series(name: "coredns_cache_requests_total", kind: .counter, help: "The count of cache requests.",
               from: ["fedns_cache_hits_total", "fedns_cache_misses_total"], labels: [.server, zones, view]),
        Series(name: "coredns_cache_served_stale_total", kind: .counter, help: "The number of requests served from stale cache entries.",
               from: ["fedns_cache_stale_total"], labels: [.server, zones, view]),
        Series(name: "coredns_cache_evictions_total", kind: .counter, help: "The count of cache evictions.",
               from: ["fedns_cache_evictions_total"], labels: [.server, .fixed("type", "success"), zones, view]),
        Series(name: "coredns_forward_requests_total", kind: .counter, help: "Counter of requests made per upstream.",
               from: ["fedns_forward_requests_total"], labels: [to]),
        Series(name: "coredns_forward_responses_total", kind: .counter, help: "Counter of responses received per upstream.",
               from: ["fedns_forward_responses_total"], labels: [.copy("rcode", from: "rcode"), to]),
        Series(name: "coredns_forward_request_duration_seconds", kind: .histogram, help: "Histogram of the time each request took.",
               from: ["fedns_forward_request_duration_seconds"], labels: [to, .copy("rcode", from: "rcode")], onlyObserved: true),
        Series(name: "coredns_proxy_request_duration_seconds", kind: .histogram, help: "Histogram of the time each request took.",
               from: ["fedns_forward_request_duration_seconds"], labels: [forwardProxy, to, .copy("rcode", from: "rcode")], onlyObserved: true),
        Series(name: "coredns_forward_healthcheck_failures_total", kind: .counter, help: "Counter of the number of failed healthchecks.",
               from: ["fedns_forward_health_failures_total"], labels: [to]),
        Series(name: "coredns_proxy_healthcheck_failures_total", kind: .counter, help: "Counter of the number of failed healthchecks.",
               from: ["fedns_forward_health_failures_total"], labels: [forwardProxy, to]),
        Series(name: "coredns_forward_max_concurrent_rejects_total", kind: .counter,
               help: "Counter of the number of queries rejected because the concurrent queries were at maximum.",
               from: ["fedns_forward_max_concurrent_rejects_total"], labels: []),
    ]

    /// Appends the CoreDNS series computed from `samples` (fedns's exposition) to `out`. A series
    /// none of whose sources is registered is left out, as CoreDNS leaves out a plugin's series
    /// when the plugin is not configured.
    func render(from samples: [PrometheusSample], into out: inout [UInt8]) {
        var byName: [String: [PrometheusSample]] = [:]
        for s in samples { byName[s.name, default: []].append(s) }
        for series in Self.series {
            switch series.kind {
            case .counter, .gauge: renderPlain(series, byName, into: &out)
            case .histogram: renderHistogram(series, byName, into: &out)
            }
        }
        // fedns cannot recover from a crash as Go's panic handler does: the process exits and restarts.
        header("coredns_panics_total", .counter, "A metrics that counts the number of panics.", into: &out)
        PrometheusText.appendSample("coredns_panics_total", [], 0, to: &out)
        header("coredns_build_info", .gauge, "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.",
               into: &out)
        PrometheusText.appendSample("coredns_build_info", [("version", version), ("revision", ""), ("goversion", "")], 1, to: &out)
    }

    private func values(_ series: Series, _ labels: [String: String]) -> [(String, String)] {
        series.labels.map { label in
            switch label {
            case .server: ("server", server)
            case .fixed(let n, let v): (n, v)
            case .copy(let n, let from): (n, labels[from] ?? "")
            case .mapped(let n, let from, let table): (n, labels[from].map { table[$0] ?? $0 } ?? "")
            }
        }
    }

    private func header(_ name: String, _ kind: Kind, _ help: String, into out: inout [UInt8]) {
        PrometheusText.appendComment("HELP", name, help, to: &out)
        PrometheusText.appendComment("TYPE", name, kind.rawValue, to: &out)
    }

    private func renderPlain(_ series: Series, _ byName: [String: [PrometheusSample]], into out: inout [UInt8]) {
        var order: [[String]] = []
        var sums: [[String]: (labels: [(String, String)], value: Double)] = [:]
        var found = false
        for source in series.from {
            guard let samples = byName[source] else { continue }
            found = true
            for s in samples {
                let labels = values(series, s.labels)
                let key = labels.map(\.1)
                if sums[key] == nil { order.append(key); sums[key] = (labels, 0) }
                sums[key]!.value += s.value
            }
        }
        guard found else { return }
        header(series.name, series.kind, series.help, into: &out)
        for key in order {
            let (labels, value) = sums[key]!
            PrometheusText.appendSample(series.name, labels, value, to: &out)
        }
    }

    private struct HistogramSum {
        var labels: [(String, String)]
        var buckets: [Double: Double] = [:]
        var sum = 0.0
        var count = 0.0
    }

    private func renderHistogram(_ series: Series, _ byName: [String: [PrometheusSample]], into out: inout [UInt8]) {
        var order: [[String]] = []
        var groups: [[String]: HistogramSum] = [:]
        for source in series.from {
            for (suffix, samples) in [("_bucket", byName[source + "_bucket"]), ("_sum", byName[source + "_sum"]), ("_count", byName[source + "_count"])] {
                for s in samples ?? [] {
                    let labels = values(series, s.labels)
                    let key = labels.map(\.1)
                    if groups[key] == nil { order.append(key); groups[key] = HistogramSum(labels: labels) }
                    switch suffix {
                    case "_bucket":
                        guard let le = s.labels["le"].flatMap({ $0 == "+Inf" ? Double.infinity : Double($0) }) else { continue }
                        groups[key]!.buckets[le, default: 0] += s.value
                    case "_sum": groups[key]!.sum += s.value
                    default: groups[key]!.count += s.value
                    }
                }
            }
        }
        let observed = series.onlyObserved ? order.filter { groups[$0]!.count > 0 } : order
        guard !observed.isEmpty else { return }
        header(series.name, .histogram, series.help, into: &out)
        for key in observed {
            let g = groups[key]!
            for le in g.buckets.keys.sorted() {
                PrometheusText.appendSample(series.name + "_bucket", g.labels + [("le", PrometheusText.format(le))], g.buckets[le]!, to: &out)
            }
            PrometheusText.appendSample(series.name + "_sum", g.labels, g.sum, to: &out)
            PrometheusText.appendSample(series.name + "_count", g.labels, g.count, to: &out)
        }
    }
}
