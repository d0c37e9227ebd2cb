import DNSWire
import Foundation
import NameExpansion
import Server
import YAMLReader

/// `fedns publish --config FILE` (docs/publishing.md): the federation, its public domain, the member
/// clusters and the zone's primary. Unknown keys are rejected naming the field.
public struct PublisherConfig: Sendable {
    /// Where one member cluster's state comes from: a state file, or the API through a kubeconfig.
    public enum Source: Sendable, Equatable {
        case file(String)
        case kubernetes(kubeconfig: String, context: String?)
    }

    public struct Cluster: Sendable {
        public var name: String
        /// From the config, else the labels shared by the cluster's nodes; lower-cased.
        public var zone: String?
        public var region: String?
        public var source: Source
    }

    public var federation: String
    public var domain: DomainName
    public var zonalNameFormat: ZonalNameFormat = .zone
    public var ttl: UInt32 = 180
    /// Seconds a member cluster may be unreadable before its shards are taken out.
    public var clusterUnhealthyAfter: Double = 40
    public var clusters: [Cluster] = []
    public var server: HostPort
    public var zone: DomainName
    public var key: TSIGKey
    public var owner: String
    /// `/metrics`, `/health` and `/ready` (watching mode only); nil: off.
    public var admin: HostPort?

    /// The ownership record's text: `heritage=fedns,owner=<owner>`.
    public var ownershipText: String { "heritage=fedns,owner=\(owner)" }

    static let topKeys: Set<String> = ["federation", "domain", "zonalNameFormat", "ttl", "clusterUnhealthyAfter", "clusters", "dns", "admin"]
    static let clusterKeys: Set<String> = ["name", "zone", "region", "source"]
    static let sourceKeys: Set<String> = ["type", "file", "kubeconfig", "context"]
    static let dnsKeys: Set<String> = ["server", "zone", "tsig", "owner"]
    static let tsigKeys: Set<String> = ["name", "algorithm", "secret", "secretFile"]

    /// Reads the config file; relative paths (state files, kubeconfigs, the secret file) are taken from
    /// the config file's directory.
    public static func load(path: String) throws(ConfigError) -> PublisherConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(field: "--config", problem: "cannot read \(path)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, file: path, directory: directory.isEmpty ? "." : directory)
    }

    public static func parse(_ text: String, file: String?, directory: String) throws(ConfigError) -> PublisherConfig {
        let root = try YAMLField.document(text, file: file)
        guard root.isMapping else { throw root.fail("the publisher config must be a mapping") }
        try root.mapping(known: topKeys)
        func relative(_ p: String) -> String { p.hasPrefix("/") ? p : "\(directory)/\(p)" }
        func label(_ field: YAMLField, _ what: String) throws(ConfigError) -> String {
            let value = try field.requiredString()
            guard isLabel(value) else {
                throw field.fail("'\(value)' is not \(what)")
            }
            return value.asciiLowercased
        }
        func name(_ field: YAMLField) throws(ConfigError) -> DomainName {
            var text = try field.requiredString()
            if text.hasSuffix(".") { text.removeLast() }
            let labels = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !text.isEmpty, labels.allSatisfy(isLabel), text.utf8.count <= 253 else { throw field.fail("'\(text)' is not a DNS name") }
            return DomainName(labels: labels).lowercased
        }

        let federation = try label(root["federation"], "a DNS label")
        let domain = try name(root["domain"])
        var format = ZonalNameFormat.zone
        if let text = try root["zonalNameFormat"].string() {
            guard let f = ZonalNameFormat(rawValue: text) else { throw root["zonalNameFormat"].fail("must be zone or zone-region, not '\(text)'") }
            format = f
        }
        let ttl = try root["ttl"].int(in: 1...604_800) ?? 180
        let unhealthyAfter = try root["clusterUnhealthyAfter"].seconds() ?? 40
        guard unhealthyAfter > 0 else { throw root["clusterUnhealthyAfter"].fail("must be more than 0s") }

        var clusters: [Cluster] = []
        let clusterFields = try root["clusters"].items()
        guard !clusterFields.isEmpty else { throw root["clusters"].fail("at least one member cluster is required") }
        for c in clusterFields {
            try c.mapping(known: clusterKeys)
            let name = try c["name"].requiredString()
            if clusters.contains(where: { $0.name == name }) { throw c["name"].fail("cluster '\(name)' is listed twice") }
            let zone = c["zone"].isAbsent ? nil : try label(c["zone"], "a DNS label")
            let region = c["region"].isAbsent ? nil : try label(c["region"], "a DNS label")
            let s = c["source"]
            guard s.isMapping else { throw s.fail("is required: {type: file, file: F} or {type: kubernetes, kubeconfig: F, context: C}") }
            try s.mapping(known: sourceKeys)
            let source: Source
            switch try s["type"].requiredString() {
            case "file":
                source = .file(relative(try s["file"].requiredString()))
            case "kubernetes":
                source = .kubernetes(kubeconfig: relative(try s["kubeconfig"].requiredString()), context: try s["context"].string())
            case let other:
                throw s["type"].fail("must be file or kubernetes, not '\(other)'")
            }
            clusters.append(Cluster(name: name, zone: zone, region: region, source: source))
        }

        let dns = root["dns"]
        guard dns.isMapping else { throw dns.fail("is required: server, tsig, owner") }
        try dns.mapping(known: dnsKeys)
        let serverText = try dns["server"].requiredString()
        guard let server = HostPort(parsing: serverText, defaultPort: 53) else {
            throw dns["server"].fail("'\(serverText)' is not IP[:PORT]")
        }
        let zone = dns["zone"].isAbsent ? domain : try name(dns["zone"])
        guard domain.isSubdomain(of: zone) else { throw dns["zone"].fail("'\(zone)' does not hold the domain '\(domain)'") }
        let tsig = dns["tsig"]
        guard tsig.isMapping else { throw tsig.fail("is required: {name, algorithm: hmac-sha256, secret or secretFile}") }
        try tsig.mapping(known: tsigKeys)
        let keyName = try name(tsig["name"])
        let algorithm = try tsig["algorithm"].string() ?? "hmac-sha256"
        guard ["hmac-sha256", "hmac-sha384", "hmac-sha512"].contains(algorithm) else {
            throw tsig["algorithm"].fail("must be hmac-sha256, hmac-sha384 or hmac-sha512, not '\(algorithm)'")
        }
        var secret: String
        switch (try tsig["secret"].string(), try tsig["secretFile"].string()) {
        case (let s?, nil): secret = s
        case (nil, let f?):
            guard let data = FileManager.default.contents(atPath: relative(f)), let s = String(data: data, encoding: .utf8) else {
                throw tsig["secretFile"].fail("cannot read \(relative(f))")
            }
            secret = s
        case (.some, .some): throw tsig["secretFile"].fail("give secret or secretFile, not both")
        case (nil, nil): throw tsig["secret"].fail("is required (or secretFile)")
        }
        secret = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: secret), !decoded.isEmpty else { throw tsig["secret"].fail("is not base64") }
        let owner = try dns["owner"].string() ?? federation
        guard !owner.isEmpty, owner.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\"" && $0 != "," }) else {
            throw dns["owner"].fail("'\(owner)' must be printable ASCII without blanks, quotes or commas")
        }
        var admin: HostPort?
        if let text = try root["admin"].string(), text != "off" {
            guard let a = HostPort(parsing: text, defaultPort: 9155) else { throw root["admin"].fail("'\(text)' is not IP[:PORT] or off") }
            admin = a
        }
        var config = PublisherConfig(federation: federation, domain: domain, server: server, zone: zone,
                                     key: TSIGKey(name: keyName, algorithm: algorithm, secret: secret), owner: owner)
        config.zonalNameFormat = format
        config.ttl = UInt32(ttl)
        config.clusterUnhealthyAfter = unhealthyAfter
        config.clusters = clusters
        config.admin = admin
        return config
    }

    init(federation: String, domain: DomainName, server: HostPort, zone: DomainName, key: TSIGKey, owner: String) {
        self.federation = federation; self.domain = domain; self.server = server; self.zone = zone; self.key = key; self.owner = owner
    }

    static func isLabel(_ s: String) -> Bool {
        guard (1...63).contains(s.utf8.count), s.first != "-", s.last != "-" else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }
}
