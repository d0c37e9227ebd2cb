import ClusterState
import NameExpansion
import YAMLReader

/// Settings of the `search-path` handler (docs/behaviour.md, the search path): its `searchPath` key, `POD_NAMESPACE`, and
/// what the server passes from other owners: the cluster zone's parsed `clusterDomain` and `ttl`, and
/// the search line of the forwarder's resolv.conf.
public struct SearchPathConfig: ConfigSection {
    /// `searchPath.enabled`; nil means the mode's default: on in sidecar mode, off in node-local mode.
    public var enabled: Bool?
    /// `searchPath.namespace` (default from `POD_NAMESPACE`): the namespace of every client, as in a
    /// sidecar. When nil, ``podNamespace`` maps each client address to its pod's namespace.
    public var namespace: String?
    /// The cluster zone's `clusterDomain`.
    public var clusterDomain: DomainName
    /// The `search` line of the node's resolv.conf: kubelet appends it to every pod's search list.
    public var hostSearch: [DomainName]
    /// TTL of the CNAME a hit returns (the cluster zone's `ttl`).
    public var ttl: UInt32
    /// Node-local mode: the namespace of the pod with this client address, or nil when unknown.
    public var podNamespace: (@Sendable (String) -> String?)?

    public init(enabled: Bool? = nil, namespace: String? = nil, clusterDomain: DomainName = DomainName(labels: ["cluster", "local"]),
                hostSearch: [DomainName] = [], ttl: UInt32 = 5, podNamespace: (@Sendable (String) -> String?)? = nil) {
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

    public static let keys = ["searchPath"]

    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("searchPath.enabled", type: "boolean", default: "on in sidecar mode, off in node-local mode", valid: "`true`, `false`",
                     meaning: "walk a pod's search list on the server, answering a search-path query in one round trip",
                     example: "searchPath: {enabled: true}"),
        ConfigKeyDoc("searchPath.namespace", type: "string", default: "the `POD_NAMESPACE` environment variable; unset: each client address is mapped to its Pod's namespace",
                     valid: "an RFC 1123 label (a namespace name), lower-cased",
                     meaning: "the namespace of every client, as for a sidecar", example: "searchPath: {namespace: mynamespace}"),
    ]

    public mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        try value.mapping(known: Self.reference.keys(inside: "searchPath"))
        enabled = try value["enabled"].bool() ?? enabled
        namespace = try value["namespace"].string()?.asciiLowercased ?? namespace
    }

    /// Every problem in the settings; warnings do not stop the handler.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let namespace, !DomainName.isRFC1123Label(namespace) {
            issues.append(.init(field: "searchPath.namespace", problem: "'\(namespace)' is not an RFC 1123 label (a namespace name)"))
        }
        for domain in hostSearch where domain.isRoot || domain.wireLength > 255 {
            issues.append(.init(field: "searchPath.hostSearch", problem: "'\(domain)' cannot be a search domain", severity: .warning))
        }
        return issues
    }

    /// The typed settings, or the first error.
    func settings() throws(ConfigError) -> Settings {
        try validate().throwFirstError()
        return Settings(enabled: enabled ?? false, namespace: namespace?.asciiLowercased, clusterDomain: clusterDomain.lowercased,
                        hostSearch: hostSearch.filter { !$0.isRoot && $0.wireLength <= 255 }.map(\.lowercased),
                        ttl: ttl, podNamespace: podNamespace)
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
