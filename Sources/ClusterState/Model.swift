import NameExpansion

/// A Service's identity: namespace and name, lower-cased.
public struct ServiceKey: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public init(namespace: String, name: String) {
        self.namespace = namespace.asciiLowercased; self.name = name.asciiLowercased
    }
    public var description: String { "\(namespace)/\(name)" }
}

/// A named port of a Service or an EndpointSlice.
public struct PortSpec: Hashable, Sendable {
    /// The port's name, lower-cased; nil or empty when unnamed (no SRV record).
    public var name: String?
    /// `tcp`, `udp` or `sctp`, lower-cased.
    public var proto: String
    public var port: Int
    public init(name: String?, proto: String, port: Int) {
        self.name = name?.asciiLowercased; self.proto = proto.asciiLowercased; self.port = port
    }
}

/// The slim form of a v1 Service that DNS needs.
public struct Service: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `spec.clusterIPs` (dual-stack: one per family)
        case clusterIP([String])
        /// `clusterIP: None`
        case headless
        /// `type: ExternalName`
        case externalName(DomainName)
    }
    public var key: ServiceKey
    public var kind: Kind
    public var ports: [PortSpec]
    public var publishNotReadyAddresses: Bool
    /// The `fedns.io/federation` label: the federation this Service is a shard of (`fedns publish`).
    public var federation: String?
    /// `status.loadBalancer.ingress[].ip`, canonical, in order.
    public var loadBalancerIPs: [String]
    /// `status.loadBalancer.ingress[].hostname`, lower-cased, in order.
    public var loadBalancerHostnames: [DomainName]
    public init(key: ServiceKey, kind: Kind, ports: [PortSpec], publishNotReadyAddresses: Bool = false, federation: String? = nil,
                loadBalancerIPs: [String] = [], loadBalancerHostnames: [DomainName] = []) {
        self.key = key; self.kind = kind; self.ports = ports; self.publishNotReadyAddresses = publishNotReadyAddresses
        self.federation = federation; self.loadBalancerIPs = loadBalancerIPs; self.loadBalancerHostnames = loadBalancerHostnames
    }
}

/// An endpoint's addresses, in order: nearly always one, kept inline (an array per endpoint cost
/// 2.9 MB at 50,000 endpoints).
public struct EndpointAddresses: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    private var head: String?
    private var tail: [String]
    public init(_ addresses: [String]) {
        head = addresses.first; tail = addresses.count > 1 ? Array(addresses.dropFirst()) : []
    }
    public init(arrayLiteral addresses: String...) { self.init(addresses) }
    public var startIndex: Int { 0 }
    public var endIndex: Int { head == nil ? 0 : 1 + tail.count }
    public subscript(position: Int) -> String { position == 0 ? head! : tail[position - 1] }
}

/// One endpoint of an EndpointSlice.
public struct Endpoint: Hashable, Sendable {
    public var addresses: EndpointAddresses
    /// `hostname`, lower-cased, when set.
    public var hostname: String?
    /// `conditions.ready`: nil when absent (which counts as ready).
    public var ready: Bool?
    public var nodeName: String?
    public init(addresses: [String], hostname: String? = nil, ready: Bool? = true, nodeName: String? = nil) {
        self.addresses = EndpointAddresses(addresses); self.hostname = hostname?.asciiLowercased; self.ready = ready; self.nodeName = nodeName
    }
}

/// The slim form of a discovery.k8s.io/v1 EndpointSlice.
public struct EndpointSlice: Hashable, Sendable {
    public var name: String
    /// From the `kubernetes.io/service-name` label.
    public var service: ServiceKey
    /// `IPv4`, `IPv6` or `FQDN`.
    public var addressType: String
    public var endpoints: [Endpoint]
    public var ports: [PortSpec]
    public init(name: String, service: ServiceKey, addressType: String, endpoints: [Endpoint], ports: [PortSpec]) {
        self.name = name; self.service = service; self.addressType = addressType; self.endpoints = endpoints; self.ports = ports
    }
}

/// The slim form of a v1 Pod: for `pods: verified` and the node-local search path.
public struct Pod: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var ips: [String]
    public init(namespace: String, name: String, ips: [String]) {
        self.namespace = namespace.asciiLowercased; self.name = name; self.ips = ips
    }
}

/// The slim form of a v1 Node.
public struct Node: Hashable, Sendable {
    public var name: String
    /// `topology.kubernetes.io/zone`, else `failure-domain.beta.kubernetes.io/zone`, lower-cased.
    public var zone: String?
    /// `topology.kubernetes.io/region`, else `failure-domain.beta.kubernetes.io/region`, lower-cased.
    public var region: String?
    public init(name: String, zone: String?, region: String?) {
        self.name = name; self.zone = zone?.asciiLowercased; self.region = region?.asciiLowercased
    }
}

/// Everything a source read, before indexing.
public struct ClusterObjects: Sendable, Equatable {
    public var services: [Service] = []
    public var endpointSlices: [EndpointSlice] = []
    public var namespaces: [String] = []
    public var nodes: [Node] = []
    public var pods: [Pod] = []
    public init(services: [Service] = [], endpointSlices: [EndpointSlice] = [], namespaces: [String] = [],
                nodes: [Node] = [], pods: [Pod] = []) {
        self.services = services; self.endpointSlices = endpointSlices; self.namespaces = namespaces
        self.nodes = nodes; self.pods = pods
    }
}

/// A ready endpoint address with the ports it serves.
public struct ReadyAddress: Hashable, Sendable {
    public var address: String
    /// The endpoint's hostname, else nil (then its dashed IP names it).
    public var hostname: String?
    public var ports: [PortSpec]
    public init(address: String, hostname: String?, ports: [PortSpec]) {
        self.address = address; self.hostname = hostname; self.ports = ports
    }

    /// The label naming this endpoint under its Service, in forward answers and PTR targets alike:
    /// its hostname, else its dashed canonical IP (`10-1-2-3`, `fd00--1`).
    public var label: String {
        hostname ?? IPAddress.dashed(IPAddress.canonical(address) ?? address)
    }
}

/// What a reverse name points at: a Service (its ClusterIP) or one of its endpoints.
public struct ReverseEntry: Hashable, Sendable {
    public var service: ServiceKey
    /// The endpoint's hostname or dashed IP; nil for the ClusterIP itself.
    public var endpointHost: String?
    public init(service: ServiceKey, endpointHost: String?) {
        self.service = service; self.endpointHost = endpointHost
    }
}

/// An immutable, indexed view of the cluster (docs/architecture.md, cluster state).
///
/// A successor shares every index shard the change did not touch, and says which names its
/// install changed (``changes``), so pre-rendered answers of other names outlive it.
public final class ClusterSnapshot: Sendable {
    /// Increases with every installed snapshot; pre-rendered answers are keyed by it.
    public let generation: UInt64
    let indexes: ClusterIndexes
    /// What differs from the previous generation.
    public let changes: SnapshotChanges
    /// The changes of the last few generations, oldest first, ending with this one's.
    private let history: [(generation: UInt64, changes: SnapshotChanges)]
    /// How many generations back ``changes(since:)`` can tell; older ones count as everything.
    public static let historyLength = 32

    public var services: ShardedMap<ServiceKey, Service> { indexes.services }
    public var slicesByService: ShardedMap<ServiceKey, [EndpointSlice]> { indexes.slicesByService }
    /// Namespaces named by Namespace objects or by any Service, lower-cased.
    public var namespaces: Set<String> { indexes.namespaces }
    public var podsByIP: ShardedMap<String, Pod> { indexes.podsByIP }
    /// The own node, when known.
    public var node: Node? { indexes.node }
    /// The zone and the region every Node of the cluster carries; nil where Nodes differ, lack the label, or none is known.
    public var sharedTopology: (zone: String?, region: String?) {
        let all = indexes.nodes.values
        func shared(_ value: (Node) -> String?) -> String? {
            guard let first = all.first.flatMap(value), all.allSatisfy({ value($0) == first }) else { return nil }
            return first
        }
        return (shared(\.zone), shared(\.region))
    }
    /// An address → what it names, for PTR: ClusterIPs and published endpoint addresses.
    public var reverseIndex: ReverseIndex { indexes.reverse }

    /// Indexes `objects` from scratch, as a first install does.
    public convenience init(generation: UInt64, objects: ClusterObjects, nodeName: String?) {
        self.init(generation: generation, indexes: ClusterIndexes(objects: objects, nodeName: nodeName), changes: .everything,
                  after: nil)
    }

    init(generation: UInt64, indexes: ClusterIndexes, changes: SnapshotChanges, after previous: ClusterSnapshot?) {
        self.generation = generation
        self.indexes = indexes
        self.changes = changes
        var history = previous?.history ?? []
        if history.count >= Self.historyLength { history.removeFirst(history.count - Self.historyLength + 1) }
        history.append((generation, changes))
        self.history = history
    }

    /// What differs between generation `old` and this one: `everything` when `old` is too far back.
    public func changes(since old: UInt64) -> SnapshotChanges {
        guard old < generation else { return old == generation ? .nothing : .everything }
        guard let first = history.firstIndex(where: { $0.generation == old + 1 }) else { return .everything }
        var all = SnapshotChanges.nothing
        for entry in history[first...] {
            all = all.merged(with: entry.changes)
            if all == .everything { break }
        }
        return all
    }

    /// Whether any pod of `namespace` is known (`pods: verified`).
    public func hasPods(inNamespace namespace: String) -> Bool { indexes.podsPerNamespace[namespace] != nil }

    public func service(_ name: String, namespace: String) -> Service? {
        services[ServiceKey(namespace: namespace, name: name)]
    }

    /// The endpoint addresses DNS publishes for `service`: ready (`conditions.ready` true or absent),
    /// or all when the Service sets `publishNotReadyAddresses`. Deduplicated, in slice order.
    public func readyAddresses(of service: Service) -> [ReadyAddress] {
        // Computed when asked (a few per Service, and the answers are pre-rendered): kept for
        // every Service they cost 3 MB at 10,000 Services and 50,000 endpoints.
        Self.published(service, slices: indexes.slicesByService[service.key] ?? [])
    }

    /// The published addresses of `service` named `label` (`ReadyAddress.label`): one endpoint's
    /// addresses (both families of a dual-stack endpoint), or none.
    public func endpoint(_ label: String, of service: Service) -> [ReadyAddress] {
        readyAddresses(of: service).filter { $0.label == label }
    }

    static func published(_ service: Service, slices: [EndpointSlice]) -> [ReadyAddress] {
        let publishes = Publication(service)
        // Sized up front: grown by appends, the array kept up to twice the room (1.2 MB at 10,000 Services).
        var count = 0
        for slice in slices where publishes(slice) {
            for ep in slice.endpoints where publishes(ep) { count += ep.addresses.count }
        }
        guard count > 0 else { return [] }
        var out: [ReadyAddress] = []
        out.reserveCapacity(count)
        var seen = Set<String>(minimumCapacity: count)
        for slice in slices where publishes(slice) {
            for ep in slice.endpoints where publishes(ep) {
                for addr in ep.addresses where seen.insert(addr).inserted {
                    out.append(ReadyAddress(address: addr, hostname: ep.hostname, ports: slice.ports))
                }
            }
        }
        return out
    }

    /// The local shard of a federated service is healthy (docs/behaviour.md, federation rule 1).
    public func isHealthy(_ service: Service) -> Bool {
        if case .externalName = service.kind { return true }
        let publishes = Publication(service)
        return (indexes.slicesByService[service.key] ?? []).contains { slice in
            publishes(slice) && slice.endpoints.contains { publishes($0) && !$0.addresses.isEmpty }
        }
    }

    /// Which slices and endpoints of a Service DNS publishes.
    private struct Publication {
        let publishNotReady: Bool
        init(_ service: Service) { publishNotReady = service.publishNotReadyAddresses }
        func callAsFunction(_ slice: EndpointSlice) -> Bool { slice.addressType != "FQDN" }
        func callAsFunction(_ ep: Endpoint) -> Bool { publishNotReady || ep.ready != false }
    }
}
