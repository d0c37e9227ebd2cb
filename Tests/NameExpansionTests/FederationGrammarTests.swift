import Testing
import NameExpansion

/// Federated names (docs/behaviour.md, the cluster zone and the federation rule): both shapes, SRV forms, names under a federation label without a
/// shape, and the public names an unhealthy shard is sent to.
struct FederationGrammarTests {
    static let grammar = FederationGrammar(
        clusterDomain: try! DomainName("cluster.local"),
        federations: ["MyFederation": try! DomainName("Example.COM"), "other": try! DomainName("fed.example.org")])

    static func federated(_ service: String, _ namespace: String, _ federation: String, srv: (String, String)? = nil,
                          _ shape: FederatedName.Shape) -> FederationMatch {
        var prefix = [service, namespace, federation]
        if let srv { prefix = ["_" + srv.0, "_" + srv.1] + prefix }
        return .federated(FederatedName(service: service, namespace: namespace, federation: federation,
                                        srv: srv.map { (port: $0.0, proto: $0.1) }, shape: shape, prefix: prefix))
    }

    @Test(arguments: [
        ("nginx.mynamespace.myfederation.svc.cluster.local", federated("nginx", "mynamespace", "myfederation", .clusterSuffixed)),
        ("NGINX.MyNamespace.MyFederation.SVC.cluster.local.", federated("nginx", "mynamespace", "myfederation", .clusterSuffixed)),
        ("_http._tcp.nginx.mynamespace.myfederation.svc.cluster.local",
         federated("nginx", "mynamespace", "myfederation", srv: ("http", "tcp"), .clusterSuffixed)),
        ("nginx.mynamespace.myfederation", federated("nginx", "mynamespace", "myfederation", .bare)),
        ("nginx.mynamespace.myfederation.", federated("nginx", "mynamespace", "myfederation", .bare)),
        ("_http._tcp.nginx.mynamespace.myfederation", federated("nginx", "mynamespace", "myfederation", srv: ("http", "tcp"), .bare)),
        ("api.prod.other", federated("api", "prod", "other", .bare)),
    ])
    func matchesFederatedShapes(name: String, expected: FederationMatch) throws {
        #expect(Self.grammar.match(try DomainName(name)) == expected)
    }

    @Test(arguments: [
        "mynamespace.myfederation.svc.cluster.local",                     // <ns>.<fed>.svc.<cd>
        "web-0.nginx.mynamespace.myfederation.svc.cluster.local",         // endpoint-like
        "a.b.nginx.mynamespace.myfederation.svc.cluster.local",           // too deep
        "_tcp.nginx.mynamespace.myfederation.svc.cluster.local",          // SRV protocol node
        "_._tcp.nginx.mynamespace.myfederation.svc.cluster.local",        // empty port
        "_http.tcp.nginx.mynamespace.myfederation.svc.cluster.local",     // one underscore only
        "_http._tcp.a.nginx.mynamespace.myfederation.svc.cluster.local",  // six labels
    ])
    func shapelessNamesUnderAFederationAreInvalid(name: String) throws {
        #expect(Self.grammar.match(try DomainName(name)) == .invalidUnderFederation(federation: "myfederation"))
    }

    @Test(arguments: [
        "myfederation.svc.cluster.local",                   // the federation label itself: a namespace node
        "nginx.mynamespace.notafed.svc.cluster.local",      // third label not a federation
        "nginx.mynamespace.svc.cluster.local",              // an ordinary service
        "nginx.mynamespace.myfederation.cluster.local",     // no svc label
        "nginx.mynamespace.myfederation.pod.cluster.local",
        "mynamespace.myfederation",                         // bare, too short
        "a.nginx.mynamespace.myfederation",                 // bare, too long
        "_tcp.nginx.mynamespace.myfederation",
        "myfederation",
        "www.example.com",
        "nginx.mynamespace.myfederation.example.com",
    ])
    func otherNamesAreNotFederated(name: String) throws {
        #expect(Self.grammar.match(try DomainName(name)) == nil)
    }

    struct TargetCase: Sendable, CustomTestStringConvertible {
        var query: String
        var format: ZonalNameFormat
        var zone: String?
        var region: String?
        var target: String
        var kind: FederationTargetKind
        var testDescription: String { "\(query) \(format.rawValue) zone=\(zone ?? "-") region=\(region ?? "-")" }
    }

    @Test(arguments: [
        TargetCase(query: "nginx.mynamespace.myfederation.svc.cluster.local", format: .zone, zone: "us-central1-a", region: "us-central1",
                   target: "nginx.mynamespace.myfederation.svc.us-central1-a.example.com.", kind: .zonal),
        TargetCase(query: "nginx.mynamespace.myfederation.svc.cluster.local", format: .zoneRegion, zone: "us-central1-a", region: "us-central1",
                   target: "nginx.mynamespace.myfederation.svc.us-central1-a.us-central1.example.com.", kind: .zonal),
        TargetCase(query: "nginx.mynamespace.myfederation", format: .zone, zone: "US-Central1-A", region: nil,
                   target: "nginx.mynamespace.myfederation.svc.us-central1-a.example.com.", kind: .zonal),
        TargetCase(query: "_http._tcp.nginx.mynamespace.myfederation.svc.cluster.local", format: .zone, zone: "us-central1-a", region: "us-central1",
                   target: "_http._tcp.nginx.mynamespace.myfederation.svc.us-central1-a.example.com.", kind: .zonal),
        TargetCase(query: "_http._tcp.nginx.mynamespace.myfederation", format: .zoneRegion, zone: "us-central1-a", region: "us-central1",
                   target: "_http._tcp.nginx.mynamespace.myfederation.svc.us-central1-a.us-central1.example.com.", kind: .zonal),
        // No zone: the regional name, for either format.
        TargetCase(query: "nginx.mynamespace.myfederation", format: .zone, zone: nil, region: "us-central1",
                   target: "nginx.mynamespace.myfederation.svc.us-central1.example.com.", kind: .regional),
        TargetCase(query: "nginx.mynamespace.myfederation", format: .zoneRegion, zone: "", region: "us-central1",
                   target: "nginx.mynamespace.myfederation.svc.us-central1.example.com.", kind: .regional),
        // zone-region without a region cannot form the zonal name, nor the regional one: global.
        TargetCase(query: "nginx.mynamespace.myfederation", format: .zoneRegion, zone: "us-central1-a", region: nil,
                   target: "nginx.mynamespace.myfederation.svc.example.com.", kind: .global),
        TargetCase(query: "nginx.mynamespace.myfederation", format: .zone, zone: nil, region: nil,
                   target: "nginx.mynamespace.myfederation.svc.example.com.", kind: .global),
        TargetCase(query: "api.prod.other.svc.cluster.local", format: .zone, zone: "", region: "",
                   target: "api.prod.other.svc.fed.example.org.", kind: .global),
    ])
    func buildsTheTargetWithFallbacks(c: TargetCase) throws {
        guard case .federated(let name)? = Self.grammar.match(try DomainName(c.query)) else {
            Issue.record("\(c.query) is not federated"); return
        }
        let target = Self.grammar.target(for: name, zone: c.zone, region: c.region, format: c.format)
        #expect(target.name.description == c.target)
        #expect(target.kind == c.kind)
    }

    @Test(arguments: [
        ("nginx.mynamespace.myfederation.svc.cluster.local", "nginx.mynamespace.svc.cluster.local."),
        ("Nginx.MyNamespace.MyFederation", "nginx.mynamespace.svc.cluster.local."),
        ("_http._tcp.nginx.mynamespace.myfederation", "_http._tcp.nginx.mynamespace.svc.cluster.local."),
        ("_http._tcp.nginx.mynamespace.myfederation.svc.cluster.local", "_http._tcp.nginx.mynamespace.svc.cluster.local."),
    ])
    func localNameDropsTheFederationLabel(query: String, local: String) throws {
        guard case .federated(let name)? = Self.grammar.match(try DomainName(query)) else {
            Issue.record("\(query) is not federated"); return
        }
        #expect(Self.grammar.localName(for: name).description == local)
    }

    @Test func federationNamesAndDomainsAreLowerCased() {
        #expect(Self.grammar.federations["myfederation"]?.description == "example.com.")
        #expect(Self.grammar.federations["MyFederation"] == nil)
    }
}
