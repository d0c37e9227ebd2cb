import ClusterState
import NameExpansion
import Testing

/// A Service and its slices as YAML, and the addresses DNS must publish for it.
struct ReadinessCase: CustomTestStringConvertible, Sendable {
    var label: String
    var spec: String
    var slices: [String]
    var published: [String]
    var hostnames: [String?] = []
    var testDescription: String { label }

    var yaml: String {
        var docs = ["""
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            spec: \(spec)
            """]
        for (i, body) in slices.enumerated() {
            docs.append("""
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: web-\(i), namespace: shop, labels: {kubernetes.io/service-name: web}}
                ports: [{name: http, port: 8080}]
                \(body)
                """)
        }
        return docs.joined(separator: "\n---\n")
    }
}

let readinessCases: [ReadinessCase] = [
    ReadinessCase(label: "ready true, false and absent", spec: "{clusterIP: None}", slices: ["""
        addressType: IPv4
        endpoints:
        - {addresses: [10.0.0.1], conditions: {ready: true}}
        - {addresses: [10.0.0.2], conditions: {ready: false}}
        - {addresses: [10.0.0.3], conditions: {}}
        - {addresses: [10.0.0.4]}
        - {addresses: [10.0.0.5], conditions: {ready: null}}
        """], published: ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.5"]),
    ReadinessCase(label: "publishNotReadyAddresses publishes every endpoint",
                  spec: "{clusterIP: None, publishNotReadyAddresses: true}", slices: ["""
        addressType: IPv4
        endpoints:
        - {addresses: [10.0.0.1], conditions: {ready: false}}
        - {addresses: [10.0.0.2], conditions: {ready: true}}
        """], published: ["10.0.0.1", "10.0.0.2"]),
    ReadinessCase(label: "none ready", spec: "{clusterIP: 10.96.0.9}", slices: ["""
        addressType: IPv4
        endpoints:
        - {addresses: [10.0.0.1], conditions: {ready: false}}
        """], published: []),
    ReadinessCase(label: "no slices", spec: "{clusterIP: 10.96.0.9}", slices: [], published: []),
    ReadinessCase(label: "an empty slice", spec: "{clusterIP: 10.96.0.9}", slices: ["addressType: IPv4\nendpoints: null"], published: []),
    ReadinessCase(label: "several slices, both families, duplicates once", spec: "{clusterIP: None}", slices: ["""
        addressType: IPv4
        endpoints:
        - {addresses: [10.0.0.1], hostname: a}
        - {addresses: [10.0.0.2]}
        """, """
        addressType: IPv6
        endpoints:
        - {addresses: ['fd00::1'], hostname: a}
        """, """
        addressType: IPv4
        endpoints:
        - {addresses: [10.0.0.2], conditions: {ready: true}}
        - {addresses: [10.0.0.3], conditions: {ready: false}}
        """], published: ["10.0.0.1", "10.0.0.2", "fd00::1"], hostnames: ["a", nil, "a"]),
    ReadinessCase(label: "duplicate written differently is one address", spec: "{clusterIP: None}", slices: ["""
        addressType: IPv6
        endpoints:
        - {addresses: ['fd00:0:0::1']}
        - {addresses: ['FD00::1']}
        """], published: ["fd00::1"]),
    ReadinessCase(label: "FQDN slices publish nothing", spec: "{clusterIP: None}", slices: ["""
        addressType: FQDN
        endpoints:
        - {addresses: [db.example.com]}
        """], published: []),
]

@Test(arguments: readinessCases)
func readiness(_ c: ReadinessCase) throws {
    let snapshot = ClusterSnapshot(generation: 1, objects: try ObjectLoader.load(yaml: c.yaml), nodeName: nil)
    let web = try #require(snapshot.service("web", namespace: "shop"))
    let published = snapshot.readyAddresses(of: web)
    #expect(published.map(\.address) == c.published)
    if !c.hostnames.isEmpty { #expect(published.map(\.hostname) == c.hostnames) }
    #expect(published.allSatisfy { $0.ports == [PortSpec(name: "http", proto: "tcp", port: 8080)] })
    #expect(snapshot.isHealthy(web) == !c.published.isEmpty)
}

@Test func externalNameIsAlwaysHealthy() throws {
    let objects = try ObjectLoader.load(yaml: """
        kind: Service
        metadata: {name: ext, namespace: shop}
        spec: {type: ExternalName, externalName: db.example.com}
        """)
    let snapshot = ClusterSnapshot(generation: 1, objects: objects, nodeName: nil)
    #expect(snapshot.isHealthy(try #require(snapshot.service("EXT", namespace: "Shop"))))
}

@Test func reverseIndexHoldsClusterIPsAndPublishedEndpoints() throws {
    let snapshot = ClusterSnapshot(generation: 1, objects: try ObjectLoader.load(yaml: kubectlList), nodeName: nil)
    let nginx = ServiceKey(namespace: "mynamespace", name: "nginx")
    #expect(snapshot.reverseIndex["10.96.0.20"] == [ReverseEntry(service: nginx, endpointHost: nil)])
    #expect(snapshot.reverseIndex["fd00:10:96::20"] == [ReverseEntry(service: nginx, endpointHost: nil)])
    #expect(snapshot.reverseIndex["fd00:10:96::99"] == [ReverseEntry(service: ServiceKey(namespace: "default", name: "lb"), endpointHost: nil)])
    // ready endpoint: dashed IP; hostname wins when set; not-ready endpoints are absent
    #expect(snapshot.reverseIndex["10.244.1.5"] == [ReverseEntry(service: nginx, endpointHost: "10-244-1-5")])
    #expect(snapshot.reverseIndex["10.244.3.7"] == [ReverseEntry(service: nginx, endpointHost: "nginx-2")])
    #expect(snapshot.reverseIndex["fd00:10:244:1::5"] == [ReverseEntry(service: nginx, endpointHost: "fd00-10-244-1--5")])
    #expect(snapshot.reverseIndex["10.244.2.6"] == nil)
    #expect(snapshot.reverseIndex.count == 7)  // 4 ClusterIPs (web and lb too) + 3 ready endpoints
}
