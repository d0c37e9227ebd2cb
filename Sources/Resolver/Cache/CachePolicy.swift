import DNSWire

/// Which answers may be cached, and for how long.
enum CachePolicy {
    /// The kind of answer, for metrics and for the TTL rule it follows.
    enum Kind: Equatable { case positive, negative }

    /// How long `message` may be cached, or nil when it must not be:
    /// - TC answers never (the full answer was not seen); rcodes other than NOERROR/NXDOMAIN never;
    /// - positive: the smallest answer TTL, within `minTTL...maxTTL`;
    /// - negative (NXDOMAIN, or NOERROR without answer records): RFC 2308 §5, min(SOA TTL, SOA
    ///   MINIMUM) from the authority section, at most `maxNegativeTTL`; never without an SOA.
    ///   An NXDOMAIN after a CNAME chain is bounded by the chain's TTLs too.
    static func ttl(for message: Message, config: CacheConfig) -> (ttl: UInt32, kind: Kind)? {
        guard !message.header.truncated else { return nil }
        let rcode = message.header.rcode
        guard rcode == .noError || rcode == .nxDomain else { return nil }
        let answerMin = message.answer.map(\.ttl).min()
        let negative: UInt32? = message.authority.first(where: { $0.type == .soa }).flatMap { soa in
            RData.soaMinimum(soa.rdata).map { min(soa.ttl, $0, config.maxNegativeTTL) }
        }
        if rcode == .noError, let answerMin {
            let positive = min(max(answerMin, config.minTTL), config.maxTTL)
            // A CNAME chain ending in NODATA carries the SOA: its negative part bounds the whole.
            return (min(positive, negative ?? .max), .positive)
        }
        guard let negative else { return nil }
        return (min(negative, answerMin ?? .max), .negative)
    }
}
