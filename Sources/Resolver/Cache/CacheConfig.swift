import YAMLReader

/// How the cache is set up (docs/behaviour.md, the cache): the `cache` key. TTLs and ages are in seconds.
public struct CacheConfig: ConfigSection, Equatable {
    /// At most this many answers are kept; a full cache evicts (see `CacheStore`).
    public var maxEntries: Int = 10_000
    /// Positive answers are kept at most this long, whatever their records say.
    public var maxTTL: UInt32 = 3600
    /// Positive answers are kept at least this long (0: records' TTLs are honoured as they are).
    public var minTTL: UInt32 = 0
    /// Negative answers (NXDOMAIN, NODATA) are kept at most this long (RFC 2308 §5).
    public var maxNegativeTTL: UInt32 = 1800
    /// Serve an expired answer when the upstream path fails (RFC 8767).
    public var serveStale: Bool = true
    /// How long after expiry an answer may still be served stale (RFC 8767 suggests 1–3 days; a
    /// cluster resolver keeps it short).
    public var staleMaxAge: UInt32 = 3600
    /// The TTL of every record in a stale answer (RFC 8767 §4 recommends 30 s).
    public var staleAnswerTTL: UInt32 = 30

    public init(maxEntries: Int = 10_000, maxTTL: UInt32 = 3600, minTTL: UInt32 = 0, maxNegativeTTL: UInt32 = 1800,
                serveStale: Bool = true, staleMaxAge: UInt32 = 3600, staleAnswerTTL: UInt32 = 30) {
        self.maxEntries = maxEntries; self.maxTTL = maxTTL; self.minTTL = minTTL; self.maxNegativeTTL = maxNegativeTTL
        self.serveStale = serveStale; self.staleMaxAge = staleMaxAge; self.staleAnswerTTL = staleAnswerTTL
    }

    public static let keys = ["cache"]

    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("cache.maxEntries", type: "integer", default: "`10000`", valid: "at least 1",
                     meaning: "answers kept at most; a full cache evicts", example: "cache: {maxEntries: 20000}"),
        ConfigKeyDoc("cache.maxTTL", type: "integer, seconds", default: "`3600`", valid: "0…4294967295",
                     meaning: "positive answers are kept at most this long, whatever their records say", example: "cache: {maxTTL: 600}"),
        ConfigKeyDoc("cache.maxNegativeTTL", type: "integer, seconds", default: "`1800`", valid: "0…4294967295",
                     meaning: "NXDOMAIN and NODATA answers are kept at most this long (RFC 2308 §5); never without an SOA",
                     example: "cache: {maxNegativeTTL: 60}"),
        ConfigKeyDoc("cache.serveStale", type: "boolean", default: "`true`", valid: "`true`, `false`",
                     meaning: "when every upstream fails, answer from an expired entry up to 3600 s old, TTL 30 s, with EDE 3 (RFC 8767)",
                     example: "cache: {serveStale: false}"),
    ]

    public mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        try value.mapping(known: Self.reference.keys(inside: "cache"))
        if let v = try value["maxEntries"].int() {
            guard v >= 0 else { throw value["maxEntries"].fail("must not be negative") }
            maxEntries = v
        }
        maxTTL = try ConfigChecks.seconds32(value["maxTTL"]) ?? maxTTL
        maxNegativeTTL = try ConfigChecks.seconds32(value["maxNegativeTTL"]) ?? maxNegativeTTL
        serveStale = try value["serveStale"].bool() ?? serveStale
    }

    /// Every problem in the settings, naming the field.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if maxEntries < 1 { issues.append(.init(field: "cache.maxEntries", problem: "must be at least 1")) }
        if minTTL > maxTTL { issues.append(.init(field: "cache.minTTL", problem: "must not exceed cache.maxTTL (\(maxTTL))")) }
        if serveStale && staleAnswerTTL == 0 {
            issues.append(.init(field: "cache.staleAnswerTTL", problem: "must be positive when serveStale is on"))
        }
        return issues
    }
}
