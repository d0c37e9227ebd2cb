import ClusterState
import DNSWire
import NameExpansion
import Resolver
import Synchronization
import Testing
import YAMLReader

/// The world behind the search path in these tests: names under `cluster.local` are cluster-derived
/// (snapshot generation 7), the rest come from "upstream" (no generation); `servfail` names fail.
struct SearchWorld: Handler {
    let name = "world"
    let upstream: ZoneUpstream
    let servfail: Set<DomainName>
    static let generation: UInt64 = 7
    static let clusterDomain = try! DomainName("cluster.local")

    static let zone = """
        cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5
        corp.example. 60 IN SOA ns.corp.example. admin.corp.example. 1 7200 1800 86400 60
        . 60 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400
        nginx.default.svc.cluster.local. 5 IN A 10.0.0.10
        web.mynamespace.svc.cluster.local. 5 IN A 10.0.0.11
        web.mynamespace.corp.example. 60 IN AAAA 2001:db8::11
        thing.cluster.local. 5 IN A 10.0.0.12
        printer.corp.example. 60 IN A 192.168.1.9
        broken.corp.example. 60 IN A 192.168.1.10
        alias.corp.example. 60 IN CNAME www.example.com.
        www.example.com. 120 IN A 93.184.216.34
        """

    init(servfail: [String] = ["broken.svc.cluster.local"]) throws {
        upstream = try ZoneUpstream(Self.zone)
        self.servfail = Set(try servfail.map(DomainName.init))
    }

    var asked: [DomainName] { upstream.asked.map(\.name) }

    func handle(_ request: Request, next: Next) async -> Response {
        if servfail.contains(request.name) {
            _ = await upstream.resolve(request)  // recorded as asked
            return .error(.servFail, to: request, ede: .networkError)
        }
        var response = await upstream.resolve(request)
        if request.name.isSubdomain(of: Self.clusterDomain) { response.snapshotGeneration = Self.generation }
        return response
    }
}

/// A search-path handler in front of `SearchWorld`, with counted metrics.
struct SearchSetup {
    let chain: Chain
    let world: SearchWorld
    let metrics: CountingMetrics

    init(_ config: SearchPathConfig = .sidecar, world: SearchWorld? = nil) throws {
        let metrics = CountingMetrics()
        let world = try world ?? SearchWorld()
        let handler = try SearchPathHandler(config: config, metrics: SearchPathMetrics(factory: metrics))
        self.chain = Chain(handlers: [handler, world])
        self.world = world
        self.metrics = metrics
    }

    func hits() -> Int64 { metrics.value("fedns_search_path_requests_total", [("result", "hit")]) }
    func misses() -> Int64 { metrics.value("fedns_search_path_requests_total", [("result", "miss")]) }
}

extension SearchPathConfig {
    /// A sidecar in namespace `default`, whose node searches `corp.example`.
    static var sidecar: SearchPathConfig {
        SearchPathConfig(enabled: true, namespace: "default", hostSearch: [try! DomainName("corp.example")])
    }
}

/// One walk: the DNS case, and the names the rest of the chain must have been asked, in order.
struct WalkCase: Sendable, CustomTestStringConvertible {
    var dns: DNSCase
    var asked: [String]
    var result: SearchPathMetrics.Result?
    var testDescription: String { dns.testDescription }
}

private let clusterSOA = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
private let rootSOA = ". 60 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400"

/// `<typed>` as a pod in `default` first sends it, and the names the walk tries after it.
private func walk(_ typed: String, through last: Int = 4) -> [String] {
    let all = ["\(typed).default.svc.cluster.local", "\(typed).svc.cluster.local", "\(typed).cluster.local",
               "\(typed).corp.example", typed]
    return Array(all[...last])
}

@Suite("Search path: the server-side walk (docs/behaviour.md)")
struct SearchPathTests {
    static let walks: [WalkCase] = [
        // The name as asked exists: answered as is, no CNAME, no walk.
        WalkCase(dns: DNSCase(qname: "nginx.default.svc.cluster.local.", qtype: .a,
                              answer: "nginx.default.svc.cluster.local. 5 IN A 10.0.0.10"),
                 asked: walk("nginx", through: 0), result: nil),
        // A hit on each later search element, then on the name as typed.
        WalkCase(dns: DNSCase(qname: "web.mynamespace.default.svc.cluster.local.", qtype: .a, answer: """
                     web.mynamespace.default.svc.cluster.local. 5 IN CNAME web.mynamespace.svc.cluster.local.
                     web.mynamespace.svc.cluster.local. 5 IN A 10.0.0.11
                     """), asked: walk("web.mynamespace", through: 1), result: .hit),
        WalkCase(dns: DNSCase(qname: "thing.default.svc.cluster.local.", qtype: .a, answer: """
                     thing.default.svc.cluster.local. 5 IN CNAME thing.cluster.local.
                     thing.cluster.local. 5 IN A 10.0.0.12
                     """), asked: walk("thing", through: 2), result: .hit),
        WalkCase(dns: DNSCase(qname: "printer.default.svc.cluster.local.", qtype: .a, answer: """
                     printer.default.svc.cluster.local. 5 IN CNAME printer.corp.example.
                     printer.corp.example. 60 IN A 192.168.1.9
                     """), asked: walk("printer", through: 3), result: .hit),
        WalkCase(dns: DNSCase(qname: "www.example.com.default.svc.cluster.local.", qtype: .a, answer: """
                     www.example.com.default.svc.cluster.local. 5 IN CNAME www.example.com.
                     www.example.com. 120 IN A 93.184.216.34
                     """), asked: walk("www.example.com"), result: .hit),
        // The winner's own CNAME chain follows the search-path CNAME, in order.
        WalkCase(dns: DNSCase(qname: "alias.default.svc.cluster.local.", qtype: .a, answer: """
                     alias.default.svc.cluster.local. 5 IN CNAME alias.corp.example.
                     alias.corp.example. 60 IN CNAME www.example.com.
                     www.example.com. 120 IN A 93.184.216.34
                     """), asked: walk("alias", through: 3), result: .hit),
        // NODATA ends the walk (web.mynamespace.corp.example has the AAAA but is never asked).
        WalkCase(dns: DNSCase(qname: "web.mynamespace.default.svc.cluster.local.", qtype: .aaaa,
                              answer: "web.mynamespace.default.svc.cluster.local. 5 IN CNAME web.mynamespace.svc.cluster.local.",
                              authority: clusterSOA), asked: walk("web.mynamespace", through: 1), result: .hit),
        // SERVFAIL ends the walk too (broken.corp.example exists but is never asked).
        WalkCase(dns: DNSCase(qname: "broken.default.svc.cluster.local.", qtype: .a, rcode: .servFail,
                              answer: "broken.default.svc.cluster.local. 5 IN CNAME broken.svc.cluster.local.", ede: .networkError),
                 asked: walk("broken", through: 1), result: .hit),
        // Every candidate NXDOMAIN: the first reply (cluster SOA, not the root's of the last) unchanged.
        WalkCase(dns: DNSCase(qname: "nosuch.default.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: clusterSOA),
                 asked: walk("nosuch"), result: .miss),
        // Names compare case-insensitively; the CNAME owner is the question as asked, the target the typed labels.
        WalkCase(dns: DNSCase(qname: "Web.MyNamespace.Default.SVC.Cluster.Local.", qtype: .a, answer: """
                     Web.MyNamespace.Default.SVC.Cluster.Local. 5 IN CNAME Web.MyNamespace.svc.cluster.local.
                     web.mynamespace.svc.cluster.local. 5 IN A 10.0.0.11
                     """), asked: ["Web.MyNamespace.Default.SVC.Cluster.Local", "Web.MyNamespace.svc.cluster.local"], result: .hit),
        // Not below the client's first search element: untouched, even when NXDOMAIN.
        WalkCase(dns: DNSCase(qname: "nosuch.mynamespace.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: clusterSOA),
                 asked: ["nosuch.mynamespace.svc.cluster.local"], result: nil),
        WalkCase(dns: DNSCase(qname: "default.svc.cluster.local.", qtype: .a, authority: clusterSOA),
                 asked: ["default.svc.cluster.local"], result: nil),
        WalkCase(dns: DNSCase(qname: "nosuch.svc.cluster.local.", qtype: .a, rcode: .nxDomain, authority: clusterSOA),
                 asked: ["nosuch.svc.cluster.local"], result: nil),
        // Outside the cluster suffix: untouched.
        WalkCase(dns: DNSCase(qname: "www.example.com.", qtype: .a, answer: "www.example.com. 120 IN A 93.184.216.34"),
                 asked: ["www.example.com"], result: nil),
        WalkCase(dns: DNSCase(qname: "nosuch.example.", qtype: .a, rcode: .nxDomain, authority: rootSOA),
                 asked: ["nosuch.example"], result: nil),
        WalkCase(dns: DNSCase(qname: "nosuch.default.svc.cluster.local.corp.example.", qtype: .a, rcode: .nxDomain,
                              authority: "corp.example. 60 IN SOA ns.corp.example. admin.corp.example. 1 7200 1800 86400 60"),
                 asked: ["nosuch.default.svc.cluster.local.corp.example"], result: nil),
    ]

    @Test(arguments: walks)
    func sidecarWalk(_ c: WalkCase) async throws {
        let setup = try SearchSetup()
        let request = try query(c.dns.qname, c.dns.qtype)
        let response = await setup.chain.resolve(request)
        try check(response, c.dns, asked: request)
        #expect(setup.world.asked.map(\.labels) == (try c.asked.map { try DomainName($0).labels }), "names asked, in order")
        #expect(setup.hits() == (c.result == .hit ? 1 : 0))
        #expect(setup.misses() == (c.result == .miss ? 1 : 0))
    }

    @Test("Off: the name goes through as asked")
    func disabled() async throws {
        var config = SearchPathConfig.sidecar
        config.enabled = false
        let setup = try SearchSetup(config)
        let response = await setup.chain.resolve(try query("thing.default.svc.cluster.local.", .a))
        #expect(response.rcode == .nxDomain)
        #expect(setup.world.asked == [try name("thing.default.svc.cluster.local")])
    }

    @Test("Class other than IN is never walked")
    func otherClass() async throws {
        let setup = try SearchSetup()
        var message = Message.query(id: 1, name: try name("thing.default.svc.cluster.local"), type: .txt, class: .chaos)
        message.header.recursionDesired = true
        _ = await setup.chain.resolve(Request(message: message, transport: .udp))
        #expect(setup.world.asked.count == 1)
    }

    // MARK: node-local: the client's namespace from its pod

    static func nodeLocal(_ box: SnapshotBox) -> SearchPathConfig {
        SearchPathConfig(enabled: true, namespace: nil, hostSearch: [try! DomainName("corp.example")],
                         podNamespace: SearchPathConfig.podIndex(box.provider))
    }

    static let pods = ClusterObjects(pods: [Pod(namespace: "default", name: "client", ips: ["10.1.0.5", "fd00:1::5"]),
                                            Pod(namespace: "other", name: "elsewhere", ips: ["10.1.0.6"])])

    @Test("Node-local: a client's address selects its pod's namespace", arguments: [
        ("10.1.0.5", ["thing.default.svc.cluster.local", "thing.svc.cluster.local", "thing.cluster.local"], RCode.noError),
        ("fd00:1:0:0:0:0:0:5", ["thing.default.svc.cluster.local", "thing.svc.cluster.local", "thing.cluster.local"], .noError),
        // A pod of another namespace: its first element is other.svc.<cd>, so this name is not walked.
        ("10.1.0.6", ["thing.default.svc.cluster.local"], .nxDomain),
        // An address no pod has: no walk.
        ("10.1.0.99", ["thing.default.svc.cluster.local"], .nxDomain),
    ])
    func nodeLocalClient(_ client: String, _ asked: [String], _ rcode: RCode) async throws {
        let box = SnapshotBox(Self.pods)
        let setup = try SearchSetup(Self.nodeLocal(box))
        var request = try query("thing.default.svc.cluster.local.", .a)
        request.clientAddress = client
        let response = await setup.chain.resolve(request)
        #expect(response.rcode == rcode)
        #expect(setup.world.asked == (try asked.map(DomainName.init)))
        // The answer depends on who asked: never pre-rendered for (name, type).
        #expect(response.snapshotGeneration == nil)
    }

    @Test("Node-local: no client address, or no snapshot yet, means no walk")
    func nodeLocalUnknown() async throws {
        let setup = try SearchSetup(Self.nodeLocal(SnapshotBox()))
        var request = try query("thing.default.svc.cluster.local.", .a)
        request.clientAddress = "10.1.0.5"
        #expect(await setup.chain.resolve(request).rcode == .nxDomain)
        let withPods = try SearchSetup(Self.nodeLocal(SnapshotBox(Self.pods)))
        #expect(await withPods.chain.resolve(try query("thing.default.svc.cluster.local.", .a)).rcode == .nxDomain)
        #expect(withPods.world.asked.count == 1)
    }

    // MARK: pre-rendering (snapshotGeneration)

    @Test("Sidecar: a walk made of cluster answers keeps the generation; any forwarded step drops it", arguments: [
        ("web.mynamespace.default.svc.cluster.local.", UInt64?.some(SearchWorld.generation)),  // q, svc: both cluster
        ("nginx.default.svc.cluster.local.", SearchWorld.generation),                            // answered as asked
        ("printer.default.svc.cluster.local.", nil),                                             // the winner is upstream
        ("nosuch.default.svc.cluster.local.", nil),                                              // a miss that asked upstream
        ("www.example.com.", nil),                                                               // untouched upstream answer
    ])
    func sidecarGeneration(_ qname: String, _ generation: UInt64?) async throws {
        let setup = try SearchSetup()
        #expect(await setup.chain.resolve(try query(qname, .a)).snapshotGeneration == generation)
    }

    @Test("Node-local: an NXDOMAIN another pod would walk is not pre-rendered; other answers are")
    func nodeLocalPassThroughGeneration() async throws {
        let setup = try SearchSetup(Self.nodeLocal(SnapshotBox(Self.pods)))
        var request = try query("thing.default.svc.cluster.local.", .a)
        request.clientAddress = "10.1.0.6"
        #expect(await setup.chain.resolve(request).snapshotGeneration == nil)
        request = try query("nginx.default.svc.cluster.local.", .a)
        request.clientAddress = "10.1.0.6"
        #expect(await setup.chain.resolve(request).snapshotGeneration == SearchWorld.generation)
    }

    // MARK: with the real federation and cluster-zone handlers behind it

    @Test("A pod's first query for a federated name is answered in one round trip", arguments: [
        ("nginx", "nginx.mynamespace.myfederation.default.svc.cluster.local. 5 IN CNAME nginx.mynamespace.myfederation.svc.cluster.local.\nnginx.mynamespace.myfederation.svc.cluster.local. 5 IN A 10.0.0.20"),
        ("sick", """
         sick.mynamespace.myfederation.default.svc.cluster.local. 5 IN CNAME sick.mynamespace.myfederation.svc.cluster.local.
         sick.mynamespace.myfederation.svc.cluster.local. 5 IN CNAME sick.mynamespace.myfederation.svc.us-central1-a.example.com.
         sick.mynamespace.myfederation.svc.us-central1-a.example.com. 60 IN A 203.0.113.7
         """),
    ])
    func federatedThroughWalk(_ service: String, _ answer: String) async throws {
        let fed = try FederationWorld.setup()
        let search = try SearchPathHandler(config: SearchPathConfig(enabled: true, namespace: "default"))
        let chain = Chain(handlers: [search] + fed.chain.handlers)
        let c = DNSCase(qname: "\(service).mynamespace.myfederation.default.svc.cluster.local.", qtype: .a, answer: answer)
        let request = try query(c.qname, c.qtype)
        try check(await chain.resolve(request), c, asked: request)
    }

    // MARK: configuration

    @Test("Configuration problems", arguments: [
        (SearchPathConfig(enabled: true, namespace: "Not_A_Label"), "searchPath.namespace", ConfigIssue.Severity.error),
        (SearchPathConfig(enabled: true, namespace: "default", hostSearch: [.root]), "searchPath.hostSearch", .warning),
    ])
    func configIssues(_ config: SearchPathConfig, _ field: String, _ severity: ConfigIssue.Severity) throws {
        let issues = config.validate()
        #expect(issues.contains { $0.field == field && $0.severity == severity }, "\(issues)")
        if severity == .error {
            #expect(throws: ConfigError.self) { try SearchPathHandler(config: config) }
        } else {
            _ = try SearchPathHandler(config: config)
        }
    }

    @Test("A valid sidecar or node-local configuration has no issues")
    func configValid() {
        #expect(SearchPathConfig.sidecar.validate().isEmpty)
        #expect(Self.nodeLocal(SnapshotBox()).validate().isEmpty)
        #expect(SearchPathConfig(enabled: false).validate().isEmpty)
    }
}
