import NameExpansion
import YAMLReader

/// Settings of the `federation` handler (docs/behaviour.md, the federation rule): its keys as written in the configuration file
/// (`federations`, `zonalNameFormat`, `zone`, `region`), and the cluster zone's parsed `clusterDomain`
/// and `ttl`, which the server passes from their owner (``ClusterZoneConfig``).
public struct FederationConfig: ConfigSection, Equatable {
    /// `federations`: federation name → public domain (`myfederation: example.com`).
    public var federations: [String: String]
    /// `zonalNameFormat`: `zone` (default) or `zone-region`.
    public var zonalNameFormat: String
    /// `zone`: overrides the own node's `topology.kubernetes.io/zone` label when set.
    public var zone: String?
    /// `region`: overrides the own node's `topology.kubernetes.io/region` label when set.
    public var region: String?
    /// The cluster zone's `clusterDomain`.
    public var clusterDomain: DomainName
    /// The cluster zone's `ttl`: of the records the rule makes (the CNAME; the SOA of its NXDOMAIN).
    public var ttl: UInt32

    public init(federations: [String: String] = [:], zonalNameFormat: String = ZonalNameFormat.zone.rawValue,
                zone: String? = nil, region: String? = nil,
                clusterDomain: DomainName = DomainName(labels: ["cluster", "local"]), ttl: UInt32 = 5) {
        self.federations = federations; self.zonalNameFormat = zonalNameFormat
        self.zone = zone; self.region = region; self.clusterDomain = clusterDomain; self.ttl = ttl
    }

    public static let keys = ["federations", "zonalNameFormat", "zone", "region"]

    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("federations", type: "mapping of name to domain", default: "`{}`",
                     valid: "names: RFC 1123 labels other than `svc` and `pod` (a TLD-like name such as `com` is accepted with a warning); domains: RFC 1123 subdomains",
                     meaning: "the federations whose names `<svc>.<ns>.<fed>` fedns answers, and the public domain of each",
                     example: "federations: {myfederation: example.com}"),
        ConfigKeyDoc("zonalNameFormat", type: "string", default: "`zone`", valid: "`zone`, `zone-region`",
                     meaning: "the CNAME target of an unhealthy local shard: `<prefix>.svc.<zone>.<domain>` or `<prefix>.svc.<zone>.<region>.<domain>` (kube-dns's form)",
                     example: "zonalNameFormat: zone-region"),
        ConfigKeyDoc("zone", type: "string", default: "the own Node's `topology.kubernetes.io/zone` label (else `failure-domain.beta.kubernetes.io/zone`)",
                     valid: "an RFC 1123 label, lower-cased; empty means the label",
                     meaning: "this node's zone, for zonal CNAME targets", example: "zone: us-central1-a"),
        ConfigKeyDoc("region", type: "string", default: "the own Node's `topology.kubernetes.io/region` label (else `failure-domain.beta.kubernetes.io/region`)",
                     valid: "an RFC 1123 label, lower-cased; empty means the label",
                     meaning: "this node's region, for regional CNAME targets", example: "region: us-central1"),
    ]

    public mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        switch key {
        case "federations":
            var map: [String: String] = [:]
            for (name, domain) in try value.entries() { map[name] = try domain.requiredString() }
            federations = map
        case "zonalNameFormat": zonalNameFormat = try value.requiredString()
        case "zone": zone = try value.string()?.asciiLowercased
        default: region = try value.string()?.asciiLowercased
        }
    }

    /// Every problem in the settings; warnings (a federation named like a TLD) do not stop the handler.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for (name, domain) in federations.sorted(by: { $0.key < $1.key }) {
            for issue in FederationGrammar.validate(federation: name, domain: domain) {
                issues.append(.init(field: "federations.\(name)", problem: issue.description, severity: issue.isError ? .error : .warning))
            }
            if (try? DomainName(domain)) == nil && !issues.contains(where: { $0.field == "federations.\(name)" && $0.severity == .error }) {
                issues.append(.init(field: "federations.\(name)", problem: "'\(domain)' is not a domain name"))
            }
        }
        if federations.keys.map(\.asciiLowercased).count != Set(federations.keys.map(\.asciiLowercased)).count {
            issues.append(.init(field: "federations", problem: "two federations differ only in case"))
        }
        if let problem = ConfigChecks.choiceProblem(zonalNameFormat, ZonalNameFormat.allCases.map(\.rawValue)) {
            issues.append(.init(field: "zonalNameFormat", problem: problem))
        }
        for (field, value) in [("zone", zone), ("region", region)] {
            if let value, !value.isEmpty, !DomainName.isRFC1123Label(value.asciiLowercased) {
                issues.append(.init(field: field, problem: "'\(value)' is not an RFC 1123 label"))
            }
        }
        return issues
    }

    /// The typed settings, or the first error.
    func settings() throws(ConfigError) -> Settings {
        try validate().throwFirstError()
        var domains: [String: DomainName] = [:]
        for (name, domain) in federations {
            guard let parsed = try? DomainName(domain) else {
                throw ConfigError(field: "federations.\(name)", problem: "'\(domain)' is not a domain name")
            }
            domains[name.asciiLowercased] = parsed.lowercased
        }
        let format = ZonalNameFormat(rawValue: zonalNameFormat.asciiLowercased) ?? .zone
        // An empty setting means "not set": the node's label applies.
        func explicit(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0.asciiLowercased } }
        return Settings(grammar: FederationGrammar(clusterDomain: clusterDomain.lowercased, federations: domains), format: format,
                        zone: explicit(zone), region: explicit(region), ttl: ttl)
    }

    struct Settings: Sendable {
        var grammar: FederationGrammar
        var format: ZonalNameFormat
        var zone: String?
        var region: String?
        var ttl: UInt32
    }
}
