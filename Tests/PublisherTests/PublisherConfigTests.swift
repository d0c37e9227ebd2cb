@testable import Publisher
import Testing
import YAMLReader

@Suite struct PublisherConfigTests {
    let base = """
        federation: myfederation
        domain: example.com
        clusterUnhealthyAfter: 40s
        clusters:
          - name: gce-us-central1
            zone: us-central1-a
            region: us-central1
            source: {type: file, file: clusters/us-central1.yaml}
        dns:
          server: 127.0.0.1:5300
          tsig: {name: fedns-key, algorithm: hmac-sha256, secret: c2VjcmV0c2VjcmV0c2VjcmV0}
          owner: myfederation

        """

    @Test func readsTheDocumentedExample() throws {
        let c = try PublisherConfig.parse(base, file: "publish.yaml", directory: "/etc/fedns")
        #expect(c.ttl == 180 && c.clusterUnhealthyAfter == 40 && c.zonalNameFormat == .zone)
        #expect(c.zone == c.domain && c.server.port == 5300 && c.key.name.description == "fedns-key.")
        #expect(c.clusters.first?.source == .file("/etc/fedns/clusters/us-central1.yaml"))
        #expect(c.ownershipText == "heritage=fedns,owner=myfederation")
    }

    /// Every mistake names its field.
    @Test(arguments: [
        ("ttl: 180\nttlx: 3\n", "ttlx"),
        ("zonalNameFormat: region\n", "zonalNameFormat"),
        ("clusterUnhealthyAfter2: 1s\n", "clusterUnhealthyAfter2"),
    ])
    func badSettingsNameTheField(extra: String, field: String) {
        #expect { try PublisherConfig.parse(extra + base.replacingOccurrences(of: "clusterUnhealthyAfter: 40s\n", with: ""),
                                            file: "p.yaml", directory: ".") } throws: { error in
            (error as? ConfigError)?.field == field
        }
    }

    @Test func badNestedSettingsNameTheirPath() {
        let typo = base.replacingOccurrences(of: "owner: myfederation", with: "ownr: myfederation")
        #expect { try PublisherConfig.parse(typo, file: "p.yaml", directory: ".") } throws: { ($0 as? ConfigError)?.field == "dns.ownr" }
        let noSecret = base.replacingOccurrences(of: "secret: c2VjcmV0c2VjcmV0c2VjcmV0", with: "secret: '%%%'")
        #expect { try PublisherConfig.parse(noSecret, file: "p.yaml", directory: ".") } throws: { ($0 as? ConfigError)?.field == "dns.tsig.secret" }
    }
}
