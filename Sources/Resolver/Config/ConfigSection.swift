import NameExpansion
import YAMLReader

/// One owner's part of the configuration file: the top-level keys it reads, how it reads them, and
/// the checks on their values. Each handler's config adopts it in the handler's folder, as a CoreDNS
/// plugin's `setup.go` parses its own block; the server only routes keys to their owners.
public protocol ConfigSection: Sendable {
    /// The top-level keys of the file this section owns.
    static var keys: [String] { get }
    /// Reads one of `keys`; a value of the wrong shape throws naming its file, line and key.
    mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError)
    /// Every problem in the settings, warnings included; each names its key.
    func validate() -> [ConfigIssue]
    /// Every setting of `keys`, nested ones included, as docs/configuration.md lists them.
    static var reference: [ConfigKeyDoc] { get }
}

/// One problem found in a configuration; `field` names the setting (`ttl`, `federations.myfederation`)
/// so an operator can find it.
public struct ConfigIssue: Equatable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var field: String
    public var problem: String
    public var severity: Severity

    public init(field: String, problem: String, severity: Severity = .error) {
        self.field = field; self.problem = problem; self.severity = severity
    }

    public var description: String { "\(severity): \(field): \(problem)" }

    /// The issue as an error, placed where `locations` says its key was written.
    public func error(in locations: ConfigLocations = ConfigLocations()) -> ConfigError {
        ConfigError(field: field, problem: problem).placed(at: locations.locate(field))
    }
}

extension Array where Element == ConfigIssue {
    /// Throws the first error (warnings pass), placed where `locations` says its key was written.
    public func throwFirstError(in locations: ConfigLocations = ConfigLocations()) throws(ConfigError) {
        if let first = first(where: { $0.severity == .error }) { throw first.error(in: locations) }
    }
    public var warnings: [ConfigIssue] { filter { $0.severity == .warning } }
}

/// Checks shared by several sections.
public enum ConfigChecks {
    /// CoreDNS `kubernetes` accepts 0…3600.
    public static let ttlRange = 0...3600

    public static func ttlProblem(_ ttl: Int) -> String? {
        ttlRange.contains(ttl) ? nil : "\(ttl) is outside \(ttlRange.lowerBound)…\(ttlRange.upperBound) seconds"
    }

    /// Why `text` is not an RFC 1123 subdomain (a trailing dot is allowed), or nil.
    public static func subdomainProblem(_ text: String) -> String? {
        guard let name = try? DomainName(text), !name.isRoot else { return "'\(text)' is not a domain name" }
        guard name.wireLength <= 255 else { return "'\(text)' is longer than 253 characters" }
        if let bad = name.labels.first(where: { !DomainName.isRFC1123Label($0) }) {
            return "label '\(bad)' of '\(text)' is not an RFC 1123 label (letters, digits, inner hyphens)"
        }
        return nil
    }

    /// Why `text` is not one of `allowed`, or nil.
    public static func choiceProblem(_ text: String, _ allowed: [String]) -> String? {
        allowed.contains(text.asciiLowercased) ? nil : "'\(text)' is not one of \(allowed.joined(separator: ", "))"
    }

    /// A non-negative integer that fits a TTL field.
    public static func seconds32(_ value: YAMLField) throws(ConfigError) -> UInt32? {
        guard let v = try value.int() else { return nil }
        guard v >= 0 else { throw value.fail("must not be negative") }
        guard v <= Int(UInt32.max) else { throw value.fail("is too large") }
        return UInt32(v)
    }
}

/// One setting as the configuration reference describes it (`fedns config reference`, which writes
/// docs/configuration.md). Each owner lists its keys beside the code that reads them, so the
/// reference cannot drift from the parser: a test applies every `example` through the loader.
public struct ConfigKeyDoc: Sendable, Equatable {
    /// The setting's path in the file: `ttl`, `cache.maxEntries`.
    public var key: String
    /// `integer`, `seconds`, `string`, `boolean`, `list of HOST[:PORT]`, …
    public var type: String
    /// The default, as an operator would write it (or what decides it).
    public var defaultValue: String
    /// The values accepted.
    public var valid: String
    /// What it does, in one line.
    public var meaning: String
    /// The setting as written in a config file, one line of YAML: `cache: {maxEntries: 20000}`.
    public var example: String

    public init(_ key: String, type: String, default defaultValue: String, valid: String, meaning: String, example: String) {
        self.key = key; self.type = type; self.defaultValue = defaultValue; self.valid = valid
        self.meaning = meaning; self.example = example
    }
}

extension Array where Element == ConfigKeyDoc {
    /// The keys inside `block` that these entries document (`cache.maxTTL` → `maxTTL`). A section
    /// reads its block with exactly these, so a key cannot be accepted without being documented.
    public func keys(inside block: String) -> Set<String> {
        Set(compactMap { doc in
            let parts = doc.key.split(separator: ".", maxSplits: 1)
            return parts.count == 2 && parts[0] == block ? String(parts[1]) : nil
        })
    }
}
