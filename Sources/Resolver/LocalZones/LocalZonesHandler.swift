import DNSWire
import NameExpansion
import YAMLReader

/// Answers authoritatively (AA) for names at or under the origins of its zones, like CoreDNS
/// `file`; every other name goes to `next` (docs/behaviour.md, forwarding).
///
/// An exact RRset is the answer. A CNAME at the name is returned and, while its target stays in
/// the same zone, followed (at most `maxChain` links). A name without the type is NODATA, a name
/// that does not exist NXDOMAIN, both with the zone's SOA in authority. `*` wildcards are expanded
/// (RFC 4592); delegations below an origin are not supported.
public struct LocalZonesHandler: Handler {
    public let name = "local-zones"
    /// CNAME links followed inside a zone before the chain is returned as it stands.
    public static let maxChain = 8
    private let zones: [Zone]
    private let metrics = LocalZonesMetrics()

    /// - Throws: when a zone has no SOA at its origin, a record outside it, or a CNAME next to other data.
    public init(config: LocalZonesConfig) throws(ConfigError) {
        zones = try config.index()
    }

    /// The zone origins, for logs and docs.
    public var origins: [DomainName] { zones.map(\.origin) }

    public func handle(_ request: Request, next: Next) async -> Response {
        guard request.question.class == .in, let zone = zone(for: request.name) else { return await next(request) }
        let message = answer(request, in: zone)
        metrics.count(message.header.rcode)
        return Response(message: message)
    }

    /// The most specific zone containing `name`.
    private func zone(for name: DomainName) -> Zone? {
        zones.filter { name.isSubdomain(of: $0.origin) }.max { $0.origin.labelCount < $1.origin.labelCount }
    }

    private func answer(_ request: Request, in zone: Zone) -> Message {
        var m = Message.response(to: request.message)
        m.header.authoritative = true
        let type = request.type
        var name = request.question.name
        var visited: Set<DomainName> = []
        while visited.insert(name.lowercased).inserted && visited.count <= Self.maxChain {
            let (records, exists) = zone.node(name)
            if type == .any, !records.isEmpty {
                m.answer += records.sorted { $0.key.rawValue < $1.key.rawValue }.flatMap(\.value)
                return m
            }
            if let rrset = records[type] {
                m.answer += rrset
                return m
            }
            if let cname = records[.cname]?.first, let target = cname.targetName {
                m.answer.append(cname)
                // A target in another zone is the client's to chase, as with any authoritative server.
                guard target.isSubdomain(of: zone.origin), self.zone(for: target)?.origin == zone.origin else { return m }
                name = target
                continue
            }
            if !exists { m.header.rcode = .nxDomain }
            m.authority = [zone.negativeSOA]
            return m
        }
        return m
    }
}
