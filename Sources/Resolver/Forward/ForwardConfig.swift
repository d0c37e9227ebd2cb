import DNSWire
import Foundation
import NameExpansion
import YAMLReader

/// An upstream DNS server: an IP address and a port. Hosts are addresses, never names, since
/// resolving a forwarder's name would need the forwarder.
public struct Upstream: Hashable, Sendable, CustomStringConvertible {
    /// Canonical address text (`10.0.0.10`, `fd00::10`).
    public let host: String
    public let port: UInt16

    /// - Throws: when `host` is not an IPv4 or IPv6 address.
    public init(host: String, port: UInt16 = 53) throws(ConfigError) {
        guard let canonical = IPAddress.canonical(host) else {
            throw ConfigError(field: "upstreams", problem: "'\(host)' is not an IP address")
        }
        self.host = canonical
        self.port = port
    }

    /// Parses `HOST`, `HOST:PORT`, `V6`, `[V6]` and `[V6]:PORT`; `field` names the setting in errors.
    public init(parsing text: String, field: String = "upstreams") throws(ConfigError) {
        switch AddressAndPort.parse(text.trimmingASCIIWhitespace) {
        case .failure(let error): throw ConfigError(field: field, problem: error.description)
        case .success(let parsed):
            guard parsed.port != 0 else { throw ConfigError(field: field, problem: "'\(text)': bad port") }
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
    public static func fromResolvConf(_ text: String) throws(ConfigError) -> [Upstream] {
        var out: [Upstream] = []
        for address in ResolvConf(parsing: text).nameservers {
            // A `%scope` suffix names a link; connected sockets here are not scoped.
            let host = String(address.split(separator: "%", maxSplits: 1)[0])
            do { out.append(try Upstream(host: host)) } catch {
                throw ConfigError(field: "upstreamResolvConf", problem: "nameserver '\(address)' is not usable")
            }
        }
        return out
    }
}

/// How the forwarder is set up (docs/behaviour.md, forwarding): the `upstreams`, `upstreamResolvConf`, `stubDomains` and
/// `forward` keys. Durations are nanoseconds of the handler's `TimeSource`.
public struct ForwardConfig: ConfigSection {
    /// Default upstreams, tried in order (healthy ones first); empty in the file means the
    /// `nameserver`s of ``upstreamResolvConf``.
    public var upstreams: [Upstream]
    /// `upstreamResolvConf`: where upstreams (when none are set) and the node's search domains come from.
    public var upstreamResolvConf: String
    /// Suffix → its own upstreams; the longest matching suffix wins.
    public var stubDomains: [DomainName: [Upstream]]
    /// fedns's own listen addresses (the server's); an upstream that would reach one is refused (a forwarding loop).
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

    public init(upstreams: [Upstream] = [], upstreamResolvConf: String = "/etc/resolv.conf", stubDomains: [DomainName: [Upstream]] = [:],
                listenAddresses: [Upstream] = [],
                tryTimeoutNanoseconds: UInt64 = 1_500_000_000, budgetNanoseconds: UInt64 = 4_000_000_000,
                failuresBeforeDown: Int = 2, probeIntervalNanoseconds: UInt64 = 3_000_000_000, maxConcurrent: Int = 4096) {
        self.upstreams = upstreams; self.upstreamResolvConf = upstreamResolvConf
        self.stubDomains = stubDomains; self.listenAddresses = listenAddresses
        self.tryTimeoutNanoseconds = tryTimeoutNanoseconds; self.budgetNanoseconds = budgetNanoseconds
        self.failuresBeforeDown = failuresBeforeDown; self.probeIntervalNanoseconds = probeIntervalNanoseconds
        self.maxConcurrent = maxConcurrent
    }

    public static let keys = ["upstreams", "upstreamResolvConf", "stubDomains", "forward"]

    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("upstreams", type: "list of `HOST[:PORT]`", default: "the `nameserver` lines of `upstreamResolvConf`",
                     valid: "IPv4 or IPv6 addresses (`[V6]:PORT`), port 53 by default; none of fedns's own listen addresses",
                     meaning: "where names outside the cluster zone, the federations and local zones are forwarded; healthy ones first",
                     example: #"upstreams: ["10.0.0.10", "[fd00::10]:53"]"#),
        ConfigKeyDoc("upstreamResolvConf", type: "path", default: "`/etc/resolv.conf`", valid: "a readable resolv.conf file",
                     meaning: "gives the upstreams when none are set, and the node's search domains for the search path",
                     example: "upstreamResolvConf: /etc/resolv.conf"),
        ConfigKeyDoc("stubDomains", type: "mapping of suffix to list of `HOST[:PORT]`", default: "`{}`",
                     valid: "domain names; non-empty lists of IP addresses with an optional port",
                     meaning: "names under a suffix go to its own servers; the longest suffix wins",
                     example: #"stubDomains: {acme.local: ["10.150.0.1"]}"#),
        ConfigKeyDoc("forward.timeout", type: "seconds (a number, or `1.5s`)", default: "`1.5`",
                     valid: "more than 0, at most 5", meaning: "time allowed for one try (a UDP exchange, or the TCP retry after TC)",
                     example: "forward: {timeout: 1}"),
        ConfigKeyDoc("forward.budget", type: "seconds", default: "`4`", valid: "at least `forward.timeout`, below 5 (a stub resolver's timeout)",
                     meaning: "time allowed for a whole forwarded query, every try included; then SERVFAIL with EDE 22 or 23",
                     example: "forward: {budget: 3}"),
        ConfigKeyDoc("forward.maxConcurrent", type: "integer", default: "`4096`", valid: "at least 1",
                     meaning: "queries that may wait on upstreams at once; more get REFUSED at once (CoreDNS forward `max_concurrent`)",
                     example: "forward: {maxConcurrent: 1000}"),
    ]

    public mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        switch key {
        case "upstreams":
            upstreams = try value.itemsOrOne().map { item throws(ConfigError) in try Self.upstream(item) }
        case "upstreamResolvConf":
            upstreamResolvConf = try value.requiredString()
        case "stubDomains":
            var stubs: [DomainName: [Upstream]] = [:]
            for (suffix, servers) in try value.entries() {
                guard let name = try? DomainName(suffix) else { throw servers.fail("is not a domain name") }
                let list = try servers.itemsOrOne()
                guard !list.isEmpty else { throw servers.fail("must be a non-empty list of servers") }
                stubs[name] = try list.map { item throws(ConfigError) in try Self.upstream(item) }
            }
            stubDomains = stubs
        default:
            try value.mapping(known: Self.reference.keys(inside: "forward"))
            if let v = try value["timeout"].seconds() {
                guard v > 0, v <= 5 else { throw value["timeout"].fail("must be more than 0 and at most 5 seconds") }
                tryTimeoutNanoseconds = UInt64(v * 1e9)
            }
            if let v = try value["budget"].seconds() {
                guard v > 0, v < 5 else { throw value["budget"].fail("must be below a stub resolver's 5 s timeout") }
                budgetNanoseconds = UInt64(v * 1e9)
            }
            if let v = try value["maxConcurrent"].int() {
                guard v >= 1 else { throw value["maxConcurrent"].fail("must be at least 1") }
                maxConcurrent = v
            }
        }
    }

    /// `HOST[:PORT]` at `item`, port 53 by default.
    static func upstream(_ item: YAMLField) throws(ConfigError) -> Upstream {
        let text = try item.requiredString()
        do { return try Upstream(parsing: text, field: item.path) } catch {
            throw item.fail("'\(text)' is not an IP address with an optional :port")
        }
    }

    /// Stub domains as the kube-dns ConfigMap writes them: a JSON object of suffix → server list.
    public static func stubDomains(json text: String, field: String) throws(ConfigError) -> [DomainName: [Upstream]] {
        let root = try YAMLField.document(text, file: nil).renamed(field)
        guard root.isMapping else { throw root.fail("must be a JSON object of domain to server list") }
        var section = ForwardConfig()
        try section.read("stubDomains", root)
        return section.stubDomains
    }

    /// Upstreams as the kube-dns ConfigMap writes them: a JSON list of servers.
    public static func upstreams(json text: String, field: String) throws(ConfigError) -> [Upstream] {
        let root = try YAMLField.document(text, file: nil).renamed(field)
        guard root.isSequence else { throw root.fail("must be a JSON list of servers") }
        return try root.items().map { item throws(ConfigError) in try upstream(item) }
    }

    /// The nameservers of ``upstreamResolvConf`` when no upstream is set.
    public func withResolvConfUpstreams() throws(ConfigError) -> ForwardConfig {
        guard upstreams.isEmpty else { return self }
        guard let data = FileManager.default.contents(atPath: upstreamResolvConf) else {
            throw ConfigError(field: "upstreamResolvConf", problem: "cannot read '\(upstreamResolvConf)' and no upstreams are configured")
        }
        var out = self
        out.upstreams = try Upstream.fromResolvConf(String(decoding: data, as: UTF8.self))
        return out
    }

    /// Problems in the file's values, naming the field.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for (suffix, servers) in stubDomains.sorted(by: { $0.key < $1.key }) where servers.isEmpty {
            issues.append(.init(field: "stubDomains.\(suffix.relativeDescription)", problem: "no upstreams"))
        }
        if tryTimeoutNanoseconds == 0 { issues.append(.init(field: "forward.timeout", problem: "must be positive")) }
        if maxConcurrent < 1 { issues.append(.init(field: "forward.maxConcurrent", problem: "must be at least 1")) }
        if budgetNanoseconds < tryTimeoutNanoseconds {
            issues.append(.init(field: "forward.budget", problem: "must be at least forward.timeout"))
        }
        if budgetNanoseconds >= 5_000_000_000 {
            issues.append(.init(field: "forward.budget", problem: "must be below 5 s, a stub resolver's timeout"))
        }
        if failuresBeforeDown < 1 { issues.append(.init(field: "failuresBeforeDown", problem: "must be at least 1")) }
        if probeIntervalNanoseconds == 0 { issues.append(.init(field: "probeInterval", problem: "must be positive")) }
        return issues
    }

    /// What the forwarder needs before it can serve: an upstream, and none that is one of fedns's own
    /// listen addresses.
    public func servingIssues() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if upstreams.isEmpty && stubDomains.isEmpty {
            issues.append(.init(field: "upstreams", problem: "at least one upstream is required"))
        }
        issues += Self.loops(upstreams, field: "upstreams", listen: listenAddresses)
        for (suffix, servers) in stubDomains.sorted(by: { $0.key < $1.key }) {
            issues += Self.loops(servers, field: "stubDomains.\(suffix.relativeDescription)", listen: listenAddresses)
        }
        return issues
    }

    static func loops(_ servers: [Upstream], field: String, listen: [Upstream]) -> [ConfigIssue] {
        let looping = servers.filter { s in listen.contains { s.wouldReach(listener: $0) } }
        guard looping.isEmpty else {
            let names = looping.map(\.description).joined(separator: ", ")
            return [.init(field: field, problem: "\(names) is one of fedns's own listen addresses (a forwarding loop)")]
        }
        return []
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

extension String {
    var trimmingASCIIWhitespace: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
