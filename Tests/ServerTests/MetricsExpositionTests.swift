import Metrics
import Prometheus
import Testing
@testable import Server

/// `/metrics` renders CoreDNS's series from fedns's own samples: the same numbers under both names,
/// CoreDNS's labels, nothing counted twice.
@Suite struct MetricsExpositionTests {
    /// A registry filled through the factory fedns bootstraps, as the handlers fill it.
    static func scrape(ready: Bool = true, _ fill: (PrometheusMetricsFactory) -> Void) -> [PrometheusSample] {
        let registry = PrometheusCollectorRegistry()
        fill(MetricsExposition.factory(registry: registry))
        return PrometheusText.samples(MetricsExposition(registry: registry, dnsPort: 53).render(ready: ready))
    }

    static func value(_ samples: [PrometheusSample], _ name: String, _ labels: [String: String]) -> Double? {
        let matching = samples.filter { $0.name == name && $0.labels == labels }
        return matching.count == 1 ? matching[0].value : nil
    }

    static let coreDNS = ["server": "dns://:53", "zone": ".", "view": ""]

    @Test func requestsKeepProtoFamilyAndTypeUnderCoreDNSLabels() {
        let samples = Self.scrape { f in
            Counter(label: "fedns_dns_requests_total", dimensions: [("proto", "udp"), ("family", "ipv4"), ("type", "A")], factory: f).increment(by: 3)
            Counter(label: "fedns_dns_requests_total", dimensions: [("proto", "tcp"), ("family", "ipv6"), ("type", "AAAA")], factory: f).increment()
        }
        #expect(Self.value(samples, "coredns_dns_requests_total", Self.coreDNS.merging(["proto": "udp", "family": "1", "type": "A"]) { $1 }) == 3)
        #expect(Self.value(samples, "coredns_dns_requests_total", Self.coreDNS.merging(["proto": "tcp", "family": "2", "type": "AAAA"]) { $1 }) == 1)
        #expect(Self.value(samples, "fedns_dns_requests_total", ["proto": "udp", "family": "ipv4", "type": "A"]) == 3)
    }

    @Test func responsesAreSummedOverProtoWithAnEmptyPlugin() {
        let samples = Self.scrape { f in
            Counter(label: "fedns_dns_responses_total", dimensions: [("proto", "udp"), ("rcode", "SERVFAIL")], factory: f).increment(by: 2)
            Counter(label: "fedns_dns_responses_total", dimensions: [("proto", "tcp"), ("rcode", "SERVFAIL")], factory: f).increment(by: 5)
            Counter(label: "fedns_dns_responses_total", dimensions: [("proto", "udp"), ("rcode", "NOERROR")], factory: f).increment(by: 1)
        }
        #expect(Self.value(samples, "coredns_dns_responses_total", Self.coreDNS.merging(["rcode": "SERVFAIL", "plugin": ""]) { $1 }) == 7)
        #expect(Self.value(samples, "coredns_dns_responses_total", Self.coreDNS.merging(["rcode": "NOERROR", "plugin": ""]) { $1 }) == 1)
        #expect(samples.filter { $0.name == "coredns_dns_responses_total" }.count == 2)
    }

    @Test func durationUsesCoreDNSBucketsSummedOverProto() {
        let samples = Self.scrape { f in
            Metrics.Timer(label: "fedns_dns_request_duration_seconds", dimensions: [("proto", "udp")], factory: f).recordNanoseconds(100_000)
            Metrics.Timer(label: "fedns_dns_request_duration_seconds", dimensions: [("proto", "tcp")], factory: f).recordNanoseconds(3_000_000)
        }
        let buckets = samples.filter { $0.name == "coredns_dns_request_duration_seconds_bucket" }
        #expect(buckets.map { $0.labels["le"]! } == ["0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032",
                                                    "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"])
        #expect(buckets.map(\.value) == [1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
        #expect(Self.value(samples, "coredns_dns_request_duration_seconds_count", Self.coreDNS) == 2)
        #expect(Self.value(samples, "coredns_dns_request_duration_seconds_sum", Self.coreDNS) == 0.0031)
        // fedns's own histogram has the same buckets.
        #expect(samples.filter { $0.name == "fedns_dns_request_duration_seconds_bucket" && $0.labels["proto"] == "udp" }.count == 17)
    }

    @Test func forwardSeriesAreRenamedPerUpstreamUnderForwardAndProxyNames() {
        let samples = Self.scrape { f in
            let to = [("upstream", "127.0.0.2:53")]
            Counter(label: "fedns_forward_requests_total", dimensions: to, factory: f).increment(by: 4)
            Counter(label: "fedns_forward_responses_total", dimensions: to + [("rcode", "SERVFAIL")], factory: f).increment()
            Counter(label: "fedns_forward_health_failures_total", dimensions: to, factory: f).increment(by: 2)
            Metrics.Timer(label: "fedns_forward_request_duration_seconds", dimensions: to + [("rcode", "NOERROR")], factory: f).recordNanoseconds(1_000_000)
            Metrics.Timer(label: "fedns_forward_request_duration_seconds", dimensions: to + [("rcode", "NXDOMAIN")], factory: f)
        }
        #expect(Self.value(samples, "coredns_forward_requests_total", ["to": "127.0.0.2:53"]) == 4)
        #expect(Self.value(samples, "coredns_forward_responses_total", ["to": "127.0.0.2:53", "rcode": "SERVFAIL"]) == 1)
        #expect(Self.value(samples, "coredns_forward_healthcheck_failures_total", ["to": "127.0.0.2:53"]) == 2)
        #expect(Self.value(samples, "coredns_proxy_healthcheck_failures_total", ["proxy_name": "forward", "to": "127.0.0.2:53"]) == 2)
        #expect(Self.value(samples, "coredns_forward_request_duration_seconds_count", ["to": "127.0.0.2:53", "rcode": "NOERROR"]) == 1)
        #expect(Self.value(samples, "coredns_proxy_request_duration_seconds_bucket",
                           ["proxy_name": "forward", "to": "127.0.0.2:53", "rcode": "NOERROR", "le": "0.001"]) == 1)
        // An rcode never seen has no CoreDNS histogram, as CoreDNS creates one at the first observation.
        #expect(!samples.contains { $0.name.hasPrefix("coredns_forward_request_duration") && $0.labels["rcode"] == "NXDOMAIN" })
    }

    @Test func cacheRequestsAreHitsPlusMisses() {
        let samples = Self.scrape { f in
            Counter(label: "fedns_cache_hits_total", dimensions: [("type", "success")], factory: f).increment(by: 5)
            Counter(label: "fedns_cache_hits_total", dimensions: [("type", "denial")], factory: f).increment(by: 2)
            Counter(label: "fedns_cache_misses_total", factory: f).increment(by: 3)
            Gauge(label: "fedns_cache_entries", dimensions: [("type", "success")], factory: f).record(9)
            Gauge(label: "fedns_cache_entries", dimensions: [("type", "denial")], factory: f).record(4)
        }
        let cache = ["server": "dns://:53", "zones": ".", "view": ""]
        #expect(Self.value(samples, "coredns_cache_hits_total", cache.merging(["type": "denial"]) { $1 }) == 2)
        #expect(Self.value(samples, "coredns_cache_misses_total", cache) == 3)
        #expect(Self.value(samples, "coredns_cache_requests_total", cache) == 10)
        #expect(Self.value(samples, "coredns_cache_entries", cache.merging(["type": "success"]) { $1 }) == 9)
        #expect(Self.value(samples, "coredns_cache_entries", cache.merging(["type": "denial"]) { $1 }) == 4)
    }

    @Test func unconfiguredPluginsHaveNoSeriesAndConstantsAreAlwaysThere() {
        let samples = Self.scrape(ready: false) { _ in }
        #expect(!samples.contains { $0.name.hasPrefix("coredns_forward") || $0.name.hasPrefix("coredns_cache") || $0.name.hasPrefix("coredns_dns") })
        #expect(Self.value(samples, "coredns_panics_total", [:]) == 0)
        #expect(Self.value(samples, "coredns_build_info", ["version": FednsBuild.version, "revision": "", "goversion": ""]) == 1)
        #expect(Self.value(samples, "fedns_ready", [:]) == 0)
        #expect(Self.value(Self.scrape(ready: true) { _ in }, "fedns_ready", [:]) == 1)
    }

    @Test func textFormatRoundTripsEscapedLabelValues() {
        var out: [UInt8] = []
        PrometheusText.appendSample("x_total", [("a", #"q"uote\back"#), ("b", "line\nbreak")], 1.5, to: &out)
        PrometheusText.appendSample("y", [], 42, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"x_total{a="q\"uote\\back",b="line\nbreak"} 1.5"# + "\ny 42\n")
        #expect(PrometheusText.samples(out + Array("# TYPE z counter\nbroken{a=\"x\n".utf8)) == [
            PrometheusSample(name: "x_total", labels: ["a": #"q"uote\back"#, "b": "line\nbreak"], value: 1.5),
            PrometheusSample(name: "y", labels: [:], value: 42),
        ])
    }
}
