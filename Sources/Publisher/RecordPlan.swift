import ClusterState
import NameExpansion

/// One member cluster as the planner sees it: where it is, whether it was read recently enough, and its
/// last snapshot (nil before its first load).
public struct MemberCluster: Sendable {
    public var name: String
    public var zone: String?
    public var region: String?
    /// Read within `clusterUnhealthyAfter`: its shards count; otherwise none of them is healthy.
    public var readable: Bool
    public var snapshot: ClusterSnapshot?
    public init(name: String, zone: String?, region: String?, readable: Bool, snapshot: ClusterSnapshot?) {
        self.name = name; self.zone = zone; self.region = region; self.readable = readable; self.snapshot = snapshot
    }
}

/// What one public name should hold.
public enum NameContent: Hashable, Sendable {
    /// A and AAAA sets of the healthy shards' load-balancer addresses (at least one address).
    case addresses(v4: Set<String>, v6: Set<String>)
    /// Up the hierarchy (zonal → regional → global), or a load balancer's only hostname.
    case alias(DomainName)
}

/// The public names of one federated service and what each should hold (docs/publishing.md, the records).
/// A managed name missing from `names` should not exist.
public struct ServiceRecords: Hashable, Sendable {
    public var service: ServiceKey
    public var names: [DomainName: NameContent]
}

/// The planner's pure half: member clusters in, the records every federated service should have out.
/// Names come from ``FederationGrammar/target(for:zone:region:format:)`` — the code the resolver builds its
/// CNAME targets with — so what is published is exactly what fedns points at.
public struct RecordPlanner: Sendable {
    public let federation: String
    public let domain: DomainName
    public let format: ZonalNameFormat
    let grammar: FederationGrammar

    public init(federation: String, domain: DomainName, format: ZonalNameFormat) {
        self.federation = federation.asciiLowercased; self.domain = domain.lowercased; self.format = format
        grammar = FederationGrammar(clusterDomain: try! DomainName("cluster.local"), federations: [self.federation: self.domain])
    }

    public func federatedName(_ service: ServiceKey) -> FederatedName {
        FederatedName(service: service.name, namespace: service.namespace, federation: federation, srv: nil, shape: .bare,
                      prefix: [service.name, service.namespace, federation])
    }

    /// The zonal name of `service` for a cluster at `zone`/`region`; nil when the format's labels are unknown.
    public func zonalName(_ service: ServiceKey, zone: String?, region: String?) -> DomainName? {
        let t = grammar.target(for: federatedName(service), zone: zone, region: region, format: format)
        return t.kind == .zonal ? t.name : nil
    }

    public func regionalName(_ service: ServiceKey, region: String?) -> DomainName? {
        let t = grammar.target(for: federatedName(service), zone: nil, region: region, format: format)
        return t.kind == .regional ? t.name : nil
    }

    public func globalName(_ service: ServiceKey) -> DomainName {
        grammar.target(for: federatedName(service), zone: nil, region: nil, format: format).name
    }

    /// The service a managed name belongs to: `<svc>.<ns>.<fed>.svc.…<domain>`; nil for any other name.
    public func service(owning name: DomainName) -> ServiceKey? {
        guard let labels = name.lowercased.labels(before: domain), labels.count >= 4, labels[2] == federation, labels[3] == "svc" else {
            return nil
        }
        return ServiceKey(namespace: labels[1], name: labels[0])
    }

    /// Shards of a service in one cluster: healthy when the cluster is readable, the Service has a ready
    /// endpoint and a load-balancer address.
    struct Shard {
        var cluster: MemberCluster
        var healthy: Bool
        var ips: [String]
        var hostnames: [DomainName]
    }

    /// Every service labelled `fedns.io/federation: <federation>` in any member cluster, with its records.
    public func plan(_ clusters: [MemberCluster]) -> [ServiceKey: ServiceRecords] {
        var shards: [ServiceKey: [Shard]] = [:]
        for cluster in clusters {
            guard let snapshot = cluster.snapshot else { continue }
            for (key, service) in snapshot.services where service.federation?.asciiLowercased == federation {
                let ready = !snapshot.readyAddresses(of: service).isEmpty
                let hasAddress = !service.loadBalancerIPs.isEmpty || !service.loadBalancerHostnames.isEmpty
                shards[key, default: []].append(Shard(cluster: cluster, healthy: cluster.readable && ready && hasAddress,
                                                      ips: service.loadBalancerIPs, hostnames: service.loadBalancerHostnames))
            }
        }
        var out: [ServiceKey: ServiceRecords] = [:]
        for (key, list) in shards { out[key] = records(key, shards: list, clusters: clusters) }
        return out
    }

    func records(_ key: ServiceKey, shards: [Shard], clusters: [MemberCluster]) -> ServiceRecords {
        var names: [DomainName: NameContent] = [:]
        let global = globalName(key)
        let healthy = shards.filter(\.healthy)
        if let content = Self.content(of: healthy) { names[global] = content }
        // Every zone and region holding a member cluster gets its name, whether or not the service runs there.
        for cluster in clusters {
            if let regional = regionalName(key, region: cluster.region), names[regional] == nil {
                let here = healthy.filter { $0.cluster.region == cluster.region }
                names[regional] = Self.content(of: here) ?? .alias(global)
            }
        }
        for cluster in clusters {
            guard let zonal = zonalName(key, zone: cluster.zone, region: cluster.region), names[zonal] == nil else { continue }
            let here = healthy.filter { $0.cluster.zone == cluster.zone && $0.cluster.region == cluster.region }
            let up = regionalName(key, region: cluster.region) ?? global
            names[zonal] = Self.content(of: here) ?? .alias(up)
        }
        return ServiceRecords(service: key, names: names)
    }

    /// The addresses of `shards`; a hostname only where it is the only address (then an alias to it).
    static func content(of shards: [Shard]) -> NameContent? {
        var v4 = Set<String>(), v6 = Set<String>()
        for shard in shards {
            for ip in shard.ips { if ip.contains(":") { v6.insert(ip) } else { v4.insert(ip) } }
        }
        if !v4.isEmpty || !v6.isEmpty { return .addresses(v4: v4, v6: v6) }
        let hostnames = Set(shards.flatMap(\.hostnames))
        if hostnames.count == 1 { return .alias(hostnames.first!) }
        return nil
    }
}
