import Foundation
import NameExpansion
import Resolver
import YAMLReader

/// What the command line said; nil means "not given".
public struct CommandLineSettings: Sendable {
    public var configFile: String?
    public var mode: Mode?
    public var clusterStateFile: String?
    public var kubeconfig: String?
    /// `--context`: the kubeconfig context (else its current-context).
    public var kubeContext: String?
    public var inCluster = false
    public var kubeDNSConfigDir: String?
    public var listen: [String] = []
    public var upstreams: [String] = []
    public var nodeName: String?
    /// `--node-setup` / `--no-node-setup`: sets `nodeSetup.enabled`.
    public var nodeSetup: Bool?
    /// `--handoff-socket`: sets `handoffSocket`.
    public var handoffSocket: String?
    public init() {}
}

/// Applies the precedence of docs/configuration.md: flags, then environment (`NODE_NAME`, `POD_NAMESPACE`), then the
/// kube-dns ConfigMap keys, then the config file, then defaults.
public enum ConfigResolver {
    public static func resolve(_ flags: CommandLineSettings, environment: [String: String]) throws(ConfigError) -> FednsConfig {
        var c = FednsConfig()
        if let path = flags.configFile {
            c = try ConfigLoader.apply(yaml: try read(path, field: "--config"), file: path, to: c)
        }
        if let dir = flags.kubeDNSConfigDir {
            c = try KubeDNSConfigMap.apply(directory: dir, to: c)
        }
        if let v = environment["NODE_NAME"], !v.isEmpty { c.nodeName = v }
        if let v = environment["POD_NAMESPACE"], !v.isEmpty, c.searchPath.namespace == nil { c.searchPath.namespace = v.asciiLowercased }
        if let v = flags.mode { c.mode = v }
        if let v = flags.clusterStateFile { c.clusterStateFile = v; c.sourceType = "file"; c.kube.kubeconfig = nil; c.kube.context = nil }
        if flags.kubeconfig != nil, flags.inCluster {
            throw ConfigError(field: "--in-cluster", problem: "give either --kubeconfig or --in-cluster, not both")
        }
        if flags.clusterStateFile != nil, flags.kubeconfig != nil || flags.inCluster {
            throw ConfigError(field: "--cluster-state", problem: "the file source and the Kubernetes API source (--kubeconfig, --in-cluster) exclude each other")
        }
        // A flag choosing the API source replaces the file's choice of source.
        if let v = flags.kubeconfig { c.sourceType = "kubernetes"; c.kube.kubeconfig = v; c.clusterStateFile = nil }
        if flags.inCluster { c.sourceType = "kubernetes"; c.kube.kubeconfig = nil; c.clusterStateFile = nil }
        if let v = flags.kubeContext { c.kube.context = v }
        if !flags.listen.isEmpty {
            c.listen = try flags.listen.map { s throws(ConfigError) in
                guard let hp = HostPort(parsing: s, defaultPort: 53) else {
                    throw ConfigError(field: "--listen", problem: "'\(s)' is not an IP address with an optional :port")
                }
                return hp
            }
        }
        if !flags.upstreams.isEmpty {
            c.forward.upstreams = try flags.upstreams.map { s throws(ConfigError) in
                do { return try Upstream(parsing: s, field: "--upstream") } catch {
                    throw ConfigError(field: "--upstream", problem: "'\(s)' is not an IP address with an optional :port")
                }
            }
            c.locations.forget("upstreams")
        }
        if let v = flags.nodeName { c.nodeName = v }
        if let v = flags.nodeSetup { c.nodeSetup.enabled = v; c.locations.forget("nodeSetup.enabled") }
        if let v = flags.handoffSocket { c.handoffSocket = v }
        try c.checkSections()
        try validate(c)
        return c
    }

    /// Cross-field checks that no single key can make.
    public static func validate(_ c: FednsConfig) throws(ConfigError) {
        if c.nodeSetup.enabled, c.mode != .nodeLocal {
            throw ConfigError(field: "nodeSetup.enabled", problem: "node set-up is for node-local mode only (a sidecar shares its pod's network)")
                .placed(at: c.locations.locate("nodeSetup.enabled"))
        }
        if c.sourceType == "file", c.clusterStateFile == nil {
            throw ConfigError(field: "source.file", problem: "the file source needs a cluster state file (--cluster-state or source.file)")
        }
        if c.sourceType == "kubernetes", c.clusterStateFile != nil {
            throw ConfigError(field: "source.file", problem: "applies to the file source only (source.type: file or --cluster-state)")
                .placed(at: c.locations.locate("source.file"))
        }
        if c.sourceType == "file", c.kube.kubeconfig != nil || c.kube.context != nil {
            let field = c.kube.kubeconfig != nil ? "source.kubeconfig" : "source.context"
            throw ConfigError(field: field, problem: "applies to the kubernetes source only (source.type: kubernetes, --kubeconfig or --in-cluster)")
                .placed(at: c.locations.locate(field))
        }
    }

    static func read(_ path: String, field: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(field: field, problem: "cannot read '\(path)'")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The kube-dns ConfigMap keys, mounted as files in a directory (docs/configuration.md): `federations`
/// (`a=b,c=d`), `stubDomains` and `upstreamNameservers` (JSON). They override the config file; each
/// is parsed by the section that owns the setting, and an error names the key's file.
public enum KubeDNSConfigMap {
    /// The keys read, as docs/configuration.md lists them (`ConfigKeyDoc.key` is the ConfigMap key,
    /// `type` its format, `valid` the setting it replaces, `example` the file's content).
    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("federations", type: "`name=domain` pairs, comma-separated", default: "unset: the file's `federations`",
                     valid: "`federations`", meaning: "the federations, as kube-dns read them", example: "myfederation=example.com,other=example.org"),
        ConfigKeyDoc("stubDomains", type: "JSON object of suffix to server list", default: "unset: the file's `stubDomains`",
                     valid: "`stubDomains`", meaning: "stub domains, as kube-dns read them", example: #"{"acme.local": ["10.150.0.1"]}"#),
        ConfigKeyDoc("upstreamNameservers", type: "JSON list of `HOST[:PORT]`", default: "unset: the file's `upstreams`",
                     valid: "`upstreams`", meaning: "the upstreams, as kube-dns read them", example: #"["8.8.8.8", "10.0.0.10:5300"]"#),
    ]

    public static func apply(directory: String, to base: FednsConfig) throws(ConfigError) -> FednsConfig {
        var c = base
        func path(_ key: String) -> String { (directory as NSString).appendingPathComponent(key) }
        func file(_ key: String) -> String? {
            FileManager.default.contents(atPath: path(key)).map { String(decoding: $0, as: UTF8.self) }
        }
        func placed(_ key: String, _ error: ConfigError) -> ConfigError {
            var e = error
            e.file = path(key)
            e.field = "kube-dns " + error.field
            return e
        }
        if let text = file("federations")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            var map: [String: String] = [:]
            for pair in text.split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                    throw ConfigError(field: "kube-dns federations", problem: "'\(pair)' is not name=domain", file: path("federations"))
                }
                map[kv[0]] = kv[1]
            }
            c.federation.federations = map
            c.locations.forget("federations")
            c.locations.record("federations", at: SourceLocation(file: path("federations"), line: nil))
            if let error = c.federation.validate().first(where: { $0.severity == .error && $0.field.hasPrefix("federations") }) {
                throw placed("federations", error.error())
            }
        }
        if let text = file("stubDomains")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            do throws(ConfigError) {
                c.forward.stubDomains = try ForwardConfig.stubDomains(json: text, field: "stubDomains")
            } catch { throw placed("stubDomains", error) }
            c.locations.forget("stubDomains")
            c.locations.record("stubDomains", at: SourceLocation(file: path("stubDomains"), line: nil))
        }
        if let text = file("upstreamNameservers")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            do throws(ConfigError) {
                c.forward.upstreams = try ForwardConfig.upstreams(json: text, field: "upstreamNameservers")
            } catch { throw placed("upstreamNameservers", error) }
            c.locations.forget("upstreams")
            c.locations.record("upstreams", at: SourceLocation(file: path("upstreamNameservers"), line: nil))
        }
        return c
    }
}
