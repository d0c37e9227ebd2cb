import ClusterState

/// One resource a reflector lists and watches: its API path, its RBAC name, and a selector.
public struct KubeResource: Sendable, Equatable, CustomStringConvertible {
    public var kind: ObjectKind
    /// `/api/v1/services`, `/apis/discovery.k8s.io/v1/endpointslices`.
    public var path: String
    /// The plural name RBAC rules use (`endpointslices`).
    public var plural: String
    /// The API group; empty for the core group.
    public var group: String
    /// `fieldSelector`, e.g. `metadata.name=node-1`.
    public var fieldSelector: String?

    public init(kind: ObjectKind, fieldSelector: String? = nil) {
        self.kind = kind
        self.fieldSelector = fieldSelector
        switch kind {
        case .service: (path, plural, group) = ("/api/v1/services", "services", "")
        case .endpointSlice: (path, plural, group) = ("/apis/discovery.k8s.io/v1/endpointslices", "endpointslices", "discovery.k8s.io")
        case .namespace: (path, plural, group) = ("/api/v1/namespaces", "namespaces", "")
        case .node: (path, plural, group) = ("/api/v1/nodes", "nodes", "")
        case .pod: (path, plural, group) = ("/api/v1/pods", "pods", "")
        }
    }

    /// `endpointslices.discovery.k8s.io`, `services`: as RBAC errors and `kubectl auth can-i` name it.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The metric label: the plural name.
    public var label: String { plural }

    public var description: String { fieldSelector.map { "\(qualifiedName) (\($0))" } ?? qualifiedName }

    /// The query of a list page.
    public func listQuery(limit: Int, continueToken: String?) -> String {
        var items = ["limit=\(limit)"]
        if let continueToken { items.append("continue=\(Self.escape(continueToken))") }
        if let fieldSelector { items.append("fieldSelector=\(Self.escape(fieldSelector))") }
        return items.joined(separator: "&")
    }

    /// The query of a watch from `resourceVersion`.
    public func watchQuery(resourceVersion: String, timeoutSeconds: Int) -> String {
        var items = ["watch=1", "allowWatchBookmarks=true", "resourceVersion=\(Self.escape(resourceVersion))",
                     "timeoutSeconds=\(timeoutSeconds)"]
        if let fieldSelector { items.append("fieldSelector=\(Self.escape(fieldSelector))") }
        return items.joined(separator: "&")
    }

    /// What an operator must grant when `verb` is forbidden, for the log line. A missing endpointslices
    /// permission is the most common reason a cluster DNS server never becomes ready.
    public func forbiddenAdvice(verb: String) -> String {
        let scope = fieldSelector == nil ? "at the cluster scope" : "at the cluster scope (\(fieldSelector!))"
        let apiGroup = group.isEmpty ? "\"\"" : group
        return "cannot \(verb) \(qualifiedName) \(scope): grant list and watch on \(plural) (apiGroups: [\(apiGroup)]) in the ClusterRole bound to fedns's service account"
    }

    /// The resources to watch: Services, EndpointSlices and Namespaces always; the own Node when its name
    /// is known; Pods of the own node for the node-local search path, every Pod for `pods: verified`.
    public static func needed(nodeName: String?, ownNodePods: Bool, allPods: Bool) -> [KubeResource] {
        var out = [KubeResource(kind: .service), KubeResource(kind: .endpointSlice), KubeResource(kind: .namespace)]
        if let nodeName, !nodeName.isEmpty {
            out.append(KubeResource(kind: .node, fieldSelector: "metadata.name=\(nodeName)"))
        }
        if allPods {
            out.append(KubeResource(kind: .pod))
        } else if ownNodePods, let nodeName, !nodeName.isEmpty {
            out.append(KubeResource(kind: .pod, fieldSelector: "spec.nodeName=\(nodeName)"))
        }
        return out
    }

    /// Percent-encodes a query value (RFC 3986 unreserved characters pass).
    static func escape(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded
            }
        }
        return out
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
