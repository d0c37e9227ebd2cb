import Testing
import NameExpansion

/// Every name shape of the cluster zone (docs/behaviour.md) under the cluster domain, and the near misses around them.
struct ClusterGrammarTests {
    static let grammar = ClusterGrammar(clusterDomain: try! DomainName("Cluster.Local"))

    @Test(arguments: [
        ("cluster.local", ClusterName.apex),
        ("dns-version.cluster.local", .dnsVersion),
        ("svc.cluster.local", .serviceRoot),
        ("pod.cluster.local", .podRoot),
        ("default.svc.cluster.local", .namespace("default")),
        ("kubernetes.default.svc.cluster.local", .service(service: "kubernetes", namespace: "default")),
        ("kubernetes.default.svc.cluster.local.", .service(service: "kubernetes", namespace: "default")),
        ("Kubernetes.DEFAULT.Svc.CLUSTER.local", .service(service: "kubernetes", namespace: "default")),
        ("_https._tcp.kubernetes.default.svc.cluster.local", .srv(port: "https", proto: "tcp", service: "kubernetes", namespace: "default")),
        ("_DNS._UDP.kube-dns.kube-system.svc.cluster.local", .srv(port: "dns", proto: "udp", service: "kube-dns", namespace: "kube-system")),
        ("_tcp.kubernetes.default.svc.cluster.local", .srvProto(proto: "tcp", service: "kubernetes", namespace: "default")),
        ("web-0.nginx.default.svc.cluster.local", .endpoint(host: "web-0", service: "nginx", namespace: "default")),
        ("10-0-0-7.nginx.default.svc.cluster.local", .endpoint(host: "10-0-0-7", service: "nginx", namespace: "default")),
        ("default.pod.cluster.local", .podNamespace("default")),
        ("10-244-1-5.default.pod.cluster.local", .pod(dashedIP: "10-244-1-5", namespace: "default")),
        ("fd00--5.default.pod.cluster.local", .pod(dashedIP: "fd00--5", namespace: "default")),
        // A federated name through a pod's search path reads as an endpoint here (docs/behaviour.md, federation rule 4).
        ("nginx.mynamespace.myfederation.svc.cluster.local", .endpoint(host: "nginx", service: "mynamespace", namespace: "myfederation")),
    ])
    func parsesEveryShape(name: String, expected: ClusterName) throws {
        #expect(Self.grammar.parse(try DomainName(name)) == expected)
    }

    @Test(arguments: [
        "foo.cluster.local",                                     // neither svc, pod nor dns-version
        "a.b.web-0.nginx.default.svc.cluster.local",            // too many labels
        "x.y.z.default.svc.cluster.local",                       // six labels, no SRV shape
        "_http.web.nginx.default.svc.cluster.local",            // one underscore only
        "http._tcp.nginx.default.svc.cluster.local",            // port without underscore
        "_._tcp.nginx.default.svc.cluster.local",               // empty port
        "_.nginx.default.svc.cluster.local",                    // empty protocol
        "a.10-0-0-1.default.pod.cluster.local",                 // too deep under pod
        "x.dns-version.cluster.local",
    ])
    func nearMissesAreOther(name: String) throws {
        #expect(Self.grammar.parse(try DomainName(name)) == .other)
    }

    @Test(arguments: [
        "kubernetes.default.svc.cluster.local.evil.com",
        "kubernetes.default.svc.cluster.example",
        "cluster.locals",
        "local",
        "svc.local",
        "www.example.com",
    ])
    func namesOutsideTheClusterDomainAreNil(name: String) throws {
        #expect(Self.grammar.parse(try DomainName(name)) == nil)
    }

    @Test func otherClusterDomains() throws {
        let grammar = ClusterGrammar(clusterDomain: try DomainName("k8s.corp.example"))
        #expect(grammar.parse(try DomainName("api.prod.svc.k8s.corp.example")) == .service(service: "api", namespace: "prod"))
        #expect(grammar.parse(try DomainName("api.prod.svc.cluster.local")) == nil)
        #expect(grammar.serviceName("api", namespace: "prod") == (try DomainName("api.prod.svc.k8s.corp.example")))
    }
}
