import DNSWire
import NameExpansion
import Resolver
import Synchronization

/// Start-up forwarding-loop probe, as CoreDNS `loop` does: fedns forwards a query for a random
/// name that nobody else would ask; if that query ever arrives at fedns's own listeners, an upstream
/// sends it back to us and every forwarded query would circle until it times out.
final class LoopDetector: Sendable {
    /// `<random>.<random>.fedns-loop-probe.`: a name under an unused TLD, so a healthy upstream
    /// answers NXDOMAIN at once.
    let probeName: DomainName
    private let arrivals = Atomic<Int>(0)

    init() {
        var rng = SystemRandomNumberGenerator()
        let a = String(rng.next() as UInt64, radix: 36), b = String(rng.next() as UInt64, radix: 36)
        probeName = DomainName(labels: [a, b, "fedns-loop-probe"])
    }

    /// Called for each query from a client; true when it is our own probe coming back.
    func isOwnProbe(_ name: DomainName) -> Bool {
        guard name == probeName else { return false }
        arrivals.add(1, ordering: .relaxed)
        return true
    }

    var loopDetected: Bool { arrivals.load(ordering: .relaxed) > 0 }

    /// Sends the probe through the forwarding part of the chain and reports whether it came back.
    func probe(through upstream: any UpstreamPath) async -> Bool {
        var rng = SystemRandomNumberGenerator()
        let query = Message.query(id: rng.next(), name: probeName, type: .hinfo)
        _ = await upstream.resolve(Request(message: query, transport: .internal))
        return loopDetected
    }
}
