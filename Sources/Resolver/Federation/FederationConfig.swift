import NameExpansion

/// Settings of the `federation` handler, as written in the configuration file (DESIGN §2).
public struct FederationConfig: Sendable, Equatable {
    /// `federations`: federation name → public domain (`myfederation: example.com`).
    public var federations: [String: String]
    /// `zonalNameFormat`: `zone` (default) or `zone-region`.
    public var zonalNameFormat: String
    /// `zone`: overrides the own node's `topology.kubernetes.io/zone` label when set.
    public var zone: String?
    /// `region`: overrides the own node's `topology.kubernetes.io/region` label when set.
    public var region: String?
    /// `clusterDomain`, default `cluster.local`.
    public var clusterDomain: String
    /// `ttl` of the records the rule makes (the CNAME; the SOA of its NXDOMAIN), default 5.
    public var ttl: Int

    public init(federations: [String: String], zonalNameFormat: String = ZonalNameFormat.zone.rawValue,
                zone: String? = nil, region: String? = nil, clusterDomain: String = "cluster.local", ttl: Int = 5) {
        self.federations = federations; self.zonalNameFormat = zonalNameFormat
        self.zone = zone; self.region = region; self.clusterDomain = clusterDomain; self.ttl = ttl
    }

    /// Every problem in the settings; warnings (a federation named like a TLD) do not stop the handler.
    public func validate() -> [HandlerConfigIssue] {
        var issues: [HandlerConfigIssue] = []
        for (name, domain) in federations.sorted(by: { $0.key < $1.key }) {
            for issue in FederationGrammar.validate(federation: name, domain: domain) {
                issues.append(.init(field: "federations.\(name)", problem: issue.description, severity: issue.isError ? .error : .warning))
            }
        }
        if federations.keys.map(\.asciiLowercased).count != Set(federations.keys.map(\.asciiLowercased)).count {
            issues.append(.init(field: "federations", problem: "two federations differ only in case"))
        }
        if ZonalNameFormat(rawValue: zonalNameFormat.asciiLowercased) == nil {
            let allowed = ZonalNameFormat.allCases.map(\.rawValue).joined(separator: ", ")
            issues.append(.init(field: "zonalNameFormat", problem: "'\(zonalNameFormat)' is not one of \(allowed)"))
        }
        for (field, value) in [("zone", zone), ("region", region)] {
            if let value, !value.isEmpty, !DomainName.isRFC1123Label(value) {
                issues.append(.init(field: field, problem: "'\(value)' is not an RFC 1123 label"))
            }
        }
        if let problem = ConfigChecks.subdomainProblem(clusterDomain) { issues.append(.init(field: "clusterDomain", problem: problem)) }
        if let problem = ConfigChecks.ttlProblem(ttl) { issues.append(.init(field: "ttl", problem: problem)) }
        return issues
    }

    /// The typed settings, or every issue when there is an error.
    func settings() throws(HandlerConfigError) -> Settings {
        let issues = validate()
        guard issues.allSatisfy({ $0.severity == .warning }),
              let clusterDomain = try? DomainName(clusterDomain),
              let format = ZonalNameFormat(rawValue: zonalNameFormat.asciiLowercased) else { throw HandlerConfigError(issues: issues) }
        var domains: [String: DomainName] = [:]
        for (name, domain) in federations {
            guard let parsed = try? DomainName(domain) else { throw HandlerConfigError(issues: issues) }
            domains[name.asciiLowercased] = parsed.lowercased
        }
        // An empty setting means "not set": the node's label applies.
        func explicit(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0.asciiLowercased } }
        return Settings(grammar: FederationGrammar(clusterDomain: clusterDomain, federations: domains), format: format,
                        zone: explicit(zone), region: explicit(region), ttl: UInt32(ttl))
    }

    struct Settings: Sendable {
        var grammar: FederationGrammar
        var format: ZonalNameFormat
        var zone: String?
        var region: String?
        var ttl: UInt32
    }
}
