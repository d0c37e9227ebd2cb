import Foundation
import NameExpansion
import Resolver
import Testing
import YAMLReader
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
        tcp: {maxConnections: 64, idleTimeout: 5, clientShare: 0.5}
        """
        let c = try ConfigLoader.apply(yaml: yaml, to: FednsConfig())
        #expect(c.tcp.maxConnections == 64 && c.tcp.idleTimeoutSeconds == 5 && c.tcp.clientShare == 0.5)
        #expect(c.mode == .sidecar)
        #expect(c.listen == [HostPort(host: "127.0.0.1", port: 5353), HostPort(host: "::1", port: 5353)])
        let cluster = try c.clusterZone.settings()
        #expect(cluster.clusterDomain == (try DomainName("corp.local")))
        #expect(cluster.ttl == 10)
        #expect(cluster.pods == .verified)
        #expect(c.federation.federations["other"] == "example.net.")
        #expect(c.federation.zonalNameFormat == ZonalNameFormat.zoneRegion.rawValue)
        #expect(c.federation.zone == "us-central1-a")
        #expect(c.forward.upstreams == [try Upstream(host: "127.0.0.2", port: 5300), try Upstream(host: "127.0.0.3", port: 53)])
        #expect(c.forward.stubDomains[try DomainName("acme.local")] == [try Upstream(host: "10.0.0.53", port: 53)])
        #expect(c.localZones.files.map { [$0.origin.description, $0.file] } == [["example.com.", "/tmp/example.com.zone"]])
        #expect(c.searchPathOn == false)
        #expect(c.searchPath.namespace == "team-a")
        #expect(c.cache.maxEntries == 100 && c.cache.maxTTL == 60 && c.cache.maxNegativeTTL == 30 && !c.cache.serveStale)
        #expect(c.allowedNetworks.count == 1)
        #expect(c.identity == "node-a.fedns")
        #expect(c.lameduckSeconds == 2)
        #expect(c.logLevel == "debug")
        #expect(c.effectiveMetrics == HostPort(host: "127.0.0.1", port: 0))
        #expect(c.effectiveHealth == nil)
        #expect(c.effectiveReady == HostPort(host: "0.0.0.0", port: 8181))
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
        ("tcp: {maxConnections: 0}", "tcp.maxConnections"),
        ("tcp: {clientShare: 1.5}", "tcp.clientShare"),
        ("tcp: {idleTimeout: 0}", "tcp.idleTimeout"),
        ("receiveBuffer: 100", "receiveBuffer"),
        ("clusterDomian: cluster.local", "clusterDomian"),
    ])
    func badSettingsNameTheField(yaml: String, field: String) {
        #expect {
            _ = try ConfigLoader.apply(yaml: yaml, file: "fedns.yaml", to: FednsConfig())
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.field == field && error.file == "fedns.yaml" && error.line == 1
                && error.description.hasPrefix("fedns.yaml:1: \(field): ")
        }
    }

    /// Every error names the file, the line and the key: a value of the wrong shape (found by the
    /// reader), a value out of range (found by its owner while reading), a check of the section
    /// (found after reading, placed where the key was written), an unknown key, a syntax error.
    @Test(arguments: [
        ("mode: sidecar\ncache:\n  maxEntries: -1\n", "fedns.yaml:3: cache.maxEntries: must not be negative"),
        ("mode: sidecar\ncache:\n  maxEntries: 0\n", "fedns.yaml:3: cache.maxEntries: must be at least 1"),
        ("ttl: 5\nfederations:\n  myfederation: example.com\n  svc: example.com\n", "fedns.yaml:4: federations.svc: "),
        ("mode: sidecar\n\nttl: 99999\n", "fedns.yaml:3: ttl: 99999 is outside 0…3600 seconds"),
        ("ttl: five\n", "fedns.yaml:1: ttl: must be an integer, not 'five'"),
        ("listen: ['127.0.0.1:53']\nclusterDomian: cluster.local\n", "fedns.yaml:2: clusterDomian: unknown setting"),
        ("forward:\n  timeout: 1\n  budget: 6\n", "fedns.yaml:3: forward.budget: must be below"),
        ("upstreams:\n  - 10.0.0.1\n  - not-an-ip\n", "fedns.yaml:3: upstreams[1]: 'not-an-ip' is not an IP address"),
        ("searchPath: {enabled: yes please}\n", "fedns.yaml:1: searchPath.enabled: must be true or false"),
        ("mode: sidecar\nlisten: [\n", "fedns.yaml:3: (file): not valid YAML"),
        ("- mode\n", "fedns.yaml:1: (top level): must be a mapping of settings"),
    ])
    func errorsNameFileLineAndKey(yaml: String, message: String) {
        #expect {
            _ = try ConfigLoader.apply(yaml: yaml, file: "fedns.yaml", to: FednsConfig())
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    /// Aliases can make a few lines of YAML into a billion nodes; reading a config must not walk them all.
    @Test func aliasExpansionIsNotWalked() {
        let keys = ["mode", "listen", "nodeName", "allowedNetworks", "identity", "lameduck", "log", "metrics", "health"]
        var lines = ["\(keys[0]): &l0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1..<keys.count {
            lines.append("\(keys[i]): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]")
        }
        let started = ContinuousClock.now
        #expect {
            _ = try ConfigLoader.apply(yaml: lines.joined(separator: "\n"), file: "fedns.yaml", to: FednsConfig())
        } throws: { "\($0)".hasPrefix("fedns.yaml:1: mode: ") }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    /// Errors found when the server builds the chain (a zone file that cannot be read, an upstream
    /// that is one of fedns's own addresses) are placed where their key was written too.
    @Test func buildTimeErrorsNameWhereTheKeyWasWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("fedns.yaml")
        try "upstreams: ['127.0.0.2']\nzones:\n  - {origin: example.com, file: /nonexistent.zone}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        var flags = CommandLineSettings()
        flags.configFile = file.path
        flags.clusterStateFile = "/dev/null"
        let zones = try ConfigResolver.resolve(flags, environment: [:])
        #expect { try FednsApp.validate(zones) } throws: { "\($0)".hasPrefix("\(file.path):3: zones[0].file: cannot read") }

        try "listen: ['127.0.0.1:5353']\nupstreams:\n  - 127.0.0.1:5353\n".write(to: file, atomically: true, encoding: .utf8)
        let loop = try ConfigResolver.resolve(flags, environment: [:])
        #expect { try FednsApp.validate(loop) } throws: { "\($0)".hasPrefix("\(file.path):2: upstreams: ") }
    }

    /// The configuration reference (docs/configuration.md) documents exactly the owners' keys, each key
    /// has one owner, and every example in it is a setting the loader accepts.
    @Test func theReferenceDocumentsEveryKeyAndItsExamplesLoad() throws {
        let owned = ConfigLoader.owners.flatMap(\.keys)
        #expect(owned.count == Set(owned).count, "a key has two owners")
        for section in ConfigLoader.sections {
            let documented = Set(section.reference.map { String($0.key.split(separator: ".")[0]) })
            #expect(documented == Set(section.keys), "\(section.name): the reference and the keys differ")
            for doc in section.reference {
                let top = String(doc.key.split(separator: ".")[0])
                #expect(doc.example.hasPrefix("\(top):"), "\(doc.key): the example sets another key")
                #expect(throws: Never.self, "\(doc.key): example '\(doc.example)'") {
                    _ = try ConfigLoader.apply(yaml: doc.example, file: "example.yaml", to: FednsConfig())
                }
                for field in [doc.type, doc.defaultValue, doc.valid, doc.meaning] { #expect(!field.isEmpty, "\(doc.key)") }
            }
        }
        let markdown = ConfigReference.markdown(flags: [])
        for key in ConfigLoader.sections.flatMap(\.reference).map(\.key) { #expect(markdown.contains("#### `\(key)`")) }
    }

    /// A default the reference gives as one literal (`5`, `cluster.local`) is the code's: writing it
    /// in a file changes nothing.
    @Test func theReferenceDefaultsAreTheCodesDefaults() throws {
        func shown(_ c: FednsConfig) -> String {
            var bare = c
            bare.locations = ConfigLocations()
            return String(reflecting: bare)
        }
        let defaults = shown(FednsConfig())
        var checked = 0
        for doc in ConfigLoader.sections.flatMap(\.reference) {
            let value = doc.defaultValue
            guard value.hasPrefix("`"), value.hasSuffix("`"), value.dropFirst().dropLast().allSatisfy({ $0 != "`" }) else { continue }
            let literal = value.dropFirst().dropLast()
            let path = doc.key.split(separator: ".")
            let yaml = path.count == 1 ? "\(path[0]): \(literal)" : "\(path[0]): {\(path[1]): \(literal)}"
            let loaded = try ConfigLoader.apply(yaml: yaml, file: "defaults.yaml", to: FednsConfig())
            #expect(shown(loaded) == defaults, "\(doc.key): the reference says the default is \(literal)")
            checked += 1
        }
        #expect(checked >= 20)
    }

    /// Each kube-dns ConfigMap key the reference lists is read: its example, written as the key's
    /// file, replaces the setting the reference names.
    @Test func theReferencedConfigMapKeysAreRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-cmref-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func changed(_ c: FednsConfig) -> Set<String> {
            var out: Set<String> = []
            if !c.federation.federations.isEmpty { out.insert("federations") }
            if !c.forward.stubDomains.isEmpty { out.insert("stubDomains") }
            if !c.forward.upstreams.isEmpty { out.insert("upstreams") }
            return out
        }
        #expect(KubeDNSConfigMap.reference.count == 3)
        for doc in KubeDNSConfigMap.reference {
            let file = dir.appendingPathComponent(doc.key)
            try doc.example.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let c = try KubeDNSConfigMap.apply(directory: dir.path, to: FednsConfig())
            #expect(changed(c) == [doc.valid.replacingOccurrences(of: "`", with: "")], "\(doc.key)")
        }
    }

    /// A nested key that the loader rejects fails the reference test above: the example of an unknown key does not load.
    @Test func anExampleOfAnUnknownKeyDoesNotLoad() {
        #expect(throws: ConfigError.self) { _ = try ConfigLoader.apply(yaml: "cache: {maxEntrys: 1}", file: "x.yaml", to: FednsConfig()) }
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
        #expect(Set(c.federation.federations.keys) == ["myfederation", "other"])
        #expect(c.forward.upstreams == [try Upstream(host: "8.8.8.8", port: 53), try Upstream(host: "127.0.0.9", port: 5300)])
        #expect(c.forward.stubDomains.count == 1)
        #expect(c.nodeName == "from-env")
        #expect(c.searchPath.namespace == "team-b")

        flags.nodeName = "from-flag"
        flags.upstreams = ["127.0.0.8:53"]
        c = try ConfigResolver.resolve(flags, environment: ["NODE_NAME": "from-env"])
        #expect(c.nodeName == "from-flag")
        #expect(c.forward.upstreams == [try Upstream(host: "127.0.0.8", port: 53)])
    }

    @Test func invalidKubeDNSKeysAreRejectedWhole() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-cm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "myfederation".write(to: dir.appendingPathComponent("federations"), atomically: true, encoding: .utf8)
        #expect {
            try KubeDNSConfigMap.apply(directory: dir.path, to: FednsConfig())
        } throws: { error in
            (error as? ConfigError)?.file == dir.appendingPathComponent("federations").path
                && (error as? ConfigError)?.field == "kube-dns federations"
        }
        try "myfederation=example.com,svc=example.org".write(to: dir.appendingPathComponent("federations"), atomically: true, encoding: .utf8)
        #expect {
            try KubeDNSConfigMap.apply(directory: dir.path, to: FednsConfig())
        } throws: { error in
            (error as? ConfigError)?.field == "kube-dns federations.svc"
        }
        try "myfederation=example.com".write(to: dir.appendingPathComponent("federations"), atomically: true, encoding: .utf8)
        try #"{"acme.local": ["not-an-ip"]}"#.write(to: dir.appendingPathComponent("stubDomains"), atomically: true, encoding: .utf8)
        #expect {
            try KubeDNSConfigMap.apply(directory: dir.path, to: FednsConfig())
        } throws: { error in
            "\(error)".hasPrefix("\(dir.appendingPathComponent("stubDomains").path):1: kube-dns stubDomains.acme.local[0]: ")
        }
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
        c.forward.upstreams = [try Upstream(host: "127.0.0.2", port: 53)]
        c.cache.maxEntries = 0
        #expect { try FednsApp.validate(c) } throws: { ($0 as? ConfigError)?.field == "cache.maxEntries" }
        c.cache.maxEntries = 10
        c.localZones.files = [ZoneFileSpec(origin: try DomainName("example.com"), file: "/nonexistent.zone")]
        #expect { try FednsApp.validate(c) } throws: { ($0 as? ConfigError)?.field == "zones[0].file" }
    }

    @Test func modeDefaults() {
        var c = FednsConfig()
        #expect(c.effectiveListen == [HostPort(host: "169.254.20.10", port: 53)])
        #expect(c.searchPathOn == false)
        // NodeLocal DNSCache: health and ready on the link-local address, metrics on :9253.
        #expect(c.effectiveHealth == HostPort(host: "169.254.20.10", port: 8080))
        #expect(c.effectiveReady == HostPort(host: "169.254.20.10", port: 8181))
        #expect(c.effectiveMetrics == HostPort(host: "0.0.0.0", port: 9253))
        c.mode = .sidecar
        #expect(c.effectiveListen == [HostPort(host: "127.0.0.1", port: 53)])
        #expect(c.searchPathOn == true)
        // CoreDNS ports.
        #expect(c.effectiveHealth == HostPort(host: "0.0.0.0", port: 8080))
        #expect(c.effectiveMetrics == HostPort(host: "0.0.0.0", port: 9153))
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

@Suite struct SourceSelectionTests {
    private func resolve(_ yaml: String?, _ edit: (inout CommandLineSettings) -> Void) throws -> FednsConfig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-src-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var flags = CommandLineSettings()
        if let yaml {
            let file = dir.appendingPathComponent("fedns.yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            flags.configFile = file.path
        }
        edit(&flags)
        return try ConfigResolver.resolve(flags, environment: [:])
    }

    @Test func theKubernetesSourceComesFromTheFileOrTheFlags() throws {
        var c = try resolve("source: {type: kubernetes, kubeconfig: /etc/kc, context: prod, bookmarkInterval: 5s}") { _ in }
        #expect(c.sourceType == "kubernetes")
        #expect(c.kube.kubeconfig == "/etc/kc")
        #expect(c.kube.context == "prod")
        #expect(c.kube.bookmarkIntervalSeconds == 5)
        c = try resolve("source: {type: kubernetes}") { _ in }
        #expect(c.kube.kubeconfig == nil)  // in-cluster
        // --in-cluster replaces the file's kubeconfig; --kubeconfig and --context replace the file's.
        c = try resolve("source: {type: kubernetes, kubeconfig: /etc/kc}") { $0.inCluster = true }
        #expect(c.sourceType == "kubernetes")
        #expect(c.kube.kubeconfig == nil)
        c = try resolve("source: {file: /dev/null}") { $0.kubeconfig = "kc/config"; $0.kubeContext = "dev" }
        #expect(c.sourceType == "kubernetes")
        #expect(c.kube.kubeconfig == "kc/config")
        #expect(c.kube.context == "dev")
        #expect(c.clusterStateFile == nil)
        // --cluster-state replaces the file's kubernetes source.
        c = try resolve("source: {type: kubernetes, kubeconfig: /etc/kc}") { $0.clusterStateFile = "/dev/null" }
        #expect(c.sourceType == "file")
        #expect(c.kube.kubeconfig == nil)
    }

    @Test(arguments: [
        ("source: {type: file, file: /dev/null, kubeconfig: /etc/kc}", "source.kubeconfig"),
        ("source: {type: kubernetes, file: /dev/null}", "source.file"),
        ("source: {type: kubernetes, bookmarkInterval: 0}", "source.bookmarkInterval"),
        ("source: {type: api}", "source.type"),
        ("source: {type: kubernetes, kubeconfg: /etc/kc}", "source.kubeconfg"),
    ])
    func conflictingOrBadSourceSettingsNameTheirKey(yaml: String, field: String) {
        #expect {
            _ = try resolve(yaml) { _ in }
        } throws: { ($0 as? ConfigError)?.field == field }
    }

    @Test func conflictingFlagsAreRejected() {
        #expect {
            _ = try resolve(nil) { $0.kubeconfig = "/kc"; $0.inCluster = true }
        } throws: { ($0 as? ConfigError)?.field == "--in-cluster" }
        #expect {
            _ = try resolve(nil) { $0.kubeconfig = "/kc"; $0.clusterStateFile = "/dev/null" }
        } throws: { ($0 as? ConfigError)?.field == "--cluster-state" }
    }
}
