import DNSWire
import NameExpansion

/// Zones served authoritatively, like CoreDNS `file` (DESIGN §4): origin → its records, as
/// `ZoneFile.parse` returns them.
public struct LocalZonesConfig: Sendable {
    public var zones: [DomainName: [ResourceRecord]]
    public init(zones: [DomainName: [ResourceRecord]]) { self.zones = zones }

    /// Checks every zone and builds its index; the error names the zone and the offending record.
    func index() throws(LocalZonesConfigError) -> [Zone] {
        var out: [Zone] = []
        for (origin, records) in zones.sorted(by: { $0.key < $1.key }) {
            out.append(try Zone(origin: origin, records: records))
        }
        return out
    }
}

/// A zone that cannot be served; `field` names it (`zones[example.com.]`).
public struct LocalZonesConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) { self.field = field; self.reason = reason }
    public var description: String { "\(field): \(reason)" }
}

/// One zone, indexed by owner name.
struct Zone: Sendable {
    let origin: DomainName
    let soa: ResourceRecord
    /// Owner (lower-cased) → type → RRset.
    let rrsets: [DomainName: [RRType: [ResourceRecord]]]
    /// Every name that exists: owners and the empty non-terminals between them and the origin.
    let names: Set<DomainName>

    init(origin: DomainName, records: [ResourceRecord]) throws(LocalZonesConfigError) {
        let field = "zones[\(origin)]"
        var rrsets: [DomainName: [RRType: [ResourceRecord]]] = [:]
        var names: Set<DomainName> = [origin.lowercased]
        for rr in records {
            guard rr.name.isSubdomain(of: origin) else {
                throw LocalZonesConfigError(field: field, reason: "\(rr.name) \(rr.type) is outside the zone")
            }
            guard rr.class == .in else {
                throw LocalZonesConfigError(field: field, reason: "\(rr.name) \(rr.type) has class \(rr.class), not IN")
            }
            let owner = rr.name.lowercased
            rrsets[owner, default: [:]][rr.type, default: []].append(rr)
            var n = owner
            while n.labelCount > origin.labelCount, names.insert(n).inserted { n = n.dropping(first: 1) }
        }
        let soas = rrsets[origin.lowercased]?[.soa] ?? []
        guard soas.count == 1, let soa = soas.first, RData.soaMinimum(soa.rdata) != nil else {
            throw LocalZonesConfigError(field: field, reason: "needs exactly one well-formed SOA record at the origin, found \(soas.count)")
        }
        for (owner, types) in rrsets where types[.cname] != nil && types.count > 1 {
            throw LocalZonesConfigError(field: field, reason: "\(owner) has a CNAME and other records (RFC 1034 §3.6.2)")
        }
        self.origin = origin
        self.soa = soa
        self.rrsets = rrsets
        self.names = names
    }

    /// The SOA for a negative answer: TTL min(SOA TTL, MINIMUM) (RFC 2308 §3).
    var negativeSOA: ResourceRecord {
        var rr = soa
        rr.ttl = min(soa.ttl, RData.soaMinimum(soa.rdata) ?? soa.ttl)
        return rr
    }

    /// The records at `name` (exact, or synthesised from a wildcard, RFC 4592) and whether the name exists.
    func node(_ name: DomainName) -> (records: [RRType: [ResourceRecord]], exists: Bool) {
        let key = name.lowercased
        if let found = rrsets[key] { return (found, true) }
        if names.contains(key) { return ([:], true) }
        // The closest encloser is the longest existing ancestor; its `*` child, if any, stands in.
        var encloser = key.dropping(first: 1)
        while !names.contains(encloser) && encloser.labelCount > origin.labelCount { encloser = encloser.dropping(first: 1) }
        guard let wild = rrsets[encloser.prepending(["*"])] else { return ([:], false) }
        return (wild.mapValues { $0.map { rr in var synthesised = rr; synthesised.name = name; return synthesised } }, true)
    }
}
