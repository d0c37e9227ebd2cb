/// How the cache is set up (DESIGN §4). TTLs and ages are in seconds.
public struct CacheConfig: Sendable, Equatable {
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

    /// Checks every setting; the error names the field.
    public func validate() throws(CacheConfigError) {
        if maxEntries < 1 { throw CacheConfigError(field: "cache.maxEntries", reason: "must be at least 1") }
        if minTTL > maxTTL { throw CacheConfigError(field: "cache.minTTL", reason: "must not exceed cache.maxTTL (\(maxTTL))") }
        if serveStale && staleAnswerTTL == 0 {
            throw CacheConfigError(field: "cache.staleAnswerTTL", reason: "must be positive when serveStale is on")
        }
    }
}

/// A cache setting that cannot be used; `field` is the configuration key.
public struct CacheConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) { self.field = field; self.reason = reason }
    public var description: String { "\(field): \(reason)" }
}
