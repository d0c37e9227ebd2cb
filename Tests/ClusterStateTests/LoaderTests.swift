import ClusterState
import NameExpansion
import Testing

@Suite struct LoaderTests {
    let result: LoadResult
    var objects: ClusterObjects { result.objects }

    init() throws { result = try ObjectLoader.read(yaml: kubectlList) }

    func service(_ ns: String, _ name: String) -> Service? {
        objects.services.first { $0.key == ServiceKey(namespace: ns, name: name) }
    }

    @Test func servicesOfEveryKind() throws {
        #expect(objects.services.count == 5)
        let nginx = try #require(service("mynamespace", "nginx"))
        #expect(nginx.kind == .clusterIP(["10.96.0.20", "fd00:10:96::20"]))
        #expect(nginx.ports == [PortSpec(name: "http", proto: "tcp", port: 80), PortSpec(name: "dns", proto: "udp", port: 53)])
        #expect(nginx.publishNotReadyAddresses == false)

        // namespace lower-cased; protocol defaults to TCP
        let db = try #require(service("mynamespace", "db"))
        #expect(db.kind == .headless)
        #expect(db.publishNotReadyAddresses)
        #expect(db.ports == [PortSpec(name: "postgres", proto: "tcp", port: 5432)])

        let search = try #require(service("mynamespace", "search"))
        #expect(search.kind == .externalName(try DomainName("search.example.com")))

        #expect(service("default", "web")?.kind == .clusterIP(["10.96.5.5"]))
        #expect(service("default", "web")?.ports == [PortSpec(name: nil, proto: "tcp", port: 8080)])
        // clusterIP and clusterIPs[0] spelled differently but equal; stored in RFC 5952 form
        #expect(service("default", "lb")?.kind == .clusterIP(["fd00:10:96::99"]))
    }

    @Test func endpointSlices() throws {
        #expect(objects.endpointSlices.count == 3)
        let v4 = try #require(objects.endpointSlices.first { $0.name == "nginx-x7k2p" })
        #expect(v4.service == ServiceKey(namespace: "mynamespace", name: "nginx"))
        #expect(v4.addressType == "IPv4")
        #expect(v4.endpoints == [
            Endpoint(addresses: ["10.244.1.5"], hostname: nil, ready: true, nodeName: "node-a"),
            Endpoint(addresses: ["10.244.2.6"], hostname: nil, ready: false, nodeName: "node-b"),
            Endpoint(addresses: ["10.244.3.7"], hostname: "nginx-2", ready: nil, nodeName: nil),
        ])
        #expect(v4.ports == [PortSpec(name: "http", proto: "tcp", port: 8080), PortSpec(name: "dns", proto: "udp", port: 53)])

        let v6 = try #require(objects.endpointSlices.first { $0.name == "nginx-v6abc" })
        #expect(v6.endpoints.map(\.addresses) == [["fd00:10:244:1::5"]])
        #expect(v6.ports == [PortSpec(name: "http", proto: "tcp", port: 8080)])

        let empty = try #require(objects.endpointSlices.first { $0.name == "web-empty" })
        #expect(empty.endpoints.isEmpty && empty.ports.isEmpty)
    }

    @Test func nodesNamespacesPods() {
        // topology.kubernetes.io wins over the legacy label; the legacy one is the fallback
        #expect(objects.nodes == [
            Node(name: "node-a", zone: "us-central1-a", region: "us-central1"),
            Node(name: "node-b", zone: "europe-west1-b", region: "europe-west1"),
        ])
        #expect(objects.namespaces == ["default", "empty-ns"])
        // host-network and finished pods do not own their IPs
        #expect(objects.pods == [Pod(namespace: "mynamespace", name: "nginx-7c5ddbdf54-2xkqz", ips: ["10.244.1.5", "fd00:10:244:1::5"])])
    }

    @Test func otherKindsAreWarnings() {
        #expect(result.warnings == ["ignored 1 Endpoints (v1)"])
    }

    @Test func snapshotOfTheOwnNode() {
        let snapshot = ClusterSnapshot(generation: 1, objects: objects, nodeName: "node-b")
        #expect(snapshot.node == Node(name: "node-b", zone: "europe-west1-b", region: "europe-west1"))
        #expect(snapshot.namespaces == ["default", "empty-ns", "mynamespace"])
        #expect(snapshot.podsByIP["fd00:10:244:1::5"]?.name == "nginx-7c5ddbdf54-2xkqz")
        #expect(ClusterSnapshot(generation: 1, objects: objects, nodeName: "node-z").node == nil)
    }

    @Test func multiDocumentYAMLReadsLikeTheList() throws {
        let docs = try ObjectLoader.read(yaml: multiDocument)
        #expect(docs.warnings.isEmpty)
        #expect(docs.objects.services == [try #require(service("mynamespace", "nginx"))])
        #expect(docs.objects.endpointSlices == objects.endpointSlices.filter { $0.name == "nginx-x7k2p" })
    }

    @Test func typedListAsJSON() throws {
        let list = try ObjectLoader.load(yaml: serviceListJSON)
        #expect(list.services == [
            Service(key: ServiceKey(namespace: "mynamespace", name: "nginx"), kind: .clusterIP(["10.96.0.20"]),
                    ports: [PortSpec(name: "http", proto: "tcp", port: 80)]),
            Service(key: ServiceKey(namespace: "mynamespace", name: "api"), kind: .headless,
                    ports: [PortSpec(name: nil, proto: "tcp", port: 443)]),
        ])
    }

    @Test func emptyInputIsAnEmptyCluster() throws {
        #expect(try ObjectLoader.load(yaml: "") == ClusterObjects())
        #expect(try ObjectLoader.load(yaml: "---\n# nothing\n---\n") == ClusterObjects())
        #expect(try ObjectLoader.load(yaml: "apiVersion: v1\nkind: List\nitems: []\n") == ClusterObjects())
    }

    @Test func namespaceDefaultsToDefault() throws {
        let objects = try ObjectLoader.load(yaml: """
            kind: Service
            metadata: {name: x}
            spec: {clusterIP: 10.0.0.1}
            """)
        #expect(objects.services.map(\.key) == [ServiceKey(namespace: "default", name: "x")])
    }

    @Test func otherAPIGroupsWithTheSameKindAreIgnored() throws {
        let result = try ObjectLoader.read(yaml: """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: {name: hello, namespace: default}
            spec: {template: {spec: {containers: [{image: hello}]}}}
            """)
        #expect(result.objects == ClusterObjects())
        #expect(result.warnings == ["ignored 1 Service (serving.knative.dev/v1)"])
    }
}
