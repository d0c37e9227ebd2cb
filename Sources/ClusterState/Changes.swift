/// The kinds of object a source delivers (docs/architecture.md, cluster state).
public enum ObjectKind: String, Sendable, CaseIterable, Hashable {
    case service, endpointSlice, namespace, node, pod
}

/// Which object a change is about. Cluster-scoped kinds (Namespace, Node) have an empty namespace.
public struct ObjectRef: Hashable, Sendable, CustomStringConvertible {
    public var kind: ObjectKind
    public var namespace: String
    public var name: String
    public init(kind: ObjectKind, namespace: String, name: String) {
        self.kind = kind; self.namespace = namespace; self.name = name
    }
    public var description: String { namespace.isEmpty ? "\(kind.rawValue) \(name)" : "\(kind.rawValue) \(namespace)/\(name)" }
}

/// One decoded object, of any kind a snapshot holds.
public enum ClusterObject: Sendable, Hashable {
    case service(Service)
    case endpointSlice(EndpointSlice)
    case namespace(String)
    case node(Node)
    case pod(Pod)

    public var id: ObjectRef {
        switch self {
        case .service(let s): ObjectRef(kind: .service, namespace: s.key.namespace, name: s.key.name)
        case .endpointSlice(let e): ObjectRef(kind: .endpointSlice, namespace: e.service.namespace, name: e.name)
        case .namespace(let n): ObjectRef(kind: .namespace, namespace: "", name: n)
        case .node(let n): ObjectRef(kind: .node, namespace: "", name: n.name)
        case .pod(let p): ObjectRef(kind: .pod, namespace: p.namespace, name: p.name)
        }
    }
}

/// What a watch event does to the cluster: an object added or modified, or one deleted.
public enum ClusterChange: Sendable, Hashable {
    case upsert(ClusterObject)
    case delete(ObjectRef)
}

extension ClusterObjects {
    /// Every object, each with its identity.
    public var all: [ClusterObject] {
        services.map(ClusterObject.service) + endpointSlices.map(ClusterObject.endpointSlice)
            + namespaces.map(ClusterObject.namespace) + nodes.map(ClusterObject.node) + pods.map(ClusterObject.pod)
    }

    /// The objects after `changes`, applied in order (a later change to the same object wins).
    public func applying(_ changes: [ClusterChange]) -> ClusterObjects {
        var byID: [ObjectRef: ClusterObject] = [:]
        var order: [ObjectRef] = []
        for object in all where byID.updateValue(object, forKey: object.id) == nil { order.append(object.id) }
        for change in changes {
            switch change {
            case .upsert(let object):
                if byID.updateValue(object, forKey: object.id) == nil { order.append(object.id) }
            case .delete(let id):
                byID[id] = nil
            }
        }
        var out = ClusterObjects()
        for id in order {
            switch byID[id] {
            case .service(let s)?: out.services.append(s)
            case .endpointSlice(let e)?: out.endpointSlices.append(e)
            case .namespace(let n)?: out.namespaces.append(n)
            case .node(let n)?: out.nodes.append(n)
            case .pod(let p)?: out.pods.append(p)
            case nil: break
            }
        }
        return out
    }

    /// These objects with every object of `kind` replaced by `objects` (a list, or a relist after 410 Gone:
    /// what is not in the new list was deleted meanwhile).
    public func replacing(_ kind: ObjectKind, with objects: [ClusterObject]) -> ClusterObjects {
        var kept = self
        switch kind {
        case .service: kept.services = []
        case .endpointSlice: kept.endpointSlices = []
        case .namespace: kept.namespaces = []
        case .node: kept.nodes = []
        case .pod: kept.pods = []
        }
        return kept.applying(objects.filter { $0.id.kind == kind }.map(ClusterChange.upsert))
    }
}
