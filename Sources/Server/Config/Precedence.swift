import Foundation
import NameExpansion
import Yams

/// What the command line said; nil means "not given".
public struct CommandLineSettings: Sendable {
    public var configFile: String?
    public var mode: Mode?
    public var clusterStateFile: String?
    public var kubeconfig: String?
    public var inCluster = false
    public var kubeDNSConfigDir: String?
    public var listen: [String] = []
    public var upstreams: [String] = []
    public var nodeName: String?
    public init() {}
}

/// Applies DESIGN §7's precedence: flags, then environment (`NODE_NAME`, `POD_NAMESPACE`), then the
/// kube-dns ConfigMap keys, then the config file, then defaults.
public enum ConfigResolver {
    public static func resolve(_ flags: CommandLineSettings, environment: [String: String]) throws(ConfigError) -> FednsConfig {
        var c = FednsConfig()
        if let path = flags.configFile {
            c = try ConfigLoader.apply(yaml: try read(path, field: "--config"), to: c)
        }
        if let dir = flags.kubeDNSConfigDir {
            c = try KubeDNSConfigMap.apply(directory: dir, to: c)
        }
        if let v = environment["NODE_NAME"], !v.isEmpty { c.nodeName = v }
        if let v = environment["POD_NAMESPACE"], !v.isEmpty, c.searchPathNamespace == nil { c.searchPathNamespace = v.asciiLowercased }
        if let v = flags.mode { c.mode = v }
        if let v = flags.clusterStateFile { c.clusterStateFile = v; c.sourceType = "file" }
        if flags.kubeconfig != nil || flags.inCluster { c.sourceType = "kubernetes" }
        if !flags.listen.isEmpty {
            c.listen = try flags.listen.map { s throws(ConfigError) in
                guard let hp = HostPort(parsing: s, defaultPort: 53) else {
                    throw ConfigError(field: "--listen", problem: "'\(s)' is not an IP address with an optional :port")
                }
                return hp
            }
        }
        if !flags.upstreams.isEmpty {
            c.upstreams = try flags.upstreams.map { s throws(ConfigError) in
                guard let hp = HostPort(parsing: s, defaultPort: 53) else {
                    throw ConfigError(field: "--upstream", problem: "'\(s)' is not an IP address with an optional :port")
                }
                return hp
            }
        }
        if let v = flags.nodeName { c.nodeName = v }
        try validate(c)
        return c
    }

    /// Cross-field checks that no single key can make.
    public static func validate(_ c: FednsConfig) throws(ConfigError) {
        if c.sourceType == "file", c.clusterStateFile == nil {
            throw ConfigError(field: "source.file", problem: "the file source needs a cluster state file (--cluster-state or source.file)")
        }
        if c.sourceType == "kubernetes" {
            throw ConfigError(field: "source.type", problem: "the kubernetes API source is not available in this build; use the file source")
        }
    }

    static func read(_ path: String, field: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(field: field, problem: "cannot read '\(path)'")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The kube-dns ConfigMap keys, mounted as files in a directory (DESIGN §7): `federations`
/// (`a=b,c=d`), `stubDomains` and `upstreamNameservers` (JSON). They override the config file.
public enum KubeDNSConfigMap {
    public static func apply(directory: String, to base: FednsConfig) throws(ConfigError) -> FednsConfig {
        var c = base
        let fm = FileManager.default
        func file(_ key: String) -> String? {
            fm.contents(atPath: (directory as NSString).appendingPathComponent(key)).map { String(decoding: $0, as: UTF8.self) }
        }
        if let text = file("federations")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            var map: [String: String] = [:]
            for pair in text.split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                    throw ConfigError(field: "kube-dns federations", problem: "'\(pair)' is not name=domain")
                }
                map[kv[0]] = kv[1]
            }
            c.federations = try ConfigLoader.federations(map, field: "kube-dns federations")
        }
        if let text = file("stubDomains")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            guard let map = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                throw ConfigError(field: "kube-dns stubDomains", problem: "must be a JSON object of domain to server list")
            }
            c.stubDomains = try ConfigLoader.stubDomains(map, field: "kube-dns stubDomains")
        }
        if let text = file("upstreamNameservers")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            guard let list = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [Any] else {
                throw ConfigError(field: "kube-dns upstreamNameservers", problem: "must be a JSON list of servers")
            }
            c.upstreams = try list.enumerated().map { i, s throws(ConfigError) in
                guard let text = s as? String, let hp = HostPort(parsing: text, defaultPort: 53) else {
                    throw ConfigError(field: "kube-dns upstreamNameservers[\(i)]", problem: "'\(s)' is not an IP[:port]")
                }
                return hp
            }
        }
        return c
    }
}
