import Yams

/// A Kubernetes object that could not be read: kind, namespace/name and the offending field.
public struct ObjectError: Error, Equatable, Sendable, CustomStringConvertible {
    public var kind: String
    public var namespace: String?
    public var name: String?
    public var field: String
    public var problem: String
    public init(kind: String, namespace: String?, name: String?, field: String, problem: String) {
        self.kind = kind; self.namespace = namespace; self.name = name; self.field = field; self.problem = problem
    }
    public var description: String {
        let id = [namespace, name].compactMap { $0 }.joined(separator: "/")
        return "\(kind) \(id.isEmpty ? "<unnamed>" : id): \(field): \(problem)"
    }
}

/// Reads standard Kubernetes objects (multi-document YAML, JSON, or `kind: List`).
public enum ObjectLoader {
    public static func load(yaml text: String) throws(ObjectError) -> ClusterObjects {
        ClusterObjects()
    }
}
