import NameExpansion
import YAMLReader

/// How `<a-b-c-d>.<ns>.pod.<cd>` is answered (Kubernetes DNS spec; CoreDNS `pods`).
public enum PodsMode: String, Sendable, CaseIterable {
    /// NXDOMAIN for every pod name.
    case disabled
    /// The dashed IP as A/AAAA whenever it parses, whether or not such a pod exists.
    case insecure
    /// The dashed IP only when a Pod with that IP exists in that namespace.
    case verified
}

/// Settings of the `cluster-zone` handler, as written in the configuration file. It owns the
/// settings other handlers read too (`clusterDomain`, `ttl`): the server hands them the parsed
/// ``Settings``.
public struct ClusterZoneConfig: ConfigSection, Equatable {
    /// `clusterDomain`, default `cluster.local`.
    public var clusterDomain: String
    /// `ttl` in seconds for every record made from cluster state, default 5.
    public var ttl: Int
    /// `pods`: `disabled` (default), `insecure` or `verified`.
    public var pods: String

    public init(clusterDomain: String = "cluster.local", ttl: Int = 5, pods: String = PodsMode.disabled.rawValue) {
        self.clusterDomain = clusterDomain; self.ttl = ttl; self.pods = pods
    }

    /// Every problem in the settings; empty when the handler can be built.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let problem = ConfigChecks.subdomainProblem(clusterDomain) {
            issues.append(.init(field: "clusterDomain", problem: problem))
        }
        if let problem = ConfigChecks.ttlProblem(ttl) { issues.append(.init(field: "ttl", problem: problem)) }
        if PodsMode(rawValue: pods.asciiLowercased) == nil {
            let allowed = PodsMode.allCases.map(\.rawValue).joined(separator: ", ")
            issues.append(.init(field: "pods", problem: "'\(pods)' is not one of \(allowed)"))
        }
        return issues
    }

    public static let keys = ["clusterDomain", "ttl", "pods"]

    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("clusterDomain", type: "domain name", default: "`cluster.local`", valid: "an RFC 1123 subdomain",
                     meaning: "the cluster zone fedns serves from Kubernetes objects", example: "clusterDomain: cluster.local"),
        ConfigKeyDoc("ttl", type: "integer, seconds", default: "`5`", valid: "0…3600 (as CoreDNS `kubernetes`)",
                     meaning: "TTL of every record fedns makes from cluster state: cluster answers, federation CNAMEs, the SOA of negative answers",
                     example: "ttl: 5"),
        ConfigKeyDoc("pods", type: "string", default: "`disabled`", valid: "`disabled`, `insecure`, `verified`",
                     meaning: "pod A records `<a-b-c-d>.<ns>.pod.<cd>`: none (NXDOMAIN), any dashed IP, or only the IP of an existing Pod in that namespace",
                     example: "pods: verified"),
    ]

    public mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        switch key {
        case "clusterDomain": clusterDomain = try value.requiredString()
        case "ttl": ttl = try value.int() ?? ttl
        default: pods = try value.requiredString()
        }
    }

    /// The typed settings, or the first error.
    public func settings() throws(ConfigError) -> Settings {
        let issues = validate()
        try issues.throwFirstError()
        guard let domain = try? DomainName(clusterDomain), let pods = PodsMode(rawValue: pods.asciiLowercased) else {
            throw ConfigError(field: "clusterDomain", problem: "'\(clusterDomain)' is not a domain name")
        }
        return Settings(clusterDomain: domain.lowercased, ttl: UInt32(ttl), pods: pods)
    }

    /// The parsed settings; `clusterDomain` and `ttl` are passed to the handlers that read them too.
    public struct Settings: Sendable, Equatable {
        public var clusterDomain: DomainName
        public var ttl: UInt32
        public var pods: PodsMode
        public init(clusterDomain: DomainName = DomainName(labels: ["cluster", "local"]), ttl: UInt32 = 5, pods: PodsMode = .disabled) {
            self.clusterDomain = clusterDomain; self.ttl = ttl; self.pods = pods
        }
    }
}

