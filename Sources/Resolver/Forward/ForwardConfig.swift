import DNSWire
import NameExpansion

/// An upstream DNS server: an IP address and a port. Hosts are addresses, never names, since
/// resolving a forwarder's name would need the forwarder.
public struct Upstream: Hashable, Sendable, CustomStringConvertible {
    /// Canonical address text (`10.0.0.10`, `fd00::10`).
    public let host: String
    public let port: UInt16

    /// - Throws: when `host` is not an IPv4 or IPv6 address.
    public init(host: String, port: UInt16 = 53) throws(ForwardConfigError) {
        guard let canonical = IPAddress.canonical(host) else {
            throw ForwardConfigError(field: "upstreams", reason: "'\(host)' is not an IP address")
        }
        self.host = canonical
        self.port = port
    }

    /// Parses `HOST`, `HOST:PORT`, `V6`, `[V6]` and `[V6]:PORT`; `field` names the setting in errors.
    public init(parsing text: String, field: String = "upstreams") throws(ForwardConfigError) {
        switch AddressAndPort.parse(text.trimmingASCIIWhitespace) {
        case .failure(let error): throw ForwardConfigError(field: field, reason: error.description)
        case .success(let parsed):
            guard parsed.port != 0 else { throw ForwardConfigError(field: field, reason: "'\(text)': bad port") }
            self.host = parsed.host
            self.port = parsed.port
        }
    }

    public var isIPv6: Bool { host.contains(":") }

    /// `10.0.0.10:53`, `[fd00::10]:53`.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// True when sending to `self` would reach a socket fedns listens on at `listen`
    /// (same port, and the same address or a wildcard listener reached over loopback).
    func wouldReach(listener listen: Upstream) -> Bool {
        guard port == listen.port else { return false }
        if host == listen.host { return true }
        let wildcard = listen.host == "0.0.0.0" || listen.host == "::"
        let loopback = host.hasPrefix("127.") || host == "::1"
        return wildcard && (loopback || host == listen.host)
    }

    /// The `nameserver` lines of resolv.conf text, in order, port 53 (all of them: unlike a stub,
    /// a forwarder has no reason to stop at glibc's three).
    public static func fromResolvConf(_ text: String) throws(ForwardConfigError) -> [Upstream] {
        var out: [Upstream] = []
        for address in ResolvConf(parsing: text).nameservers {
            // A `%scope` suffix names a link; connected sockets here are not scoped.
            let host = String(address.split(separator: "%", maxSplits: 1)[0])
            do { out.append(try Upstream(host: host)) } catch {
                throw ForwardConfigError(field: "upstreamResolvConf", reason: "nameserver '\(address)' is not usable")
            }
        }
        return out
    }
}

/// How the forwarder is set up (DESIGN §4). Durations are nanoseconds of the handler's `TimeSource`.
public struct ForwardConfig: Sendable {
    /// Default upstreams, tried in order (healthy ones first).
    public var upstreams: [Upstream]
    /// Suffix → its own upstreams; the longest matching suffix wins.
    public var stubDomains: [DomainName: [Upstream]]
    /// fedns's own listen addresses; an upstream that would reach one is refused (a forwarding loop).
    public var listenAddresses: [Upstream]
    /// Time allowed for one try (one UDP exchange, or the TCP retry after TC).
    public var tryTimeoutNanoseconds: UInt64
    /// Time allowed for the whole query, every try included; below a stub resolver's 5 s.
    public var budgetNanoseconds: UInt64
    /// Consecutive failures after which an upstream is marked down and tried last.
    public var failuresBeforeDown: Int
    /// How often `runHealthProbes()` probes the upstreams that are down.
    public var probeIntervalNanoseconds: UInt64
    /// Queries that may wait on upstreams at once; more are refused at once (CoreDNS forward's
    /// `max_concurrent`), so a flood toward a slow upstream cannot pile up without bound.
    public var maxConcurrent: Int

    public init(upstreams: [Upstream], stubDomains: [DomainName: [Upstream]] = [:], listenAddresses: [Upstream] = [],
                tryTimeoutNanoseconds: UInt64 = 1_500_000_000, budgetNanoseconds: UInt64 = 4_000_000_000,
                failuresBeforeDown: Int = 2, probeIntervalNanoseconds: UInt64 = 3_000_000_000, maxConcurrent: Int = 4096) {
        self.upstreams = upstreams; self.stubDomains = stubDomains; self.listenAddresses = listenAddresses
        self.tryTimeoutNanoseconds = tryTimeoutNanoseconds; self.budgetNanoseconds = budgetNanoseconds
        self.failuresBeforeDown = failuresBeforeDown; self.probeIntervalNanoseconds = probeIntervalNanoseconds
        self.maxConcurrent = maxConcurrent
    }

    /// Checks every setting; the error names the field.
    public func validate() throws(ForwardConfigError) {
        if upstreams.isEmpty && stubDomains.isEmpty {
            throw ForwardConfigError(field: "upstreams", reason: "at least one upstream is required")
        }
        try Self.refuseLoops(upstreams, field: "upstreams", listen: listenAddresses)
        for (suffix, servers) in stubDomains.sorted(by: { $0.key < $1.key }) {
            let field = "stubDomains[\(suffix)]"
            if servers.isEmpty { throw ForwardConfigError(field: field, reason: "no upstreams") }
            try Self.refuseLoops(servers, field: field, listen: listenAddresses)
        }
        if tryTimeoutNanoseconds == 0 { throw ForwardConfigError(field: "tryTimeout", reason: "must be positive") }
        if maxConcurrent < 1 { throw ForwardConfigError(field: "forward.maxConcurrent", reason: "must be at least 1") }
        if budgetNanoseconds < tryTimeoutNanoseconds {
            throw ForwardConfigError(field: "budget", reason: "must be at least tryTimeout")
        }
        if budgetNanoseconds >= 5_000_000_000 {
            throw ForwardConfigError(field: "budget", reason: "must be below 5 s, a stub resolver's timeout")
        }
        if failuresBeforeDown < 1 { throw ForwardConfigError(field: "failuresBeforeDown", reason: "must be at least 1") }
        if probeIntervalNanoseconds == 0 { throw ForwardConfigError(field: "probeInterval", reason: "must be positive") }
    }

    static func refuseLoops(_ servers: [Upstream], field: String, listen: [Upstream]) throws(ForwardConfigError) {
        let looping = servers.filter { s in listen.contains { s.wouldReach(listener: $0) } }
        guard looping.isEmpty else {
            let names = looping.map(\.description).joined(separator: ", ")
            throw ForwardConfigError(field: field, reason: "\(names) is one of fedns's own listen addresses (a forwarding loop)")
        }
    }

    /// The upstreams for `name`: those of the longest stub-domain suffix it falls under, else the defaults.
    public func upstreams(for name: DomainName) -> [Upstream] {
        var best: (labels: Int, servers: [Upstream])?
        for (suffix, servers) in stubDomains where name.isSubdomain(of: suffix) {
            if best == nil || suffix.labelCount > best!.labels { best = (suffix.labelCount, servers) }
        }
        return best?.servers ?? upstreams
    }

    /// Every distinct upstream, defaults first.
    var allUpstreams: [Upstream] {
        var seen = Set<Upstream>(), out: [Upstream] = []
        for u in upstreams + stubDomains.sorted(by: { $0.key < $1.key }).flatMap(\.value) where seen.insert(u).inserted {
            out.append(u)
        }
        return out
    }
}

/// A forwarder setting that cannot be used; `field` is the configuration key.
public struct ForwardConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) { self.field = field; self.reason = reason }
    public var description: String { "forward: \(field): \(reason)" }
}

extension String {
    var trimmingASCIIWhitespace: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
