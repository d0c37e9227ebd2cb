import ClusterState
import NameExpansion
import Synchronization

/// Builders for hand-made cluster objects (STYLE §5: fake at the data seam).
enum Fixture {
    static func port(_ name: String?, _ port: Int, _ proto: String = "tcp") -> PortSpec {
        PortSpec(name: name, proto: proto, port: port)
    }

    static func clusterIP(_ name: String, _ namespace: String, _ ips: [String], ports: [PortSpec] = []) -> Service {
        Service(key: ServiceKey(namespace: namespace, name: name), kind: .clusterIP(ips), ports: ports)
    }

    static func headless(_ name: String, _ namespace: String, ports: [PortSpec] = [], publishNotReady: Bool = false) -> Service {
        Service(key: ServiceKey(namespace: namespace, name: name), kind: .headless, ports: ports, publishNotReadyAddresses: publishNotReady)
    }

    static func externalName(_ name: String, _ namespace: String, target: String, ports: [PortSpec] = []) throws -> Service {
        Service(key: ServiceKey(namespace: namespace, name: name), kind: .externalName(try DomainName(target)), ports: ports)
    }

    /// An EndpointSlice of `service` in `namespace`; the address type follows the first address.
    static func slice(_ service: String, _ namespace: String, _ endpoints: [Endpoint], ports: [PortSpec] = [],
                      name: String? = nil) -> EndpointSlice {
        let v6 = endpoints.first?.addresses.first?.contains(":") ?? false
        return EndpointSlice(name: name ?? "\(service)-\(v6 ? "v6" : "v4")", service: ServiceKey(namespace: namespace, name: service),
                             addressType: v6 ? "IPv6" : "IPv4", endpoints: endpoints, ports: ports)
    }

    static func endpoint(_ address: String, host: String? = nil, ready: Bool? = true) -> Endpoint {
        Endpoint(addresses: [address], hostname: host, ready: ready)
    }
}

/// The installed snapshot, as the server holds it: nil before the first sync, then replaced whole.
final class SnapshotBox: Sendable {
    private let current = Mutex<ClusterSnapshot?>(nil)
    private let generation = Mutex<UInt64>(0)

    init() {}
    init(_ objects: ClusterObjects, nodeName: String? = "node-a") { install(objects, nodeName: nodeName) }

    /// Installs a new snapshot of `objects` with the next generation.
    func install(_ objects: ClusterObjects, nodeName: String? = "node-a") {
        let g = generation.withLock { $0 += 1; return $0 }
        current.withLock { $0 = ClusterSnapshot(generation: g, objects: objects, nodeName: nodeName) }
    }

    var snapshot: ClusterSnapshot? { current.withLock { $0 } }
    var provider: @Sendable () -> ClusterSnapshot? { { [self] in self.snapshot } }
}
