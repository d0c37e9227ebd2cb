import ClusterState
import Conformance
import DNSWire
import NameExpansion
import Resolver
import Testing
import YAMLReader

/// The cluster every cluster-zone case runs against.
enum ZoneWorld {
    static let soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"

    static func objects() throws -> ClusterObjects {
        let http = Fixture.port("http", 80)
        return ClusterObjects(
            services: [
                Fixture.clusterIP("nginx", "default", ["10.0.0.10", "fd00::10"],
                                  ports: [http, Fixture.port("dns", 53, "udp"), Fixture.port(nil, 8080)]),
                Fixture.clusterIP("v4only", "default", ["10.0.0.11"], ports: [http]),
                Fixture.headless("web", "default", ports: [http]),
                Fixture.headless("empty", "default", ports: [http]),
                Fixture.headless("pub", "default", ports: [http], publishNotReady: true),
                Fixture.headless("v6head", "default"),
                try Fixture.externalName("ext", "default", target: "www.example.com", ports: [http]),
                try Fixture.externalName("alias", "default", target: "alias.example.com"),
                try Fixture.externalName("gone", "default", target: "missing.example.com"),
                try Fixture.externalName("inner", "default", target: "nginx.default.svc.cluster.local"),
                try Fixture.externalName("loop", "default", target: "loop.default.svc.cluster.local"),
            ],
            endpointSlices: [
                Fixture.slice("web", "default", [
                    Fixture.endpoint("10.1.0.1", host: "web-0"),
                    Fixture.endpoint("10.1.0.2"),
                    Fixture.endpoint("10.1.0.3", ready: false),
                    Fixture.endpoint("10.1.0.4", ready: nil),
                ], ports: [http]),
                Fixture.slice("web", "default", [Fixture.endpoint("fd00:1::1", host: "web-0")], ports: [http]),
                Fixture.slice("empty", "default", [Fixture.endpoint("10.2.0.1", ready: false)], ports: [http]),
                Fixture.slice("pub", "default", [Fixture.endpoint("10.3.0.1", ready: false)], ports: [http]),
                Fixture.slice("v6head", "default", [Fixture.endpoint("fd00:2::1")]),
                // A ClusterIP service's endpoints have names too (PTR names them; forward queries must find them).
                Fixture.slice("nginx", "default", [
                    Fixture.endpoint("10.5.0.1", host: "nginx-a"),
                    Fixture.endpoint("10.5.0.2"),
                    Fixture.endpoint("10.5.0.3", ready: false),
                ], ports: [http]),
                Fixture.slice("nginx", "default", [Fixture.endpoint("fd00:5::2")], ports: [http]),
            ],
            namespaces: ["default", "empty-ns"],
            pods: [Pod(namespace: "default", name: "p1", ips: ["10.4.0.5"]), Pod(namespace: "other", name: "p2", ips: ["10.4.0.6"])])
    }

    static let publicZone = """
        example.com. 300 IN SOA ns.example.com. admin.example.com. 1 7200 1800 86400 60
        www.example.com. 120 IN A 93.184.216.34
        www.example.com. 120 IN AAAA 2606:2800::1
        alias.example.com. 90 IN CNAME www.example.com.
        8.8.8.8.in-addr.arpa. 300 IN PTR dns.google.
        """

    struct Setup {
        let chain: Chain
        let box: SnapshotBox
        let upstream: ZoneUpstream
        let metrics: CountingMetrics
    }

    static func setup(pods: String = "disabled", synced: Bool = true, upstreamMode: ZoneUpstream.Mode = .answer) throws -> Setup {
        let box = synced ? SnapshotBox(try objects()) : SnapshotBox()
        let upstream = try ZoneUpstream(publicZone, mode: upstreamMode)
        let metrics = CountingMetrics()
        let zone = try ClusterZoneHandler(config: ClusterZoneConfig(pods: pods), snapshot: box.provider, upstream: upstream,
                                          metrics: ClusterZoneMetrics(factory: metrics))
        return Setup(chain: Chain(handlers: [zone, UpstreamTail(upstream: upstream)]), box: box, upstream: upstream, metrics: metrics)
    }
}

@Suite struct ClusterZoneTests {
    static let soa = ZoneWorld.soa

    static let cases: [DNSCase] = [
        // ClusterIP, dual-stack split by type
        DNSCase(qname: "nginx.default.svc.cluster.local.", qtype: .a, answer: "nginx.default.svc.cluster.local. 5 IN A 10.0.0.10"),
        DNSCase(qname: "nginx.default.svc.cluster.local.", qtype: .aaaa, answer: "nginx.default.svc.cluster.local. 5 IN AAAA fd00::10"),
        DNSCase(qname: "v4only.default.svc.cluster.local.", qtype: .aaaa, authority: soa),
        DNSCase(qname: "nginx.default.svc.cluster.local.", qtype: .txt, authority: soa),
        DNSCase(qname: "nosuch.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        // headless: ready (true or absent) endpoints only
        DNSCase(qname: "web.default.svc.cluster.local.", qtype: .a, answer: """
            web.default.svc.cluster.local. 5 IN A 10.1.0.1
            web.default.svc.cluster.local. 5 IN A 10.1.0.2
            web.default.svc.cluster.local. 5 IN A 10.1.0.4
            """),
        DNSCase(qname: "web.default.svc.cluster.local.", qtype: .aaaa, answer: "web.default.svc.cluster.local. 5 IN AAAA fd00:1::1"),
        DNSCase(qname: "empty.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "_http._tcp.empty.default.svc.cluster.local.", qtype: .srv, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "pub.default.svc.cluster.local.", qtype: .a, answer: "pub.default.svc.cluster.local. 5 IN A 10.3.0.1"),
        DNSCase(qname: "v6head.default.svc.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "v6head.default.svc.cluster.local.", qtype: .aaaa, answer: "v6head.default.svc.cluster.local. 5 IN AAAA fd00:2::1"),
        // endpoint names: hostname, else dashed IP
        DNSCase(qname: "web-0.web.default.svc.cluster.local.", qtype: .a, answer: "web-0.web.default.svc.cluster.local. 5 IN A 10.1.0.1"),
        DNSCase(qname: "web-0.web.default.svc.cluster.local.", qtype: .aaaa, answer: "web-0.web.default.svc.cluster.local. 5 IN AAAA fd00:1::1"),
        DNSCase(qname: "10-1-0-2.web.default.svc.cluster.local.", qtype: .a, answer: "10-1-0-2.web.default.svc.cluster.local. 5 IN A 10.1.0.2"),
        DNSCase(qname: "fd00-2--1.v6head.default.svc.cluster.local.", qtype: .aaaa,
                answer: "fd00-2--1.v6head.default.svc.cluster.local. 5 IN AAAA fd00:2::1"),
        DNSCase(qname: "10-1-0-3.web.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "10-1-0-1.web.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "web-0.nginx.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        // endpoint names of a ClusterIP service, as its PTR answers name them
        DNSCase(qname: "nginx-a.nginx.default.svc.cluster.local.", qtype: .a,
                answer: "nginx-a.nginx.default.svc.cluster.local. 5 IN A 10.5.0.1"),
        DNSCase(qname: "nginx-a.nginx.default.svc.cluster.local.", qtype: .aaaa, authority: soa),
        DNSCase(qname: "10-5-0-2.nginx.default.svc.cluster.local.", qtype: .a,
                answer: "10-5-0-2.nginx.default.svc.cluster.local. 5 IN A 10.5.0.2"),
        DNSCase(qname: "fd00-5--2.nginx.default.svc.cluster.local.", qtype: .aaaa,
                answer: "fd00-5--2.nginx.default.svc.cluster.local. 5 IN AAAA fd00:5::2"),
        DNSCase(qname: "10-5-0-3.nginx.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "1.0.5.10.in-addr.arpa.", qtype: .ptr, answer: "1.0.5.10.in-addr.arpa. 5 IN PTR nginx-a.nginx.default.svc.cluster.local."),
        DNSCase(qname: "2.0.5.10.in-addr.arpa.", qtype: .ptr, answer: "2.0.5.10.in-addr.arpa. 5 IN PTR 10-5-0-2.nginx.default.svc.cluster.local."),
        DNSCase(qname: "3.0.5.10.in-addr.arpa.", qtype: .ptr, rcode: .nxDomain),
        // SRV: ClusterIP points at the service, headless at each endpoint (weight ⌊100/n⌋)
        DNSCase(qname: "_http._tcp.nginx.default.svc.cluster.local.", qtype: .srv,
                answer: "_http._tcp.nginx.default.svc.cluster.local. 5 IN SRV 0 100 80 nginx.default.svc.cluster.local.",
                additional: """
                nginx.default.svc.cluster.local. 5 IN A 10.0.0.10
                nginx.default.svc.cluster.local. 5 IN AAAA fd00::10
                """),
        DNSCase(qname: "_dns._udp.nginx.default.svc.cluster.local.", qtype: .srv,
                answer: "_dns._udp.nginx.default.svc.cluster.local. 5 IN SRV 0 100 53 nginx.default.svc.cluster.local.",
                additional: """
                nginx.default.svc.cluster.local. 5 IN A 10.0.0.10
                nginx.default.svc.cluster.local. 5 IN AAAA fd00::10
                """),
        DNSCase(qname: "_http._udp.nginx.default.svc.cluster.local.", qtype: .srv, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "_http._tcp.nginx.default.svc.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "_tcp.nginx.default.svc.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "_sctp.nginx.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "_http._tcp.web.default.svc.cluster.local.", qtype: .srv, answer: """
            _http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 33 80 web-0.web.default.svc.cluster.local.
            _http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 33 80 10-1-0-2.web.default.svc.cluster.local.
            _http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 33 80 10-1-0-4.web.default.svc.cluster.local.
            """, additional: """
            web-0.web.default.svc.cluster.local. 5 IN A 10.1.0.1
            web-0.web.default.svc.cluster.local. 5 IN AAAA fd00:1::1
            10-1-0-2.web.default.svc.cluster.local. 5 IN A 10.1.0.2
            10-1-0-4.web.default.svc.cluster.local. 5 IN A 10.1.0.4
            """),
        DNSCase(qname: "_http._tcp.pub.default.svc.cluster.local.", qtype: .srv,
                answer: "_http._tcp.pub.default.svc.cluster.local. 5 IN SRV 0 100 80 10-3-0-1.pub.default.svc.cluster.local.",
                additional: "10-3-0-1.pub.default.svc.cluster.local. 5 IN A 10.3.0.1"),
        DNSCase(qname: "_http._tcp.ext.default.svc.cluster.local.", qtype: .srv,
                answer: "_http._tcp.ext.default.svc.cluster.local. 5 IN SRV 0 100 80 www.example.com."),
        // ExternalName: CNAME, then the target chased upstream with its own TTLs
        DNSCase(qname: "ext.default.svc.cluster.local.", qtype: .a, answer: """
            ext.default.svc.cluster.local. 5 IN CNAME www.example.com.
            www.example.com. 120 IN A 93.184.216.34
            """),
        DNSCase(qname: "ext.default.svc.cluster.local.", qtype: .aaaa, answer: """
            ext.default.svc.cluster.local. 5 IN CNAME www.example.com.
            www.example.com. 120 IN AAAA 2606:2800::1
            """),
        DNSCase(qname: "ext.default.svc.cluster.local.", qtype: .cname, answer: "ext.default.svc.cluster.local. 5 IN CNAME www.example.com."),
        DNSCase(qname: "alias.default.svc.cluster.local.", qtype: .a, answer: """
            alias.default.svc.cluster.local. 5 IN CNAME alias.example.com.
            alias.example.com. 90 IN CNAME www.example.com.
            www.example.com. 120 IN A 93.184.216.34
            """),
        DNSCase(qname: "gone.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain,
                answer: "gone.default.svc.cluster.local. 5 IN CNAME missing.example.com.",
                authority: "example.com. 300 IN SOA ns.example.com. admin.example.com. 1 7200 1800 86400 60"),
        DNSCase(qname: "inner.default.svc.cluster.local.", qtype: .a, answer: """
            inner.default.svc.cluster.local. 5 IN CNAME nginx.default.svc.cluster.local.
            nginx.default.svc.cluster.local. 5 IN A 10.0.0.10
            """),
        DNSCase(qname: "loop.default.svc.cluster.local.", qtype: .a, rcode: .servFail),
        // PTR for ClusterIPs and published endpoints; other reverse names are forwarded
        DNSCase(qname: "10.0.0.10.in-addr.arpa.", qtype: .ptr, answer: "10.0.0.10.in-addr.arpa. 5 IN PTR nginx.default.svc.cluster.local."),
        DNSCase(qname: "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", qtype: .ptr,
                answer: "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 5 IN PTR nginx.default.svc.cluster.local."),
        DNSCase(qname: "1.0.1.10.in-addr.arpa.", qtype: .ptr, answer: "1.0.1.10.in-addr.arpa. 5 IN PTR web-0.web.default.svc.cluster.local."),
        DNSCase(qname: "2.0.1.10.in-addr.arpa.", qtype: .ptr, answer: "2.0.1.10.in-addr.arpa. 5 IN PTR 10-1-0-2.web.default.svc.cluster.local."),
        DNSCase(qname: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", qtype: .ptr,
                answer: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa. 5 IN PTR web-0.web.default.svc.cluster.local."),
        DNSCase(qname: "1.0.3.10.in-addr.arpa.", qtype: .ptr,
                answer: "1.0.3.10.in-addr.arpa. 5 IN PTR 10-3-0-1.pub.default.svc.cluster.local."),
        DNSCase(qname: "3.0.1.10.in-addr.arpa.", qtype: .ptr, rcode: .nxDomain),
        DNSCase(qname: "8.8.8.8.in-addr.arpa.", qtype: .ptr, answer: "8.8.8.8.in-addr.arpa. 300 IN PTR dns.google."),
        DNSCase(qname: "10.0.0.10.in-addr.arpa.", qtype: .a,
                authority: "in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"),
        // dns-version, apex, empty non-terminals, non-existent names
        DNSCase(qname: "dns-version.cluster.local.", qtype: .txt, answer: "dns-version.cluster.local. 28800 IN TXT \"1.1.0\""),
        DNSCase(qname: "dns-version.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "cluster.local.", qtype: .soa, answer: soa),
        DNSCase(qname: "cluster.local.", qtype: .ns, answer: "cluster.local. 5 IN NS ns.dns.cluster.local."),
        DNSCase(qname: "cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "svc.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "default.svc.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "empty-ns.svc.cluster.local.", qtype: .srv, authority: soa),
        DNSCase(qname: "nosuch-ns.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "pod.cluster.local.", qtype: .a, authority: soa),
        DNSCase(qname: "foo.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        DNSCase(qname: "a.b.web-0.web.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa),
        // names outside the zone are forwarded
        DNSCase(qname: "www.example.com.", qtype: .a, answer: "www.example.com. 120 IN A 93.184.216.34"),
        // the answer owner keeps the question's case
        DNSCase(qname: "NGINX.Default.svc.Cluster.LOCAL.", qtype: .a, answer: "nginx.default.svc.cluster.local. 5 IN A 10.0.0.10"),
        DNSCase(qname: "_HTTP._tcp.Nginx.default.SVC.cluster.local.", qtype: .srv,
                answer: "_http._tcp.nginx.default.svc.cluster.local. 5 IN SRV 0 100 80 nginx.default.svc.cluster.local.",
                additional: """
                nginx.default.svc.cluster.local. 5 IN A 10.0.0.10
                nginx.default.svc.cluster.local. 5 IN AAAA fd00::10
                """),
        DNSCase(qname: "Ext.Default.svc.cluster.local.", qtype: .a, answer: """
            ext.default.svc.cluster.local. 5 IN CNAME www.example.com.
            www.example.com. 120 IN A 93.184.216.34
            """),
    ]

    @Test("cluster zone answers", arguments: cases)
    func answers(_ c: DNSCase) async throws {
        let setup = try ZoneWorld.setup()
        let request = try query(c.qname, c.qtype)
        let response = await setup.chain.resolve(request)
        try check(response, c, asked: request)
        if response.message.header.rcode != .servFail, (try name(c.qname)).isSubdomain(of: try name("cluster.local")) {
            #expect(response.message.header.authoritative, "AA on cluster answers")
        }
        #expect(response.message.header.recursionAvailable)
        // The message survives the wire: what the server renders is what the handler meant.
        let decoded = try WireCodec.decode(WireCodec.encode(response.message))
        #expect(decoded == response.message)
    }

    static let podCases: [(mode: String, c: DNSCase)] = [
        ("disabled", DNSCase(qname: "10-4-0-5.default.pod.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa)),
        ("disabled", DNSCase(qname: "default.pod.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa)),
        ("insecure", DNSCase(qname: "10-4-0-5.default.pod.cluster.local.", qtype: .a, answer: "10-4-0-5.default.pod.cluster.local. 5 IN A 10.4.0.5")),
        ("insecure", DNSCase(qname: "10-9-9-9.anyns.pod.cluster.local.", qtype: .a, answer: "10-9-9-9.anyns.pod.cluster.local. 5 IN A 10.9.9.9")),
        ("insecure", DNSCase(qname: "fd00--5.default.pod.cluster.local.", qtype: .aaaa, answer: "fd00--5.default.pod.cluster.local. 5 IN AAAA fd00::5")),
        ("insecure", DNSCase(qname: "10-4-0-5.default.pod.cluster.local.", qtype: .aaaa, authority: soa)),
        ("insecure", DNSCase(qname: "not-an-ip.default.pod.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa)),
        ("insecure", DNSCase(qname: "default.pod.cluster.local.", qtype: .a, authority: soa)),
        ("verified", DNSCase(qname: "10-4-0-5.default.pod.cluster.local.", qtype: .a, answer: "10-4-0-5.default.pod.cluster.local. 5 IN A 10.4.0.5")),
        ("verified", DNSCase(qname: "10-4-0-5.other.pod.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa)),
        ("verified", DNSCase(qname: "10-9-9-9.default.pod.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa)),
        ("verified", DNSCase(qname: "other.pod.cluster.local.", qtype: .a, authority: soa)),
        ("verified", DNSCase(qname: "nopods.pod.cluster.local.", qtype: .a, rcode: .nxDomain, authority: soa)),
    ]

    @Test("pod names by mode", arguments: podCases)
    func pods(_ mode: String, _ c: DNSCase) async throws {
        let setup = try ZoneWorld.setup(pods: mode)
        let request = try query(c.qname, c.qtype)
        try check(await setup.chain.resolve(request), c, asked: request)
    }

    @Test("before the first sync: SERVFAIL EDE 14 for cluster names, forwarding and reverse names still work")
    func notReady() async throws {
        let setup = try ZoneWorld.setup(synced: false)
        for c in [DNSCase(qname: "nginx.default.svc.cluster.local.", qtype: .a, rcode: .servFail, ede: .notReady),
                  DNSCase(qname: "cluster.local.", qtype: .soa, rcode: .servFail, ede: .notReady),
                  DNSCase(qname: "www.example.com.", qtype: .a, answer: "www.example.com. 120 IN A 93.184.216.34"),
                  DNSCase(qname: "8.8.8.8.in-addr.arpa.", qtype: .ptr, answer: "8.8.8.8.in-addr.arpa. 300 IN PTR dns.google.")] {
            let request = try query(c.qname, c.qtype)
            let response = await setup.chain.resolve(request)
            try check(response, c, asked: request)
            #expect(response.snapshotGeneration == nil, "a not-ready answer must not be pre-rendered")
        }
        #expect(setup.metrics.value("fedns_cluster_zone_responses_total", [("result", "not_ready")]) == 2)
    }

    @Test("answers from the snapshot alone carry its generation; chased ones do not")
    func snapshotGeneration() async throws {
        let setup = try ZoneWorld.setup()
        setup.box.install(try ZoneWorld.objects())  // generation 2
        for (qname, type, pre) in [("nginx.default.svc.cluster.local.", RRType.a, true), ("nosuch.cluster.local.", .a, true),
                                   ("v4only.default.svc.cluster.local.", .aaaa, true), ("ext.default.svc.cluster.local.", .cname, true),
                                   ("10.0.0.10.in-addr.arpa.", .ptr, true),
                                   ("ext.default.svc.cluster.local.", .a, false), ("inner.default.svc.cluster.local.", .a, false)] {
            let response = await setup.chain.resolve(try query(qname, type))
            #expect(response.snapshotGeneration == (pre ? 2 : nil), "\(qname) \(type)")
        }
    }

    @Test("ExternalName chase asks upstream for the target with the same type")
    func externalNameChaseAsksSameType() async throws {
        let setup = try ZoneWorld.setup()
        _ = await setup.chain.resolve(try query("ext.default.svc.cluster.local.", .aaaa))
        #expect(setup.upstream.asked == [Question(name: try name("www.example.com."), type: .aaaa)])
    }

    @Test("a failed ExternalName chase is SERVFAIL with the upstream's EDE, or EDE 22 when it gave none")
    func chaseFailure() async throws {
        for (mode, ede) in [(ZoneUpstream.Mode.fail(.servFail, .networkError), EDECode.networkError),
                            (.fail(.servFail, nil), .noReachableAuthority), (.fail(.refused, nil), .noReachableAuthority)] {
            let setup = try ZoneWorld.setup(upstreamMode: mode)
            let c = DNSCase(qname: "ext.default.svc.cluster.local.", qtype: .a, rcode: .servFail, ede: ede)
            let request = try query(c.qname, c.qtype)
            try check(await setup.chain.resolve(request), c, asked: request)
            #expect(setup.metrics.value("fedns_cluster_zone_responses_total", [("result", "chase_failed")]) == 1)
        }
    }

    @Test("a stale chased answer passes its EDE 3 through")
    func staleChase() async throws {
        let setup = try ZoneWorld.setup(upstreamMode: .stale)
        let c = DNSCase(qname: "ext.default.svc.cluster.local.", qtype: .a, answer: """
            ext.default.svc.cluster.local. 5 IN CNAME www.example.com.
            www.example.com. 120 IN A 93.184.216.34
            """, ede: .staleAnswer)
        let request = try query(c.qname, c.qtype)
        try check(await setup.chain.resolve(request), c, asked: request)
    }

    @Test("SOA serial is the snapshot generation; a new snapshot is visible to the next query")
    func newSnapshotVisible() async throws {
        let setup = try ZoneWorld.setup()
        var objects = try ZoneWorld.objects()
        objects.endpointSlices = objects.endpointSlices.map { slice in
            guard slice.service.name == "empty" else { return slice }
            var s = slice
            s.endpoints = s.endpoints.map { var e = $0; e.ready = true; return e }
            return s
        }
        setup.box.install(objects)
        let c = DNSCase(qname: "empty.default.svc.cluster.local.", qtype: .a, answer: "empty.default.svc.cluster.local. 5 IN A 10.2.0.1")
        let request = try query(c.qname, c.qtype)
        try check(await setup.chain.resolve(request), c, asked: request)
        let nx = DNSCase(qname: "nosuch.cluster.local.", qtype: .a, rcode: .nxDomain,
                         authority: "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2 7200 1800 86400 5")
        let nxRequest = try query(nx.qname, nx.qtype)
        try check(await setup.chain.resolve(nxRequest), nx, asked: nxRequest)
    }

    @Test("configured TTL and cluster domain apply to every made record")
    func customDomainAndTTL() async throws {
        let box = SnapshotBox(try ZoneWorld.objects())
        let upstream = try ZoneUpstream(ZoneWorld.publicZone)
        let zone = try ClusterZoneHandler(config: ClusterZoneConfig(clusterDomain: "Corp.Example.", ttl: 30), snapshot: box.provider,
                                          upstream: upstream)
        let chain = Chain(handlers: [zone, UpstreamTail(upstream: upstream)])
        let soa = "corp.example. 30 IN SOA ns.dns.corp.example. hostmaster.corp.example. 1 7200 1800 86400 30"
        for c in [DNSCase(qname: "nginx.default.svc.corp.example.", qtype: .a, answer: "nginx.default.svc.corp.example. 30 IN A 10.0.0.10"),
                  DNSCase(qname: "nginx.default.svc.cluster.local.", qtype: .a),  // forwarded: the fake upstream holds nothing there
                  DNSCase(qname: "nosuch.corp.example.", qtype: .a, rcode: .nxDomain, authority: soa),
                  DNSCase(qname: "10.0.0.10.in-addr.arpa.", qtype: .ptr, answer: "10.0.0.10.in-addr.arpa. 30 IN PTR nginx.default.svc.corp.example.")] {
            let request = try query(c.qname, c.qtype)
            let response = await chain.resolve(request)
            if c.qname.hasSuffix("cluster.local.") {
                #expect(response.message.header.rcode == .nxDomain && !response.message.header.authoritative, "forwarded")
            } else {
                try check(response, c, asked: request)
            }
        }
    }

    @Test("invalid settings are rejected naming the field", arguments: [
        (ClusterZoneConfig(ttl: -1), "ttl"), (ClusterZoneConfig(ttl: 86400), "ttl"), (ClusterZoneConfig(pods: "maybe"), "pods"),
        (ClusterZoneConfig(clusterDomain: "bad_domain.local"), "clusterDomain"), (ClusterZoneConfig(clusterDomain: "."), "clusterDomain"),
    ])
    func invalidConfig(_ config: ClusterZoneConfig, _ field: String) throws {
        #expect(config.validate().map(\.field) == [field])
        #expect(throws: ConfigError.self) {
            try ClusterZoneHandler(config: config, snapshot: { nil }, upstream: try ZoneUpstream())
        }
    }

    @Test("the defaults are valid") func defaultsValid() {
        #expect(ClusterZoneConfig().validate().isEmpty)
        #expect(ClusterZoneConfig(pods: "Verified").validate().isEmpty)
    }
}

/// Every name the cluster-zone and federation worlds hand out resolves (PTR ↔ forward, federated = local).
struct WorldNamesResolveTests {
    @Test func zoneWorld() async throws {
        let problems = try await NameConsistency.violations(try ZoneWorld.objects())
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test(arguments: [false, true])
    func federationWorld(conflictingNamespace: Bool) async throws {
        let objects = try FederationWorld.objects(conflictingNamespace: conflictingNamespace)
        let problems = try await NameConsistency.violations(objects, configYAML: "federations: {myfederation: example.com}\nnodeName: node-a")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
