import ClusterState
import DNSWire
import NameExpansion
@testable import Publisher
import Testing

@Suite struct RecordPlanTests {
    /// The publisher names what the resolver points at: the resolver's grammar parses the federated name as a
    /// pod asks it and builds the CNAME target; the planner's zonal, regional and global names are the same.
    @Test(arguments: [
        ("us-central1-a", "us-central1", ZonalNameFormat.zone), ("us-central1-a", "us-central1", .zoneRegion),
        ("europe-west1-b", "europe-west1", .zone), ("europe-west1-b", "europe-west1", .zoneRegion),
    ])
    func namesAgreeWithTheResolver(zone: String, region: String, format: ZonalNameFormat) throws {
        let grammar = FederationGrammar(clusterDomain: try DomainName("cluster.local"), federations: ["myfederation": try DomainName("example.com")])
        guard case .federated(let asked)? = grammar.match(try DomainName("nginx.mynamespace.myfederation.svc.cluster.local")) else {
            Issue.record("not federated"); return
        }
        let p = RecordPlanner(federation: "myfederation", domain: try DomainName("example.com"), format: format)
        #expect(p.zonalName(nginx, zone: zone, region: region) == grammar.target(for: asked, zone: zone, region: region, format: format).name)
        #expect(p.regionalName(nginx, region: region) == grammar.target(for: asked, zone: nil, region: region, format: format).name)
        #expect(p.globalName(nginx) == grammar.target(for: asked, zone: nil, region: nil, format: format).name)
        #expect(p.service(owning: p.zonalName(nginx, zone: zone, region: region)!) == nginx)
    }

    /// The announcement's record set: backends in three regions, none in Europe.
    @Test func threeRegionsHealthyEuropeNot() throws {
        let plan = planner.plan(try announcement(healthy: ["gce-asia-east1", "gce-us-central1", "gce-us-east1"]))
        #expect(zoneLines(try #require(plan[nginx])) == lines("""
            nginx.mynamespace.myfederation.svc.example.com. 180 IN A 198.51.100.10
            nginx.mynamespace.myfederation.svc.example.com. 180 IN A 203.0.113.30
            nginx.mynamespace.myfederation.svc.example.com. 180 IN A 203.0.113.40
            nginx.mynamespace.myfederation.svc.asia-east1.example.com. 180 IN A 198.51.100.10
            nginx.mynamespace.myfederation.svc.asia-east1-a.example.com. 180 IN A 198.51.100.10
            nginx.mynamespace.myfederation.svc.europe-west1.example.com. 180 IN CNAME nginx.mynamespace.myfederation.svc.example.com.
            nginx.mynamespace.myfederation.svc.europe-west1-b.example.com. 180 IN CNAME nginx.mynamespace.myfederation.svc.europe-west1.example.com.
            nginx.mynamespace.myfederation.svc.us-central1.example.com. 180 IN A 203.0.113.30
            nginx.mynamespace.myfederation.svc.us-central1-a.example.com. 180 IN A 203.0.113.30
            nginx.mynamespace.myfederation.svc.us-east1.example.com. 180 IN A 203.0.113.40
            nginx.mynamespace.myfederation.svc.us-east1-b.example.com. 180 IN A 203.0.113.40
            """))
    }

    /// No backends anywhere: CNAMEs up the hierarchy and no global name (NXDOMAIN), as the federation controller did.
    @Test func noHealthyShardAnywhere() throws {
        let records = try #require(planner.plan(try announcement(healthy: []))[nginx])
        #expect(records.names[planner.globalName(nginx)] == nil)
        #expect(zoneLines(records).filter { $0.contains("us-central1") } == lines("""
            nginx.mynamespace.myfederation.svc.us-central1.example.com. 180 IN CNAME nginx.mynamespace.myfederation.svc.example.com.
            nginx.mynamespace.myfederation.svc.us-central1-a.example.com. 180 IN CNAME nginx.mynamespace.myfederation.svc.us-central1.example.com.
            """))
        #expect(records.names.count == 8)
    }

    /// A shard is healthy with a ready endpoint *and* a load-balancer address, in a readable cluster.
    @Test(arguments: [(2, "203.0.113.30", true, true), (0, "203.0.113.30", true, false), (2, nil, true, false),
                      (2, "203.0.113.30", false, false)] as [(Int, String?, Bool, Bool)])
    func shardHealth(ready: Int, lb: String?, readable: Bool, healthy: Bool) throws {
        let m = try member("c", zone: "us-central1-a", region: "us-central1", ready: ready, lb: lb, readable: readable)
        let records = try #require(planner.plan([m])[nginx])
        #expect((records.names[planner.globalName(nginx)] != nil) == healthy)
    }

    /// A Service without the federation label is not published.
    @Test func unlabelledServicesAreNotPublished() throws {
        let objects = try ObjectLoader.load(yaml: clusterYAML(ready: 1, lb: "203.0.113.30", federated: false))
        let m = MemberCluster(name: "c", zone: "z", region: "r", readable: true, snapshot: ClusterSnapshot(generation: 1, objects: objects, nodeName: nil))
        #expect(planner.plan([m]).isEmpty)
    }
}

@Suite struct SharedTopologyTests {
    func nodes(_ labels: [(String?, String?)]) throws -> ClusterSnapshot {
        let yaml = labels.enumerated().map { i, l in
            let pairs = [l.0.map { "topology.kubernetes.io/zone: \($0)" }, l.1.map { "failure-domain.beta.kubernetes.io/region: \($0)" }]
            return "apiVersion: v1\nkind: Node\nmetadata:\n  name: n\(i)\n  labels: {\(pairs.compactMap { $0 }.joined(separator: ", "))}\n"
        }.joined(separator: "---\n")
        return ClusterSnapshot(generation: 1, objects: try ObjectLoader.load(yaml: yaml), nodeName: nil)
    }

    /// Without a zone in the config, the one every Node carries; none where they differ.
    @Test func theLabelsEveryNodeShares() throws {
        let same = try nodes([("us-central1-a", "us-central1"), ("US-Central1-A", "us-central1")]).sharedTopology
        #expect(same.zone == "us-central1-a" && same.region == "us-central1")
        let mixed = try nodes([("us-central1-a", "us-central1"), ("us-central1-b", "us-central1")]).sharedTopology
        #expect(mixed.zone == nil && mixed.region == "us-central1")
        let unlabelled = try nodes([("us-central1-a", "us-central1"), (nil, nil)]).sharedTopology
        #expect(unlabelled.zone == nil && unlabelled.region == nil)
    }
}
