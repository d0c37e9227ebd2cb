import ClusterState
import DNSWire
import NameExpansion
import Resolver
import Testing
import YAMLReader

/// The federation every case runs against: `myfederation` → `example.com`, own node in
/// `us-central1-a` / `us-central1`.
enum FederationWorld {
    static let clusterSOA = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
    static let publicSOA = "example.com. 300 IN SOA ns.example.com. admin.example.com. 1 7200 1800 86400 60"

    static func objects(sickReady: Bool = false, zone: String? = "us-central1-a", region: String? = "us-central1",
                        conflictingNamespace: Bool = false) throws -> ClusterObjects {
        let http = Fixture.port("http", 80)
        var objects = ClusterObjects(
            services: [
                Fixture.clusterIP("nginx", "mynamespace", ["10.0.0.20"], ports: [http]),
                Fixture.clusterIP("sick", "mynamespace", ["10.0.0.21"], ports: [http]),
                Fixture.clusterIP("noeps", "mynamespace", ["10.0.0.22"], ports: [http]),
                Fixture.headless("hl", "mynamespace", ports: [http]),
                Fixture.headless("pubnr", "mynamespace", ports: [http], publishNotReady: true),
                try Fixture.externalName("ext", "mynamespace", target: "www.example.com"),
            ],
            endpointSlices: [
                Fixture.slice("nginx", "mynamespace", [Fixture.endpoint("10.5.0.1")], ports: [http]),
                Fixture.slice("sick", "mynamespace", [Fixture.endpoint("10.5.0.2", ready: sickReady)], ports: [http]),
                Fixture.slice("hl", "mynamespace", [Fixture.endpoint("10.6.0.1", host: "hl-0"), Fixture.endpoint("10.6.0.2", ready: false)],
                              ports: [http]),
                Fixture.slice("pubnr", "mynamespace", [Fixture.endpoint("10.6.1.1", ready: false)], ports: [http]),
            ],
            namespaces: ["mynamespace"],
            nodes: [Node(name: "node-a", zone: zone, region: region)])
        if conflictingNamespace {
            // A namespace named like the federation: `nginx.mynamespace.myfederation.svc.<cd>` is also
            // endpoint `nginx` of headless service `mynamespace` in namespace `myfederation`.
            objects.namespaces.append("myfederation")
            objects.services.append(Fixture.headless("mynamespace", "myfederation", ports: [http]))
            objects.endpointSlices.append(Fixture.slice("mynamespace", "myfederation", [Fixture.endpoint("10.7.0.1", host: "nginx")]))
        }
        return objects
    }

    static let publicZone = """
        example.com. 300 IN SOA ns.example.com. admin.example.com. 1 7200 1800 86400 60
        www.example.com. 120 IN A 93.184.216.34
        sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
        sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN AAAA 2001:db8::7
        _http._tcp.sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN SRV 0 100 80 lb.example.com.
        noeps.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN CNAME noeps.mynamespace.myfederation.svc.us-central1.example.com.
        noeps.mynamespace.myfederation.svc.us-central1.example.com. 45 IN A 203.0.113.8
        sick.mynamespace.myfederation.svc.us-central1-a.us-central1.example.com. 60 IN A 203.0.113.9
        sick.mynamespace.myfederation.svc.us-central1.example.com. 60 IN A 203.0.113.10
        sick.mynamespace.myfederation.svc.example.com. 60 IN A 203.0.113.11
        sick.mynamespace.myfederation.svc.europe-west1-b.example.com. 60 IN A 203.0.113.12
        """

    struct Setup {
        let chain: Chain
        let box: SnapshotBox
        let upstream: ZoneUpstream
        let metrics: CountingMetrics
        let logs: LogRecords
    }

    static func setup(_ config: FederationConfig = FederationConfig(federations: ["myfederation": "example.com"]),
                      objects: ClusterObjects? = nil, synced: Bool = true, upstreamMode: ZoneUpstream.Mode = .answer,
                      zoneTTL: Int = 5) throws -> Setup {
        let box = synced ? SnapshotBox(try objects ?? Self.objects()) : SnapshotBox()
        let upstream = try ZoneUpstream(publicZone, mode: upstreamMode)
        let metrics = CountingMetrics()
        let logs = LogRecords()
        let federation = try FederationHandler(config: config, snapshot: box.provider, upstream: upstream, logger: logs.logger,
                                               metrics: FederationMetrics(factory: metrics))
        let zone = try ClusterZoneHandler(config: ClusterZoneConfig(ttl: zoneTTL), snapshot: box.provider, upstream: upstream)
        return Setup(chain: Chain(handlers: [federation, zone, UpstreamTail(upstream: upstream)]), box: box, upstream: upstream,
                     metrics: metrics, logs: logs)
    }
}

/// A federation table row: the DNS case and which federation answer it is.
struct FederationCase: Sendable, CustomTestStringConvertible {
    var c: DNSCase
    var result: FederationResult?
    init(_ c: DNSCase, _ result: FederationResult?) { self.c = c; self.result = result }
    var testDescription: String { c.testDescription }
}

@Suite struct FederationTests {
    static let clusterSOA = FederationWorld.clusterSOA
    static let publicSOA = FederationWorld.publicSOA

    static let cases: [FederationCase] = [
        // healthy local shard: the local answer under the queried name, both shapes
        .init(DNSCase(qname: "nginx.mynamespace.myfederation.svc.cluster.local.", qtype: .a,
                      answer: "nginx.mynamespace.myfederation.svc.cluster.local. 5 IN A 10.0.0.20"), .local),
        .init(DNSCase(qname: "nginx.mynamespace.myfederation.", qtype: .a, answer: "nginx.mynamespace.myfederation. 5 IN A 10.0.0.20"), .local),
        .init(DNSCase(qname: "nginx.mynamespace.myfederation.", qtype: .aaaa, authority: clusterSOA), .local),
        .init(DNSCase(qname: "nginx.mynamespace.myfederation.", qtype: .cname, authority: clusterSOA), .local),
        .init(DNSCase(qname: "_http._tcp.nginx.mynamespace.myfederation.", qtype: .srv,
                      answer: "_http._tcp.nginx.mynamespace.myfederation. 5 IN SRV 0 100 80 nginx.mynamespace.svc.cluster.local.",
                      additional: "nginx.mynamespace.svc.cluster.local. 5 IN A 10.0.0.20"), .local),
        .init(DNSCase(qname: "_http._tcp.nginx.mynamespace.myfederation.svc.cluster.local.", qtype: .srv,
                      answer: "_http._tcp.nginx.mynamespace.myfederation.svc.cluster.local. 5 IN SRV 0 100 80 nginx.mynamespace.svc.cluster.local.",
                      additional: "nginx.mynamespace.svc.cluster.local. 5 IN A 10.0.0.20"), .local),
        .init(DNSCase(qname: "hl.mynamespace.myfederation.", qtype: .a, answer: "hl.mynamespace.myfederation. 5 IN A 10.6.0.1"), .local),
        .init(DNSCase(qname: "_http._tcp.hl.mynamespace.myfederation.", qtype: .srv,
                      answer: "_http._tcp.hl.mynamespace.myfederation. 5 IN SRV 0 100 80 hl-0.hl.mynamespace.svc.cluster.local.",
                      additional: "hl-0.hl.mynamespace.svc.cluster.local. 5 IN A 10.6.0.1"), .local),
        .init(DNSCase(qname: "pubnr.mynamespace.myfederation.", qtype: .a, answer: "pubnr.mynamespace.myfederation. 5 IN A 10.6.1.1"), .local),
        .init(DNSCase(qname: "ext.mynamespace.myfederation.", qtype: .a, answer: """
            ext.mynamespace.myfederation. 5 IN CNAME www.example.com.
            www.example.com. 120 IN A 93.184.216.34
            """), .local),
        .init(DNSCase(qname: "_http._udp.nginx.mynamespace.myfederation.", qtype: .srv, rcode: .nxDomain, authority: clusterSOA), .local),
        // unhealthy: CNAME to the zonal name, chased with the same type, CNAMEs first
        .init(DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .a, answer: """
            sick.mynamespace.myfederation. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
            """), .zonal),
        .init(DNSCase(qname: "sick.mynamespace.myfederation.svc.cluster.local.", qtype: .aaaa, answer: """
            sick.mynamespace.myfederation.svc.cluster.local. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN AAAA 2001:db8::7
            """), .zonal),
        .init(DNSCase(qname: "_http._tcp.sick.mynamespace.myfederation.svc.cluster.local.", qtype: .srv, answer: """
            _http._tcp.sick.mynamespace.myfederation.svc.cluster.local. 5 IN CNAME _http._tcp.sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            _http._tcp.sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN SRV 0 100 80 lb.example.com.
            """), .zonal),
        .init(DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .cname,
                      answer: "sick.mynamespace.myfederation. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com."), .zonal),
        .init(DNSCase(qname: "noeps.mynamespace.myfederation.", qtype: .a, answer: """
            noeps.mynamespace.myfederation. 5 IN CNAME noeps.mynamespace.myfederation.svc.us-central1-a.example.com.
            noeps.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN CNAME noeps.mynamespace.myfederation.svc.us-central1.example.com.
            noeps.mynamespace.myfederation.svc.us-central1.example.com. 45 IN A 203.0.113.8
            """), .zonal),
        .init(DNSCase(qname: "missing.mynamespace.myfederation.", qtype: .a, rcode: .nxDomain,
                      answer: "missing.mynamespace.myfederation. 5 IN CNAME missing.mynamespace.myfederation.svc.us-central1-a.example.com.",
                      authority: publicSOA), .zonal),
        .init(DNSCase(qname: "sick.nosuchns.myfederation.", qtype: .a, rcode: .nxDomain,
                      answer: "sick.nosuchns.myfederation. 5 IN CNAME sick.nosuchns.myfederation.svc.us-central1-a.example.com.",
                      authority: publicSOA), .zonal),
        // other names under the federation label; names that are not federated
        .init(DNSCase(qname: "mynamespace.myfederation.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: clusterSOA), nil),
        .init(DNSCase(qname: "a.b.c.mynamespace.myfederation.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: clusterSOA), nil),
        .init(DNSCase(qname: "nginx.mynamespace.otherfed.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: clusterSOA), nil),
        .init(DNSCase(qname: "nginx.mynamespace.svc.cluster.local.", qtype: .a, answer: "nginx.mynamespace.svc.cluster.local. 5 IN A 10.0.0.20"), nil),
        .init(DNSCase(qname: "www.example.com.", qtype: .a, answer: "www.example.com. 120 IN A 93.184.216.34"), nil),
        // the queried case is kept on owners
        .init(DNSCase(qname: "Nginx.MyNamespace.MyFederation.", qtype: .a, answer: "nginx.mynamespace.myfederation. 5 IN A 10.0.0.20"), .local),
        .init(DNSCase(qname: "SICK.mynamespace.MyFederation.svc.Cluster.Local.", qtype: .a, answer: """
            sick.mynamespace.myfederation.svc.cluster.local. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
            """), .zonal),
    ]

    @Test("federated names", arguments: cases)
    func federated(_ fc: FederationCase) async throws {
        let setup = try FederationWorld.setup()
        let request = try query(fc.c.qname, fc.c.qtype)
        let response = await setup.chain.resolve(request)
        try check(response, fc.c, asked: request)
        #expect(response.federationResult == fc.result)
        if let result = fc.result {
            #expect(setup.metrics.value("fedns_federation_answers_total", [("result", result.rawValue)]) == 1)
        }
    }

    static let fallbacks: [(format: String, zone: String?, region: String?, configZone: String?, target: String, result: FederationResult)] = [
        ("zone", "us-central1-a", "us-central1", nil, "sick.mynamespace.myfederation.svc.us-central1-a.example.com.", .zonal),
        ("zone-region", "us-central1-a", "us-central1", nil, "sick.mynamespace.myfederation.svc.us-central1-a.us-central1.example.com.", .zonal),
        ("zone", nil, "us-central1", nil, "sick.mynamespace.myfederation.svc.us-central1.example.com.", .regional),
        ("zone-region", "us-central1-a", nil, nil, "sick.mynamespace.myfederation.svc.example.com.", .global),
        ("zone-region", nil, "us-central1", nil, "sick.mynamespace.myfederation.svc.us-central1.example.com.", .regional),
        ("zone", nil, nil, nil, "sick.mynamespace.myfederation.svc.example.com.", .global),
        ("zone", "us-central1-a", "us-central1", "Europe-West1-B", "sick.mynamespace.myfederation.svc.europe-west1-b.example.com.", .zonal),
        ("zone", nil, nil, "europe-west1-b", "sick.mynamespace.myfederation.svc.europe-west1-b.example.com.", .zonal),
    ]

    @Test("zonal name formats and regional / global fallbacks", arguments: fallbacks)
    func targets(_ format: String, _ zone: String?, _ region: String?, _ configZone: String?, _ target: String,
                 _ result: FederationResult) async throws {
        let config = FederationConfig(federations: ["myfederation": "example.com"], zonalNameFormat: format, zone: configZone)
        let setup = try FederationWorld.setup(config, objects: try FederationWorld.objects(zone: zone, region: region))
        let request = try query("sick.mynamespace.myfederation.", .cname)
        let response = await setup.chain.resolve(request)
        try check(response, DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .cname,
                                    answer: "sick.mynamespace.myfederation. 5 IN CNAME \(target)"), asked: request)
        #expect(response.federationResult == result)
        let chased = await setup.chain.resolve(try query("sick.mynamespace.myfederation.", .a))
        #expect(chased.message.answer.count == 2, "the fallback target resolves upstream")
        #expect(setup.upstream.asked.last == Question(name: try name(target), type: .a))
    }

    @Test("before the first sync both shapes get SERVFAIL EDE 14")
    func notReady() async throws {
        let setup = try FederationWorld.setup(synced: false)
        for qname in ["nginx.mynamespace.myfederation.", "nginx.mynamespace.myfederation.svc.cluster.local.",
                      "_http._tcp.sick.mynamespace.myfederation.", "mynamespace.myfederation.svc.cluster.local."] {
            let request = try query(qname, .a)
            let response = await setup.chain.resolve(request)
            try check(response, DNSCase(qname: qname, qtype: .a, rcode: .servFail, ede: .notReady), asked: request)
            #expect(response.snapshotGeneration == nil)
        }
        #expect(setup.upstream.asked.isEmpty)
    }

    @Test("a failed chase is SERVFAIL with the upstream's EDE (22, 23) or 22; a stale answer passes EDE 3 through",
          arguments: [(ZoneUpstream.Mode.fail(.servFail, .networkError), RCode.servFail, EDECode.networkError),
                      (.fail(.servFail, .noReachableAuthority), .servFail, .noReachableAuthority),
                      (.fail(.servFail, nil), .servFail, .noReachableAuthority),
                      (.stale, .noError, .staleAnswer)])
    func chaseFailure(_ mode: ZoneUpstream.Mode, _ rcode: RCode, _ ede: EDECode) async throws {
        let setup = try FederationWorld.setup(upstreamMode: mode)
        let request = try query("sick.mynamespace.myfederation.", .a)
        let response = await setup.chain.resolve(request)
        let answer = rcode == .noError ? """
            sick.mynamespace.myfederation. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
            """ : ""
        try check(response, DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .a, rcode: rcode, answer: answer, ede: ede), asked: request)
        #expect(response.federationResult == .zonal)
    }

    @Test("made records carry the cluster TTL, chased ones keep theirs")
    func ttls() async throws {
        let config = FederationConfig(federations: ["myfederation": "example.com"], ttl: 30)
        let setup = try FederationWorld.setup(config, zoneTTL: 30)
        let sick = try query("sick.mynamespace.myfederation.", .a)
        try check(await setup.chain.resolve(sick), DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .a, answer: """
            sick.mynamespace.myfederation. 30 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
            """), asked: sick)
        let nginx = try query("nginx.mynamespace.myfederation.", .a)
        try check(await setup.chain.resolve(nginx), DNSCase(qname: "nginx.mynamespace.myfederation.", qtype: .a,
                                                             answer: "nginx.mynamespace.myfederation. 30 IN A 10.0.0.20"), asked: nginx)
    }

    @Test("a readiness change is visible to the first query after the new snapshot")
    func readinessFlip() async throws {
        let setup = try FederationWorld.setup()
        let request = try query("sick.mynamespace.myfederation.", .a)
        let local = DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .a, answer: "sick.mynamespace.myfederation. 5 IN A 10.0.0.21")
        let remote = DNSCase(qname: "sick.mynamespace.myfederation.", qtype: .a, answer: """
            sick.mynamespace.myfederation. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
            """)
        try check(await setup.chain.resolve(request), remote, asked: request)
        setup.box.install(try FederationWorld.objects(sickReady: true))
        let healthy = await setup.chain.resolve(request)
        try check(healthy, local, asked: request)
        #expect(healthy.federationResult == .local)
        #expect(healthy.snapshotGeneration == 2, "the local answer is pre-renderable for this generation only")
        setup.box.install(try FederationWorld.objects(sickReady: false))
        let sickAgain = await setup.chain.resolve(request)
        try check(sickAgain, remote, asked: request)
        #expect(sickAgain.snapshotGeneration == nil, "a chased answer is not pre-rendered")
    }

    @Test("CNAME-type and local answers are pre-renderable; chased answers are not")
    func snapshotGeneration() async throws {
        let setup = try FederationWorld.setup()
        for (qname, type, pre) in [("sick.mynamespace.myfederation.", RRType.cname, true), ("nginx.mynamespace.myfederation.", .a, true),
                                   ("nginx.mynamespace.myfederation.", .aaaa, true), ("mynamespace.myfederation.svc.cluster.local.", .a, true),
                                   ("sick.mynamespace.myfederation.", .a, false), ("ext.mynamespace.myfederation.", .a, false)] {
            let response = await setup.chain.resolve(try query(qname, type))
            #expect(response.snapshotGeneration == (pre ? 1 : nil), "\(qname) \(type)")
        }
    }

    @Test("a namespace named like the federation: cluster reading first, federation on NXDOMAIN, conflict logged once and counted")
    func namespaceConflict() async throws {
        let setup = try FederationWorld.setup(objects: try FederationWorld.objects(conflictingNamespace: true))
        let endpoint = DNSCase(qname: "nginx.mynamespace.myfederation.svc.cluster.local.", qtype: .a,
                               answer: "nginx.mynamespace.myfederation.svc.cluster.local. 5 IN A 10.7.0.1")
        for _ in 0..<2 {
            let request = try query(endpoint.qname, endpoint.qtype)
            let response = await setup.chain.resolve(request)
            try check(response, endpoint, asked: request)
            #expect(response.federationResult == nil, "the cluster reading won")
        }
        let sick = try query("sick.mynamespace.myfederation.svc.cluster.local.", .a)
        let federated = await setup.chain.resolve(sick)
        try check(federated, DNSCase(qname: "sick.mynamespace.myfederation.svc.cluster.local.", qtype: .a, answer: """
            sick.mynamespace.myfederation.svc.cluster.local. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
            sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
            """), asked: sick)
        #expect(federated.federationResult == .zonal)
        // `<svc>.<fed>.svc.<cd>` is now a Service of that namespace, not NXDOMAIN
        let service = try query("mynamespace.myfederation.svc.cluster.local.", .a)
        try check(await setup.chain.resolve(service), DNSCase(qname: "mynamespace.myfederation.svc.cluster.local.", qtype: .a,
                                                             answer: "mynamespace.myfederation.svc.cluster.local. 5 IN A 10.7.0.1"), asked: service)
        // SRV-shaped names have no cluster reading, so no conflict
        let srv = try query("_http._tcp.sick.mynamespace.myfederation.svc.cluster.local.", .srv)
        #expect(await setup.chain.resolve(srv).federationResult == .zonal)
        // the bare shape is never ambiguous
        let bare = try query("nginx.mynamespace.myfederation.", .a)
        #expect(await setup.chain.resolve(bare).federationResult == .local)

        #expect(setup.metrics.value("fedns_federation_conflicts_total") == 3)
        let logged = setup.logs.all.filter { $0.metadata["federation.name"] == "myfederation" }
        #expect(logged.map { $0.metadata["dns.qname"] } == ["nginx.mynamespace.myfederation.svc.cluster.local.",
                                                             "sick.mynamespace.myfederation.svc.cluster.local."])
        #expect(logged.allSatisfy { $0.level <= .info })
    }

    @Test("a namespace named like the federation with a ClusterIP Service: its endpoint names are the cluster reading too")
    func namespaceConflictClusterIP() async throws {
        var objects = try FederationWorld.objects()
        objects.namespaces.append("myfederation")
        objects.services.append(Fixture.clusterIP("mynamespace", "myfederation", ["10.0.7.1"], ports: [Fixture.port("http", 80)]))
        objects.endpointSlices.append(Fixture.slice("mynamespace", "myfederation", [Fixture.endpoint("10.7.0.1", host: "nginx")]))
        let setup = try FederationWorld.setup(objects: objects)
        let endpoint = DNSCase(qname: "nginx.mynamespace.myfederation.svc.cluster.local.", qtype: .a,
                               answer: "nginx.mynamespace.myfederation.svc.cluster.local. 5 IN A 10.7.0.1")
        let request = try query(endpoint.qname, endpoint.qtype)
        let response = await setup.chain.resolve(request)
        try check(response, endpoint, asked: request)
        #expect(response.federationResult == nil, "the cluster reading won, as the endpoint's PTR says")
        let ptr = DNSCase(qname: "1.0.7.10.in-addr.arpa.", qtype: .ptr,
                          answer: "1.0.7.10.in-addr.arpa. 5 IN PTR nginx.mynamespace.myfederation.svc.cluster.local.")
        let ptrRequest = try query(ptr.qname, ptr.qtype)
        try check(await setup.chain.resolve(ptrRequest), ptr, asked: ptrRequest)
        // A name that is no endpoint there is still federated.
        let sick = try query("sick.mynamespace.myfederation.svc.cluster.local.", .a)
        #expect(await setup.chain.resolve(sick).federationResult == .zonal)
    }

    @Test("the federation answers are counted by result")
    func metrics() async throws {
        let setup = try FederationWorld.setup(objects: try FederationWorld.objects(zone: nil))
        for qname in ["nginx.mynamespace.myfederation.", "hl.mynamespace.myfederation.", "sick.mynamespace.myfederation."] {
            _ = await setup.chain.resolve(try query(qname, .a))
        }
        #expect(setup.metrics.value("fedns_federation_answers_total", [("result", "local")]) == 2)
        #expect(setup.metrics.value("fedns_federation_answers_total", [("result", "regional")]) == 1)
        #expect(setup.metrics.value("fedns_federation_answers_total", [("result", "zonal")]) == 0)
    }

    @Test("configuration is validated naming the field", arguments: [
        (FederationConfig(federations: ["my_fed": "example.com"]), ["federations.my_fed"]),
        (FederationConfig(federations: ["svc": "example.com"]), ["federations.svc"]),
        (FederationConfig(federations: ["POD": "example.com"]), ["federations.POD"]),
        (FederationConfig(federations: ["fed": "not a domain"]), ["federations.fed"]),
        (FederationConfig(federations: ["fed": "-bad.example.com"]), ["federations.fed"]),
        (FederationConfig(federations: ["fed": "example.com"], zonalNameFormat: "region"), ["zonalNameFormat"]),
        (FederationConfig(federations: ["fed": "example.com"], zone: "us_central1"), ["zone"]),
        (FederationConfig(federations: ["fed": "example.com"], region: "a.b"), ["region"]),
    ])
    func invalidConfig(_ config: FederationConfig, _ fields: [String]) throws {
        let issues = config.validate()
        #expect(issues.map(\.field) == fields)
        #expect(issues.allSatisfy { $0.severity == .error })
        #expect(throws: ConfigError.self) {
            try FederationHandler(config: config, snapshot: { nil }, upstream: try ZoneUpstream())
        }
    }

    @Test("a federation named like a TLD is accepted with a warning", arguments: ["com", "local", "internal", "de"])
    func tldWarning(_ federation: String) async throws {
        let config = FederationConfig(federations: [federation: "example.com"])
        let issues = config.validate()
        #expect(issues.map(\.field) == ["federations.\(federation)"])
        #expect(issues.map(\.severity) == [.warning])
        _ = try FederationHandler(config: config, snapshot: { nil }, upstream: try ZoneUpstream())
    }

    @Test("valid settings, mixed case included, raise nothing")
    func validConfig() {
        #expect(FederationConfig(federations: ["MyFederation": "Example.COM.", "other": "fed.example.org"],
                                 zonalNameFormat: "zone-region", zone: "us-central1-a", region: "").validate().isEmpty)
    }
}
