import ClusterState
import DNSWire
import NameExpansion
@testable import Publisher

/// A member cluster's state file: `nginx` in `mynamespace`, federated, of type LoadBalancer, with
/// `ready` endpoints and the load-balancer address `lb` (none when nil).
func clusterYAML(ready: Int, lb: String?, federated: Bool = true, service: String = "nginx") -> String {
    let endpoints = ready == 0 ? "endpoints: []" : "endpoints:\n" + (0..<ready).map { i in
        "  - addresses: [\"10.0.1.\(i + 1)\"]\n    conditions: {ready: true}"
    }.joined(separator: "\n")
    return """
        apiVersion: v1
        kind: Service
        metadata:
          name: \(service)
          namespace: mynamespace
          labels: {\(federated ? "fedns.io/federation: myfederation" : "app: web")}
        spec: {type: LoadBalancer, clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
        status: {loadBalancer: {ingress: [\(lb.map { "{ip: \($0)}" } ?? "")]}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: \(service)-abc
          namespace: mynamespace
          labels: {kubernetes.io/service-name: \(service)}
        addressType: IPv4
        \(endpoints)

        """
}

func member(_ name: String, zone: String, region: String, ready: Int, lb: String?, readable: Bool = true) throws -> MemberCluster {
    let objects = try ObjectLoader.load(yaml: clusterYAML(ready: ready, lb: lb))
    return MemberCluster(name: name, zone: zone, region: region, readable: readable,
                         snapshot: ClusterSnapshot(generation: 1, objects: objects, nodeName: nil))
}

/// The announcement's four clusters; `healthy` names those whose nginx has ready backends.
func announcement(healthy: Set<String>, unreadable: Set<String> = []) throws -> [MemberCluster] {
    let clusters: [(String, String, String, String)] = [
        ("gce-asia-east1", "asia-east1-a", "asia-east1", "198.51.100.10"),
        ("gce-europe-west1", "europe-west1-b", "europe-west1", "198.51.100.20"),
        ("gce-us-central1", "us-central1-a", "us-central1", "203.0.113.30"),
        ("gce-us-east1", "us-east1-b", "us-east1", "203.0.113.40"),
    ]
    return try clusters.map { name, zone, region, lb in
        try member(name, zone: zone, region: region, ready: healthy.contains(name) ? 2 : 0, lb: lb, readable: !unreadable.contains(name))
    }
}

let planner = RecordPlanner(federation: "myfederation", domain: try! DomainName("example.com"), format: .zone)
let nginx = ServiceKey(namespace: "mynamespace", name: "nginx")
let ownership = "heritage=fedns,owner=myfederation"

/// The records a plan stands for, as sorted zone-text lines (TTL 180), ownership records left out.
func zoneLines(_ records: ServiceRecords, ttl: UInt32 = 180) -> [String] {
    let diff = ZoneDiff(planner: planner, ttl: ttl, ownershipText: ownership)
    return records.names.flatMap { name, content in diff.records(at: name)(content) }.map(\.zoneText).map(normalised).sorted()
}

/// Zone text with runs of blanks as one space, so expectations can be written by hand.
func normalised(_ line: String) -> String {
    line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
}

func lines(_ text: String) -> [String] {
    text.split(separator: "\n").map { normalised(String($0)) }.filter { !$0.isEmpty }.sorted()
}
