import Resolver
import YAMLReader

/// Reads the YAML configuration file (camelCase keys, docs/configuration.md) onto a `FednsConfig`: each
/// top-level key goes to its owner — the server's own keys, or a handler's section — which reads and
/// checks it. Unknown keys are rejected, so a typo is reported rather than silently ignored. Every
/// error names the file, the line and the key (`fedns.yaml:12: cache.maxEntries: must not be negative`).
public enum ConfigLoader {
    /// Every top-level key and its owner's name, in the order of the README's table.
    static var owners: [(name: String, keys: [String])] { sections.map { ($0.name, $0.keys) } }

    /// Every owner: its name, its keys, what the reference says of them, and the file that reads them.
    static var sections: [(name: String, keys: [String], reference: [ConfigKeyDoc], file: String)] {
        [("server", FednsConfig.serverKeys, FednsConfig.serverReference, "Sources/Server/Config/ServerSection.swift"),
         section("cluster-zone", "ClusterZone", ClusterZoneConfig.self), section("federation", "Federation", FederationConfig.self),
         section("search-path", "SearchPath", SearchPathConfig.self), section("local-zones", "LocalZones", LocalZonesConfig.self),
         section("cache", "Cache", CacheConfig.self), section("forward", "Forward", ForwardConfig.self)]
    }

    private static func section<S: ConfigSection>(_ name: String, _ folder: String, _ type: S.Type)
        -> (name: String, keys: [String], reference: [ConfigKeyDoc], file: String) {
        (name, S.keys, S.reference, "Sources/Resolver/\(folder)/\(folder)Config.swift")
    }

    static var topLevelKeys: Set<String> { Set(owners.flatMap(\.keys)) }

    /// Applies the file's settings over `base`; `file` names the file in errors.
    public static func apply(yaml text: String, file: String? = nil, to base: FednsConfig) throws(ConfigError) -> FednsConfig {
        let root = try YAMLField.document(text, file: file)
        return try apply(root, to: base)
    }

    /// Applies the settings of a YAML mapping (a config file's root, or a scenario's `config`) over `base`.
    public static func apply(_ root: YAMLField, to base: FednsConfig) throws(ConfigError) -> FednsConfig {
        guard !root.isAbsent else { return base }
        guard root.isMapping else { throw root.fail("must be a mapping of settings") }
        var c = base
        try root.mapping(known: topLevelKeys)
        c.locations.record(root)
        for (key, value) in try root.entries() {
            try c.read(key, value)
        }
        do { try c.checkSections() } catch {
            // Section checks name keys from the settings' root; inside another file, say where that root is.
            var placed = error
            if !root.path.isEmpty { placed.field = "\(root.path).\(error.field)" }
            throw placed
        }
        return c
    }
}

extension FednsConfig {
    /// Hands one top-level key to its owner.
    mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        if Self.serverKeys.contains(key) { try readServerKey(key, value) }
        else if ClusterZoneConfig.keys.contains(key) { try clusterZone.read(key, value) }
        else if FederationConfig.keys.contains(key) { try federation.read(key, value) }
        else if SearchPathConfig.keys.contains(key) { try searchPath.read(key, value) }
        else if LocalZonesConfig.keys.contains(key) { try localZones.read(key, value) }
        else if CacheConfig.keys.contains(key) { try cache.read(key, value) }
        else if ForwardConfig.keys.contains(key) { try forward.read(key, value) }
        else { throw value.fail("unknown setting") }
    }

    /// Every section's own checks; the first error is thrown, placed where its key was written.
    /// Warnings are left for the server to log when it builds the chain.
    public func checkSections() throws(ConfigError) {
        try sectionIssues.throwFirstError(in: locations)
    }

    /// Every section's issues, warnings included.
    public var sectionIssues: [ConfigIssue] {
        clusterZone.validate() + federation.validate() + searchPath.validate() + localZones.validate() + cache.validate()
            + forward.validate()
    }
}
