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
        let soa = message.authority.first(where: { $0.type == .soa }).flatMap { soa in RData.soaMinimum(soa.rdata).map { (soa.ttl, $0) } }
        return ttl(truncated: message.header.truncated, rcode: message.header.rcode, answerMinimum: message.answer.map(\.ttl).min(),
                   soa: soa, config: config)
    }

    /// The same rules on an answer in wire form, read without a decode.
    static func ttl(for answer: PrerenderedAnswer, config: CacheConfig) -> (ttl: UInt32, kind: Kind)? {
        let (answerMinimum, soa) = answer.ttls
        return ttl(truncated: answer.truncated, rcode: answer.rcode, answerMinimum: answerMinimum, soa: soa, config: config)
    }

    private static func ttl(truncated: Bool, rcode: RCode, answerMinimum answerMin: UInt32?, soa: (ttl: UInt32, minimum: UInt32)?,
                            config: CacheConfig) -> (ttl: UInt32, kind: Kind)? {
        guard !truncated, rcode == .noError || rcode == .nxDomain else { return nil }
        let negative = soa.map { min($0.ttl, $0.minimum, config.maxNegativeTTL) }
        if rcode == .noError, let answerMin {
            let positive = min(max(answerMin, config.minTTL), config.maxTTL)
            // A CNAME chain ending in NODATA carries the SOA: its negative part bounds the whole.
            return (min(positive, negative ?? .max), .positive)
        }
        guard let negative else { return nil }
        return (min(negative, answerMin ?? .max), .negative)
    }
}
