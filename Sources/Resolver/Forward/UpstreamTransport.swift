import DNSWire

/// How the forwarder reaches an upstream: one query out, then every message that comes back is
/// offered to `accept` until one is taken or the time is up. The forwarder's own logic (fresh IDs,
/// RFC 5452 matching in `accept`, TC → TCP, budgets, failover, coalescing) stays above this seam,
/// so a scripted transport (the conformance runner's) exercises all of it without sockets.
public protocol UpstreamTransport: Sendable {
    /// - Parameters:
    ///   - query: the wire query, ID already chosen.
    ///   - tcp: false for UDP, true for a TCP connection with 2-byte length framing.
    ///   - timeoutNanoseconds: how long to wait, on the forwarder's `TimeSource`.
    ///   - accept: the reply when a received message answers the query, else nil (keep waiting).
    func exchange(_ query: [UInt8], with upstream: Upstream, tcp: Bool, timeoutNanoseconds: UInt64,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome
}
