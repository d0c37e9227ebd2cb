import NameExpansion
import Resolver
import Yams

/// A configuration that cannot be used, naming the field (`cache.maxEntries`) and why.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public init(field: String, problem: String) { self.field = field; self.problem = problem }
    public var description: String { "\(field): \(problem)" }
}

/// Reads the YAML configuration file (camelCase keys, DESIGN §7) onto a `FednsConfig`.
/// Unknown keys are rejected, so a typo is reported rather than silently ignored.
public enum ConfigLoader {
    static let topLevelKeys: Set<String> = [
        "mode", "listen", "clusterDomain", "ttl", "federations", "zonalNameFormat", "zone", "region", "nodeName",
        "upstreams", "upstreamResolvConf", "stubDomains", "zones", "searchPath", "pods", "cache", "allowedNetworks",
        "identity", "lameduck", "log", "metrics", "health", "ready", "source", "forward",
    ]

    /// Applies the file's settings over `base`.
    public static func apply(yaml text: String, to base: FednsConfig) throws(ConfigError) -> FednsConfig {
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch {
            throw ConfigError(field: "<file>", problem: "not valid YAML: \(error)")
        }
        guard let root else { return base }
        guard let map = root as? [String: Any] else { throw ConfigError(field: "<file>", problem: "must be a mapping of settings") }
        var c = base
        let r = Reader(map: map, path: "")
        try r.rejectUnknown(topLevelKeys)
        if let v = try r.string("mode") {
            guard let m = Mode(rawValue: v) else { throw r.error("mode", "must be node-local or sidecar, not '\(v)'") }
            c.mode = m
        }
        if let v = try r.stringList("listen") {
            c.listen = try v.enumerated().map { i, s throws(ConfigError) in try r.hostPort(s, field: "listen[\(i)]", defaultPort: 53) }
        }
        if let v = try r.string("clusterDomain") { c.clusterDomain = try r.domain(v, field: "clusterDomain") }
        if let v = try r.int("ttl") {
            guard (0...3600).contains(v) else { throw r.error("ttl", "must be between 0 and 3600 seconds") }
            c.ttl = UInt32(v)
        }
        if let v = try r.stringMap("federations") { c.federations = try federations(v, field: "federations") }
        if let v = try r.string("zonalNameFormat") {
            guard let f = ZonalNameFormat(rawValue: v) else { throw r.error("zonalNameFormat", "must be zone or zone-region, not '\(v)'") }
            c.zonalNameFormat = f
        }
        if let v = try r.string("zone") { c.zone = try r.label(v, field: "zone") }
        if let v = try r.string("region") { c.region = try r.label(v, field: "region") }
        if let v = try r.string("nodeName") { c.nodeName = v }
        if let v = try r.stringList("upstreams") {
            c.upstreams = try v.enumerated().map { i, s throws(ConfigError) in try r.hostPort(s, field: "upstreams[\(i)]", defaultPort: 53) }
        }
        if let v = try r.string("upstreamResolvConf") { c.upstreamResolvConf = v }
        if let v = try r.map("stubDomains") { c.stubDomains = try stubDomains(v, field: "stubDomains") }
        if let list = try r.list("zones") {
            c.zones = try list.enumerated().map { i, item throws(ConfigError) in
                guard let m = item as? [String: Any] else { throw ConfigError(field: "zones[\(i)]", problem: "must be a mapping with origin and file") }
                let z = Reader(map: m, path: "zones[\(i)].")
                try z.rejectUnknown(["origin", "file"])
                guard let origin = try z.string("origin") else { throw z.error("origin", "is required") }
                guard let file = try z.string("file") else { throw z.error("file", "is required") }
                return ZoneSpec(origin: try z.domain(origin, field: "origin"), file: file)
            }
        }
        if let s = try r.sub("searchPath") {
            try s.rejectUnknown(["enabled", "namespace"])
            c.searchPathEnabled = try s.bool("enabled") ?? c.searchPathEnabled
            if let ns = try s.string("namespace") { c.searchPathNamespace = try s.label(ns, field: "namespace") }
        }
        if let v = try r.string("pods") {
            guard let p = PodsMode(rawValue: v) else { throw r.error("pods", "must be disabled, insecure or verified, not '\(v)'") }
            c.pods = p
        }
        if let s = try r.sub("cache") {
            try s.rejectUnknown(["maxEntries", "maxTTL", "maxNegativeTTL", "serveStale"])
            if let v = try s.int("maxEntries") {
                guard v >= 0 else { throw s.error("maxEntries", "must not be negative") }
                c.cacheMaxEntries = v
            }
            if let v = try s.int("maxTTL") {
                guard v >= 0 else { throw s.error("maxTTL", "must not be negative") }
                c.cacheMaxTTL = UInt32(v)
            }
            if let v = try s.int("maxNegativeTTL") {
                guard v >= 0 else { throw s.error("maxNegativeTTL", "must not be negative") }
                c.cacheMaxNegativeTTL = UInt32(v)
            }
            c.serveStale = try s.bool("serveStale") ?? c.serveStale
        }
        if let v = try r.stringList("allowedNetworks") {
            c.allowedNetworks = try v.enumerated().map { i, s throws(ConfigError) in
                guard let n = CIDR(s) else { throw ConfigError(field: "allowedNetworks[\(i)]", problem: "'\(s)' is not a CIDR network") }
                return n
            }
        }
        if let v = r.map["identity"] {
            switch v {
            case let b as Bool: c.identity = b ? "fedns" : nil
            case let s as String: c.identity = s.isEmpty ? nil : s
            default: throw r.error("identity", "must be true, false or the name to report")
            }
        }
        if let v = try r.double("lameduck") {
            guard (0...300).contains(v) else { throw r.error("lameduck", "must be between 0 and 300 seconds") }
            c.lameduckSeconds = v
        }
        if let s = try r.sub("log") {
            try s.rejectUnknown(["level"])
            if let v = try s.string("level") {
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                    throw s.error("level", "must be trace, debug, info, notice, warning, error or critical")
                }
                c.logLevel = v
            }
        }
        for key in ["metrics", "health", "ready"] {
            guard let s = try r.sub(key) else { continue }
            try s.rejectUnknown(["listen"])
            guard let v = try s.string("listen") else { continue }
            let setting: AdminListen = v.isEmpty ? .off : .at(try s.hostPort(v, field: "listen", defaultPort: 0))
            switch key {
            case "metrics": c.metrics = setting
            case "health": c.health = setting
            default: c.ready = setting
            }
        }
        if let s = try r.sub("source") {
            try s.rejectUnknown(["type", "file"])
            if let v = try s.string("type") {
                guard v == "file" || v == "kubernetes" else { throw s.error("type", "must be file or kubernetes") }
                c.sourceType = v
            }
            if let v = try s.string("file") { c.clusterStateFile = v }
        }
        if let s = try r.sub("forward") {
            try s.rejectUnknown(["timeout", "budget", "maxConcurrent"])
            if let v = try s.double("timeout") {
                guard v > 0, v <= 5 else { throw s.error("timeout", "must be more than 0 and at most 5 seconds") }
                c.forwardTimeoutSeconds = v
            }
            if let v = try s.double("budget") {
                guard v > 0, v < 5 else { throw s.error("budget", "must be below a stub resolver's 5 s timeout") }
                c.forwardBudgetSeconds = v
            }
            if let v = try s.int("maxConcurrent") {
                guard v >= 1 else { throw s.error("maxConcurrent", "must be at least 1") }
                c.forwardMaxConcurrent = v
            }
        }
        return c
    }

    /// `federations: {name: domain}` (also the kube-dns ConfigMap form after splitting).
    public static func federations(_ map: [String: String], field: String) throws(ConfigError) -> [String: DomainName] {
        var out: [String: DomainName] = [:]
        for (name, domain) in map {
            // Warnings (a TLD-like name) are the federation handler's to report; errors stop here.
            if let error = FederationGrammar.validate(federation: name, domain: domain).first(where: \.isError) {
                throw ConfigError(field: "\(field).\(name)", problem: error.description)
            }
            guard let d = try? DomainName(domain) else {
                throw ConfigError(field: "\(field).\(name)", problem: "'\(domain)' is not a domain name")
            }
            out[name.asciiLowercased] = d
        }
        return out
    }

    /// `stubDomains: {suffix: [servers]}`.
    public static func stubDomains(_ map: [String: Any], field: String) throws(ConfigError) -> [DomainName: [HostPort]] {
        var out: [DomainName: [HostPort]] = [:]
        for (suffix, value) in map {
            guard let name = try? DomainName(suffix) else { throw ConfigError(field: "\(field).\(suffix)", problem: "is not a domain name") }
            guard let servers = value as? [Any], !servers.isEmpty else {
                throw ConfigError(field: "\(field).\(suffix)", problem: "must be a non-empty list of servers")
            }
            out[name] = try servers.enumerated().map { i, s throws(ConfigError) in
                guard let text = s as? String ?? (s as? Int).map(String.init),
                      let hp = HostPort(parsing: text, defaultPort: 53) else {
                    throw ConfigError(field: "\(field).\(suffix)[\(i)]", problem: "'\(s)' is not an IP[:port]")
                }
                return hp
            }
        }
        return out
    }

    /// A typed view of one YAML mapping that names fields in its errors.
    public struct Reader {
        let map: [String: Any]
        let path: String

        func error(_ key: String, _ problem: String) -> ConfigError { ConfigError(field: path + key, problem: problem) }

        func rejectUnknown(_ known: Set<String>) throws(ConfigError) {
            for key in map.keys.sorted() where !known.contains(key) {
                throw ConfigError(field: path + key, problem: "unknown setting (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
        func string(_ key: String) throws(ConfigError) -> String? {
            guard let v = map[key] else { return nil }
            if let s = v as? String { return s }
            if let i = v as? Int { return String(i) }
            throw error(key, "must be a string")
        }
        func int(_ key: String) throws(ConfigError) -> Int? {
            guard let v = map[key] else { return nil }
            guard let i = v as? Int else { throw error(key, "must be an integer") }
            return i
        }
        func double(_ key: String) throws(ConfigError) -> Double? {
            guard let v = map[key] else { return nil }
            if let i = v as? Int { return Double(i) }
            if let d = v as? Double { return d }
            if let s = v as? String, s.hasSuffix("s"), let d = Double(s.dropLast()) { return d }
            throw error(key, "must be a number of seconds")
        }
        func bool(_ key: String) throws(ConfigError) -> Bool? {
            guard let v = map[key] else { return nil }
            guard let b = v as? Bool else { throw error(key, "must be true or false") }
            return b
        }
        func list(_ key: String) throws(ConfigError) -> [Any]? {
            guard let v = map[key] else { return nil }
            guard let l = v as? [Any] else { throw error(key, "must be a list") }
            return l
        }
        func stringList(_ key: String) throws(ConfigError) -> [String]? {
            guard let v = map[key] else { return nil }
            if let s = v as? String { return [s] }
            guard let l = v as? [Any] else { throw error(key, "must be a list of strings") }
            return try l.enumerated().map { i, e throws(ConfigError) in
                guard let s = e as? String else { throw error("\(key)[\(i)]", "must be a string") }
                return s
            }
        }
        func map(_ key: String) throws(ConfigError) -> [String: Any]? {
            guard let v = map[key] else { return nil }
            guard let m = v as? [String: Any] else { throw error(key, "must be a mapping") }
            return m
        }
        func stringMap(_ key: String) throws(ConfigError) -> [String: String]? {
            guard let m = try map(key) else { return nil }
            var out: [String: String] = [:]
            for (k, v) in m {
                guard let s = v as? String else { throw error("\(key).\(k)", "must be a string") }
                out[k] = s
            }
            return out
        }
        func sub(_ key: String) throws(ConfigError) -> Reader? {
            guard let m = try map(key) else { return nil }
            return Reader(map: m, path: path + key + ".")
        }
        func hostPort(_ text: String, field: String, defaultPort: Int) throws(ConfigError) -> HostPort {
            guard let hp = HostPort(parsing: text, defaultPort: defaultPort) else {
                throw ConfigError(field: path + field, problem: "'\(text)' is not an IP address with an optional :port")
            }
            return hp
        }
        func domain(_ text: String, field: String) throws(ConfigError) -> DomainName {
            do { return try DomainName(text) } catch { throw ConfigError(field: path + field, problem: error.description) }
        }
        func label(_ text: String, field: String) throws(ConfigError) -> String {
            let lower = text.asciiLowercased
            guard DomainName.isRFC1123Label(lower) else { throw ConfigError(field: path + field, problem: "'\(text)' is not an RFC 1123 label") }
            return lower
        }
    }
}
