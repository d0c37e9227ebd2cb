import Testing
import NameExpansion

/// The names a pod's stub resolver asks for, in order (glibc `__res_context_search`, musl
/// `name_from_dns_search`), and the server-side walk that must reproduce the pod's order (docs/behaviour.md, the search path).
struct SearchOrderTests {
    static func conf(_ search: [String], ndots: Int = 1, noTLDQuery: Bool = false) -> ResolvConf {
        var options = ResolvConf.Options()
        options.ndots = ndots
        options.noTLDQuery = noTLDQuery
        return ResolvConf(nameservers: ["10.96.0.10"], search: search.map { try! DomainName($0) }, options: options)
    }

    static let pod = conf(["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], ndots: 5)
    static let office = conf(["example.com", "corp.example"])
    static let long60 = (["a", "b", "c", "d"].map { String(repeating: $0, count: 60) }).joined(separator: ".")

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var conf: ResolvConf
        var glibc: [String]
        var musl: [String]
        var note: String
        var testDescription: String { "\(note): \(name)" }
    }

    @Test(arguments: [
        Case(name: "nginx", conf: pod,
             glibc: ["nginx.default.svc.cluster.local", "nginx.svc.cluster.local", "nginx.cluster.local", "nginx"],
             musl: ["nginx.default.svc.cluster.local", "nginx.svc.cluster.local", "nginx.cluster.local", "nginx"],
             note: "ndots:5, no dot: search list, then as-is"),
        Case(name: "nginx.mynamespace.myfederation", conf: pod,
             glibc: ["nginx.mynamespace.myfederation.default.svc.cluster.local", "nginx.mynamespace.myfederation.svc.cluster.local",
                     "nginx.mynamespace.myfederation.cluster.local", "nginx.mynamespace.myfederation"],
             musl: ["nginx.mynamespace.myfederation.default.svc.cluster.local", "nginx.mynamespace.myfederation.svc.cluster.local",
                    "nginx.mynamespace.myfederation.cluster.local", "nginx.mynamespace.myfederation"],
             note: "ndots:5, two dots"),
        Case(name: "www.example.com", conf: pod,
             glibc: ["www.example.com.default.svc.cluster.local", "www.example.com.svc.cluster.local", "www.example.com.cluster.local", "www.example.com"],
             musl: ["www.example.com.default.svc.cluster.local", "www.example.com.svc.cluster.local", "www.example.com.cluster.local", "www.example.com"],
             note: "ndots:5, the well-known amplification"),
        Case(name: "a.b.c.d.e.f", conf: pod,
             glibc: ["a.b.c.d.e.f", "a.b.c.d.e.f.default.svc.cluster.local", "a.b.c.d.e.f.svc.cluster.local", "a.b.c.d.e.f.cluster.local"],
             musl: ["a.b.c.d.e.f"],
             note: "dots >= ndots: as-is first; only glibc searches after"),
        Case(name: "kubernetes.default.svc.cluster.local.", conf: pod,
             glibc: ["kubernetes.default.svc.cluster.local"], musl: ["kubernetes.default.svc.cluster.local"],
             note: "trailing dot: absolute"),
        Case(name: "host", conf: office,
             glibc: ["host.example.com", "host.corp.example", "host"], musl: ["host.example.com", "host.corp.example", "host"],
             note: "ndots:1, no dot"),
        Case(name: "www.google.com", conf: office,
             glibc: ["www.google.com", "www.google.com.example.com", "www.google.com.corp.example"], musl: ["www.google.com"],
             note: "ndots:1, dotted"),
        Case(name: "host.", conf: office, glibc: ["host"], musl: ["host"], note: "ndots:1, trailing dot"),
        Case(name: "host", conf: conf(["example.com", "corp.example"], ndots: 0),
             glibc: ["host", "host.example.com", "host.corp.example"], musl: ["host"],
             note: "ndots:0: even a single label goes as-is first"),
        Case(name: "host", conf: conf([]), glibc: ["host"], musl: ["host"], note: "no search list"),
        Case(name: "host", conf: conf(["example.com", "corp.example"], noTLDQuery: true),
             glibc: ["host.example.com", "host.corp.example"], musl: ["host.example.com", "host.corp.example", "host"],
             note: "no-tld-query (glibc only) drops a single label as-is"),
        Case(name: "a.b", conf: conf(["example.com"], ndots: 2, noTLDQuery: true),
             glibc: ["a.b.example.com", "a.b"], musl: ["a.b.example.com", "a.b"],
             note: "no-tld-query keeps dotted names"),
        Case(name: "host", conf: conf(["example.com", ".", "corp.example"]),
             glibc: ["host.example.com", "host", "host.corp.example"], musl: ["host.example.com", "host.corp.example", "host"],
             note: "root search domain: glibc tries as-is there and not again"),
        Case(name: long60, conf: conf(["example.com", "x"], ndots: 5),
             glibc: [long60], musl: [long60 + ".x", long60],
             note: "an over-long candidate ends glibc's walk; musl skips it"),
        Case(name: "Nginx.Default", conf: pod,
             glibc: ["Nginx.Default.default.svc.cluster.local", "Nginx.Default.svc.cluster.local", "Nginx.Default.cluster.local", "Nginx.Default"],
             musl: ["Nginx.Default.default.svc.cluster.local", "Nginx.Default.svc.cluster.local", "Nginx.Default.cluster.local", "Nginx.Default"],
             note: "case is kept"),
        Case(name: "a..b", conf: pod, glibc: [], musl: [], note: "not a name"),
        Case(name: "", conf: pod, glibc: [], musl: [], note: "empty"),
        Case(name: ".", conf: pod, glibc: [], musl: [], note: "the root"),
    ])
    func stubResolverOrder(c: Case) {
        #expect(candidates(for: c.name, conf: c.conf, flavor: .glibc).map(\.relativeDescription) == c.glibc)
        #expect(candidates(for: c.name, conf: c.conf, flavor: .musl).map(\.relativeDescription) == c.musl)
    }

    // MARK: server-side search path

    static let clusterDomain = try! DomainName("cluster.local")

    @Test func walksTheRestOfThePodsSearchList() throws {
        let result = try #require(searchCandidates(
            forQuery: try DomainName("nginx.mynamespace.myfederation.default.svc.cluster.local"),
            clientNamespace: "default", clusterDomain: Self.clusterDomain, hostSearch: [try DomainName("corp.example")]))
        #expect(result.original == (try DomainName("nginx.mynamespace.myfederation")))
        #expect(result.candidates.map(\.relativeDescription) == [
            "nginx.mynamespace.myfederation.svc.cluster.local",
            "nginx.mynamespace.myfederation.cluster.local",
            "nginx.mynamespace.myfederation.corp.example",
            "nginx.mynamespace.myfederation",
        ])
    }

    @Test func keepsTheCaseOfTheTypedName() throws {
        let result = try #require(searchCandidates(forQuery: try DomainName("NGINX.Default.SVC.cluster.local"), clientNamespace: "default",
                                                   clusterDomain: Self.clusterDomain, hostSearch: []))
        #expect(result.original.relativeDescription == "NGINX")
        #expect(result.candidates.map(\.relativeDescription) == ["NGINX.svc.cluster.local", "NGINX.cluster.local", "NGINX"])
    }

    @Test(arguments: [
        "nginx.svc.cluster.local",               // the second search element: autopath does not start there
        "nginx.other.svc.cluster.local",         // another namespace's element
        "default.svc.cluster.local",             // the element itself: nothing was typed
        "nginx.default.svc.cluster.local.corp.example",
        "www.example.com",
        "cluster.local",
    ])
    func onlyTheFirstSearchElementTriggersTheWalk(qname: String) throws {
        #expect(searchCandidates(forQuery: try DomainName(qname), clientNamespace: "default", clusterDomain: Self.clusterDomain,
                                 hostSearch: [try DomainName("corp.example")]) == nil)
    }

    @Test func hostSearchDomainsRepeatingClusterOnesAreNotTriedTwice() throws {
        let host = try ["cluster.local", "corp.example", "corp.example", "default.svc.cluster.local"].map { try DomainName($0) }
        let result = try #require(searchCandidates(forQuery: try DomainName("db.default.svc.cluster.local"), clientNamespace: "default",
                                                   clusterDomain: Self.clusterDomain, hostSearch: host))
        #expect(result.candidates.map(\.relativeDescription) == ["db.svc.cluster.local", "db.cluster.local", "db.corp.example", "db"])
    }

    @Test func aRootHostSearchDomainPlacesTheAsIsNameThere() throws {
        let host = try [".", "corp.example"].map { try DomainName($0) }
        let result = try #require(searchCandidates(forQuery: try DomainName("db.default.svc.cluster.local"), clientNamespace: "default",
                                                   clusterDomain: Self.clusterDomain, hostSearch: host))
        #expect(result.candidates.map(\.relativeDescription) == ["db.svc.cluster.local", "db.cluster.local", "db", "db.corp.example"])
    }

    @Test func leavesOutCandidatesOver255Octets() throws {
        // typed + default.svc.cluster.local fits; typed + the long host domain does not.
        let typed = (["a", "b", "c"].map { String(repeating: $0, count: 60) }).joined(separator: ".")
        let longHost = try DomainName(String(repeating: "h", count: 60) + "." + String(repeating: "i", count: 60) + ".example")
        let result = try #require(searchCandidates(forQuery: try DomainName(typed + ".default.svc.cluster.local"), clientNamespace: "default",
                                                   clusterDomain: Self.clusterDomain, hostSearch: [longHost]))
        #expect(result.candidates.map(\.relativeDescription) == [typed + ".svc.cluster.local", typed + ".cluster.local", typed])
    }

    @Test func emptySearchListHasNoWalk() throws {
        #expect(searchCandidates(forQuery: try DomainName("a.b"), searchList: []) == nil)
    }

    /// The server's walk is exactly the rest of what the pod's glibc resolver would have asked,
    /// for every name the pod sends with its first search element appended.
    @Test(arguments: ["nginx", "nginx.mynamespace", "nginx.mynamespace.myfederation", "_http._tcp.nginx.mynamespace.myfederation", "a.b.c.d"])
    func serverWalkMatchesThePodsOwnOrder(typed: String) throws {
        let host = try ["corp.example", "lab.example"].map { try DomainName($0) }
        let conf = ResolvConf.kubernetesPod(namespace: "default", clusterDomain: Self.clusterDomain, hostSearch: host, nameserver: "10.96.0.10")
        let podOrder = candidates(for: typed, conf: conf, flavor: .glibc)
        let first = try #require(podOrder.first)
        let walk = try #require(searchCandidates(forQuery: first, clientNamespace: "default", clusterDomain: Self.clusterDomain, hostSearch: host))
        #expect(walk.original == (try DomainName(typed)))
        #expect([first] + walk.candidates == podOrder)
        #expect(candidates(for: typed, conf: conf, flavor: .musl) == podOrder)
    }
}
