import Foundation
import NameExpansion
import Testing
@testable import Server

@Suite struct ConfigTests {
    @Test func fullConfigFileIsRead() throws {
        let yaml = """
        mode: sidecar
        listen: ["127.0.0.1:5353", "[::1]:5353"]
        clusterDomain: corp.local
        ttl: 10
        federations: {myfederation: example.com, other: example.net.}
        zonalNameFormat: zone-region
        zone: US-Central1-A
        region: us-central1
        nodeName: node-a
        upstreams: ["127.0.0.2:5300", "127.0.0.3"]
        stubDomains: {"acme.local": ["10.0.0.53"]}
        zones: [{origin: example.com, file: /tmp/example.com.zone}]
        searchPath: {enabled: false, namespace: team-a}
        pods: verified
        cache: {maxEntries: 100, maxTTL: 60, maxNegativeTTL: 30, serveStale: false}
        allowedNetworks: ["127.0.0.0/8"]
        identity: node-a.fedns
        lameduck: 2s
        log: {level: debug}
        metrics: {listen: "127.0.0.1:0"}
        health: {listen: ""}
        source: {type: file, file: /tmp/cluster.yaml}
        """
        let c = try ConfigLoader.apply(yaml: yaml, to: FednsConfig())
        #expect(c.mode == .sidecar)
        #expect(c.listen == [HostPort(host: "127.0.0.1", port: 5353), HostPort(host: "::1", port: 5353)])
        #expect(c.clusterDomain == (try DomainName("corp.local")))
        #expect(c.ttl == 10)
        #expect(c.federations["other"] == (try DomainName("example.net")))
        #expect(c.zonalNameFormat == .zoneRegion)
        #expect(c.zone == "us-central1-a")
        #expect(c.upstreams == [HostPort(host: "127.0.0.2", port: 5300), HostPort(host: "127.0.0.3", port: 53)])
        #expect(c.stubDomains[try DomainName("acme.local")] == [HostPort(host: "10.0.0.53", port: 53)])
        #expect(c.zones == [ZoneSpec(origin: try DomainName("example.com"), file: "/tmp/example.com.zone")])
        #expect(c.searchPathOn == false)
        #expect(c.searchPathNamespace == "team-a")
        #expect(c.pods == .verified)
        #expect(c.cacheMaxEntries == 100 && c.cacheMaxTTL == 60 && c.cacheMaxNegativeTTL == 30 && !c.serveStale)
        #expect(c.allowedNetworks.count == 1)
        #expect(c.identity == "node-a.fedns")
        #expect(c.lameduckSeconds == 2)
        #expect(c.logLevel == "debug")
        #expect(c.metrics.address == HostPort(host: "127.0.0.1", port: 0))
        #expect(c.health.address == nil)
        #expect(c.clusterStateFile == "/tmp/cluster.yaml")
    }

    /// A bad setting is rejected with a message naming the field.
    @Test(arguments: [
        ("mode: daemon", "mode"),
        ("ttl: five", "ttl"),
        ("ttl: 99999", "ttl"),
        ("federations: {svc: example.com}", "federations.svc"),
        ("federations: {My_Fed: example.com}", "federations.My_Fed"),
        ("federations: {fed: 'exa mple.com'}", "federations.fed"),
        ("zonalNameFormat: region", "zonalNameFormat"),
        ("upstreams: [not-an-ip]", "upstreams[0]"),
        ("listen: ['127.0.0.1:99999']", "listen[0]"),
        ("stubDomains: {acme.local: []}", "stubDomains.acme.local"),
        ("zones: [{origin: example.com}]", "zones[0].file"),
        ("cache: {maxEntries: -1}", "cache.maxEntries"),
        ("cache: {maxEntrys: 5}", "cache.maxEntrys"),
        ("allowedNetworks: [10.0.0.0/33]", "allowedNetworks[0]"),
        ("pods: sometimes", "pods"),
        ("log: {level: loud}", "log.level"),
        ("forward: {budget: 6}", "forward.budget"),
        ("clusterDomian: cluster.local", "clusterDomian"),
    ])
    func badSettingsNameTheField(yaml: String, field: String) {
        #expect {
            _ = try ConfigLoader.apply(yaml: yaml, to: FednsConfig())
        } throws: { error in
            (error as? ConfigError)?.field == field
        }
    }

    @Test func kubeDNSConfigMapOverridesTheFileAndFlagsOverrideBoth() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-cm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "myfederation=example.com,other=example.org".write(to: dir.appendingPathComponent("federations"), atomically: true, encoding: .utf8)
        try #"{"acme.local": ["1.2.3.4"]}"#.write(to: dir.appendingPathComponent("stubDomains"), atomically: true, encoding: .utf8)
        try #"["8.8.8.8", "127.0.0.9:5300"]"#.write(to: dir.appendingPathComponent("upstreamNameservers"), atomically: true, encoding: .utf8)
        let configFile = dir.appendingPathComponent("fedns.yaml")
        try """
        federations: {fromfile: example.net}
        upstreams: ["127.0.0.7"]
        nodeName: from-file
        """.write(to: configFile, atomically: true, encoding: .utf8)

        var flags = CommandLineSettings()
        flags.configFile = configFile.path
        flags.kubeDNSConfigDir = dir.path
        flags.clusterStateFile = "/dev/null"
        var c = try ConfigResolver.resolve(flags, environment: ["NODE_NAME": "from-env", "POD_NAMESPACE": "Team-B"])
        #expect(Set(c.federations.keys) == ["myfederation", "other"])
        #expect(c.upstreams == [HostPort(host: "8.8.8.8", port: 53), HostPort(host: "127.0.0.9", port: 5300)])
        #expect(c.stubDomains.count == 1)
        #expect(c.nodeName == "from-env")
        #expect(c.searchPathNamespace == "team-b")

        flags.nodeName = "from-flag"
        flags.upstreams = ["127.0.0.8:53"]
        c = try ConfigResolver.resolve(flags, environment: ["NODE_NAME": "from-env"])
        #expect(c.nodeName == "from-flag")
        #expect(c.upstreams == [HostPort(host: "127.0.0.8", port: 53)])
    }

    @Test func invalidKubeDNSKeysAreRejectedWhole() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-cm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "myfederation".write(to: dir.appendingPathComponent("federations"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try KubeDNSConfigMap.apply(directory: dir.path, to: FednsConfig()) }
    }

    @Test func forwardingToAnOwnListenAddressIsRejected() throws {
        var flags = CommandLineSettings()
        flags.clusterStateFile = "/dev/null"
        flags.listen = ["127.0.0.1:5353"]
        flags.upstreams = ["127.0.0.1:5353"]
        let config = try ConfigResolver.resolve(flags, environment: [:])
        #expect { try FednsApp.validate(config) } throws: { ($0 as? ConfigError)?.field == "upstreams" }
        flags.upstreams = ["127.0.0.2:5353"]
        try FednsApp.validate(try ConfigResolver.resolve(flags, environment: [:]))
    }

    @Test func handlerSettingsAreValidatedWithTheirField() throws {
        var c = FednsConfig()
        c.clusterStateFile = "/dev/null"
        c.upstreams = [HostPort(host: "127.0.0.2", port: 53)]
        c.cacheMaxEntries = 0
        #expect { try FednsApp.validate(c) } throws: { ($0 as? ConfigError)?.field == "cache.maxEntries" }
        c.cacheMaxEntries = 10
        c.zones = [ZoneSpec(origin: try DomainName("example.com"), file: "/nonexistent.zone")]
        #expect { try FednsApp.validate(c) } throws: { ($0 as? ConfigError)?.field == "zones[0].file" }
    }

    @Test func modeDefaults() {
        var c = FednsConfig()
        #expect(c.effectiveListen == [HostPort(host: "169.254.20.10", port: 53)])
        #expect(c.searchPathOn == false)
        c.mode = .sidecar
        #expect(c.effectiveListen == [HostPort(host: "127.0.0.1", port: 53)])
        #expect(c.searchPathOn == true)
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("10.1.2.3", true), ("172.31.255.255", true), ("172.32.0.1", false),
        ("192.168.1.1", true), ("100.64.0.1", true), ("8.8.8.8", false), ("169.254.20.10", true),
        ("::1", true), ("fd00::1", true), ("fe80::1", true), ("2001:db8::1", false),
    ])
    func defaultAllowedNetworks(address: String, allowed: Bool) {
        let bytes = IPAddress.v4Bytes(address) ?? IPAddress.v6Bytes(address)!
        #expect(CIDR.defaultAllowed.contains { $0.contains(bytes) } == allowed)
    }
}
