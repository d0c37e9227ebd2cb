import ClusterState
import NameExpansion

/// Settings of the `search-path` handler (DESIGN §3), as the server builds them from `searchPath`,
/// `POD_NAMESPACE`, `clusterDomain`, `ttl` and the node's resolv.conf.
public struct SearchPathConfig: Sendable {
    /// `searchPath.enabled`: on by default in sidecar mode, off in node-local mode.
    public var enabled: Bool
    /// `searchPath.namespace` (default from `POD_NAMESPACE`): the namespace of every client, as in a
    /// sidecar. When nil, ``podNamespace`` maps each client address to its pod's namespace.
    public var namespace: String?
    /// `clusterDomain`, default `cluster.local`.
    public var clusterDomain: String
    /// The `search` line of the node's resolv.conf: kubelet appends it to every pod's search list.
    public var hostSearch: [DomainName]
    /// TTL of the CNAME a hit returns (the cluster `ttl`, default 5).
    public var ttl: Int
    /// Node-local mode: the namespace of the pod with this client address, or nil when unknown.
    public var podNamespace: (@Sendable (String) -> String?)?

    public init(enabled: Bool, namespace: String? = nil, clusterDomain: String = "cluster.local", hostSearch: [DomainName] = [],
                ttl: Int = 5, podNamespace: (@Sendable (String) -> String?)? = nil) {
        self.enabled = enabled; self.namespace = namespace; self.clusterDomain = clusterDomain
        self.hostSearch = hostSearch; self.ttl = ttl; self.podNamespace = podNamespace
    }

    /// A client-address → namespace lookup over the installed snapshot's pod index
    /// (`ClusterSnapshot.podsByIP`), for node-local mode.
    public static func podIndex(_ snapshot: @escaping @Sendable () -> ClusterSnapshot?) -> @Sendable (String) -> String? {
        { address in
            guard let pods = snapshot()?.podsByIP else { return nil }
            if let pod = pods[address] { return pod.namespace }
            // Pod IPs are stored as the API wrote them; a client address may be spelled differently.
            guard let canonical = IPAddress.canonical(address), canonical != address else { return nil }
            return pods[canonical]?.namespace
        }
    }

    /// Every problem in the settings; warnings do not stop the handler.
    public func validate() -> [HandlerConfigIssue] {
        var issues: [HandlerConfigIssue] = []
        if let namespace, !DomainName.isRFC1123Label(namespace) {
            issues.append(.init(field: "searchPath.namespace", problem: "'\(namespace)' is not an RFC 1123 label (a namespace name)"))
        }
        if let problem = ConfigChecks.subdomainProblem(clusterDomain) { issues.append(.init(field: "clusterDomain", problem: problem)) }
        if let problem = ConfigChecks.ttlProblem(ttl) { issues.append(.init(field: "ttl", problem: problem)) }
        for domain in hostSearch where domain.isRoot || domain.wireLength > 255 {
            issues.append(.init(field: "searchPath.hostSearch", problem: "'\(domain)' cannot be a search domain", severity: .warning))
        }
        return issues
    }

    /// The typed settings, or every issue when there is an error.
    func settings() throws(HandlerConfigError) -> Settings {
        let issues = validate()
        guard issues.allSatisfy({ $0.severity == .warning }), let domain = try? DomainName(clusterDomain) else {
            throw HandlerConfigError(issues: issues)
        }
        return Settings(enabled: enabled, namespace: namespace?.asciiLowercased, clusterDomain: domain.lowercased,
                        hostSearch: hostSearch.filter { !$0.isRoot && $0.wireLength <= 255 }.map(\.lowercased),
                        ttl: UInt32(ttl), podNamespace: podNamespace)
    }

    struct Settings: Sendable {
        var enabled: Bool
        var namespace: String?
        var clusterDomain: DomainName
        var hostSearch: [DomainName]
        var ttl: UInt32
        var podNamespace: (@Sendable (String) -> String?)?
    }
}
