import NameExpansion

/// One problem found in a handler's configuration; `field` names the setting (`ttl`,
/// `federations.myfederation`) so an operator can find it.
public struct HandlerConfigIssue: Equatable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var field: String
    public var problem: String
    public var severity: Severity

    public init(field: String, problem: String, severity: Severity = .error) {
        self.field = field; self.problem = problem; self.severity = severity
    }

    public var description: String { "\(severity): \(field): \(problem)" }
}

/// A configuration that cannot be used: every issue found, warnings included.
public struct HandlerConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var issues: [HandlerConfigIssue]
    public init(issues: [HandlerConfigIssue]) { self.issues = issues }
    public var errors: [HandlerConfigIssue] { issues.filter { $0.severity == .error } }
    public var description: String { issues.map(\.description).joined(separator: "; ") }
}

/// How `<a-b-c-d>.<ns>.pod.<cd>` is answered (Kubernetes DNS spec; CoreDNS `pods`).
public enum PodsMode: String, Sendable, CaseIterable {
    /// NXDOMAIN for every pod name.
    case disabled
    /// The dashed IP as A/AAAA whenever it parses, whether or not such a pod exists.
    case insecure
    /// The dashed IP only when a Pod with that IP exists in that namespace.
    case verified
}

/// Settings of the `cluster-zone` handler, as written in the configuration file.
public struct ClusterZoneConfig: Sendable, Equatable {
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
    public func validate() -> [HandlerConfigIssue] {
        var issues: [HandlerConfigIssue] = []
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

    /// The typed settings, or every issue when there is an error.
    func settings() throws(HandlerConfigError) -> Settings {
        let issues = validate()
        guard issues.allSatisfy({ $0.severity == .warning }),
              let domain = try? DomainName(clusterDomain),
              let pods = PodsMode(rawValue: pods.asciiLowercased) else { throw HandlerConfigError(issues: issues) }
        return Settings(clusterDomain: domain.lowercased, ttl: UInt32(ttl), pods: pods)
    }

    struct Settings: Sendable {
        var clusterDomain: DomainName
        var ttl: UInt32
        var pods: PodsMode
    }
}

/// Checks shared by the cluster-zone and federation configurations.
enum ConfigChecks {
    /// CoreDNS `kubernetes` accepts 0…3600.
    static let ttlRange = 0...3600

    static func ttlProblem(_ ttl: Int) -> String? {
        ttlRange.contains(ttl) ? nil : "\(ttl) is outside \(ttlRange.lowerBound)…\(ttlRange.upperBound) seconds"
    }

    /// Why `text` is not an RFC 1123 subdomain (a trailing dot is allowed), or nil.
    static func subdomainProblem(_ text: String) -> String? {
        guard let name = try? DomainName(text), !name.isRoot else { return "'\(text)' is not a domain name" }
        guard name.wireLength <= 255 else { return "'\(text)' is longer than 253 characters" }
        if let bad = name.labels.first(where: { !DomainName.isRFC1123Label($0) }) {
            return "label '\(bad)' of '\(text)' is not an RFC 1123 label (letters, digits, inner hyphens)"
        }
        return nil
    }
}
