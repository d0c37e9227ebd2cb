import DNSWire
import Metrics

/// Answers from local zones by rcode, declared once (STYLE §12).
struct LocalZonesMetrics: Sendable {
    let noError = Counter(label: "fedns_local_zones_responses_total", dimensions: [("rcode", "NOERROR")])
    let nxDomain = Counter(label: "fedns_local_zones_responses_total", dimensions: [("rcode", "NXDOMAIN")])

    func count(_ rcode: RCode) { (rcode == .nxDomain ? nxDomain : noError).increment() }
}
