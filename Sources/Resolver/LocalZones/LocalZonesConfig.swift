import DNSWire
import Foundation
import NameExpansion
import YAMLReader

/// Zones served authoritatively, like CoreDNS `file` (docs/behaviour.md, forwarding): the `zones` key's files, and
/// origin → its records, as `ZoneFile.parse` returns them.
public struct LocalZonesConfig: ConfigSection {
    /// `zones: [{origin, file}]`, as written.
    public var files: [ZoneFileSpec]
    public var zones: [DomainName: [ResourceRecord]]
    public init(files: [ZoneFileSpec] = [], zones: [DomainName: [ResourceRecord]] = [:]) { self.files = files; self.zones = zones }

    public static let keys = ["zones"]

    public static let reference: [ConfigKeyDoc] = [
        ConfigKeyDoc("zones", type: "list of `{origin, file}`", default: "`[]`",
                     valid: "`origin`: a domain name; `file`: a readable RFC 1035 zone file with one SOA at the origin, no record outside it, no CNAME beside other data",
                     meaning: "zones served authoritatively (parsed with ldns), like CoreDNS `file`; wildcards per RFC 4592",
                     example: "zones: [{origin: example.com, file: /etc/fedns/example.com.zone}]"),
    ]

    public mutating func read(_ key: String, _ value: YAMLField) throws(ConfigError) {
        files = try value.items().map { item throws(ConfigError) in
            guard item.isMapping else { throw item.fail("must be a mapping with origin and file") }
            try item.mapping(known: ["origin", "file"])
            let originText = try item["origin"].requiredString()
            guard let origin = try? DomainName(originText) else { throw item["origin"].fail("'\(originText)' is not a domain name") }
            return ZoneFileSpec(origin: origin, file: try item["file"].requiredString(), location: item["file"].location)
        }
    }

    public func validate() -> [ConfigIssue] { [] }

    /// The records of every zone file, parsed with ldns; an error names the file and line of the
    /// `zones` entry and ldns's complaint.
    public func loadingFiles() throws(ConfigError) -> LocalZonesConfig {
        var out = self
        for (i, spec) in files.enumerated() {
            let field = "zones[\(i)].file"
            guard let data = FileManager.default.contents(atPath: spec.file) else {
                throw ConfigError(field: field, problem: "cannot read '\(spec.file)'").placed(at: spec.location)
            }
            do {
                out.zones[spec.origin] = try ZoneFile.parse(String(decoding: data, as: UTF8.self), origin: spec.origin)
            } catch {
                throw ConfigError(field: field, problem: "\(spec.file): \(error)").placed(at: spec.location)
            }
        }
        return out
    }

    /// Checks every zone and builds its index; the error names the zone and the offending record.
    func index() throws(ConfigError) -> [Zone] {
        var out: [Zone] = []
        for (origin, records) in zones.sorted(by: { $0.key < $1.key }) {
            out.append(try Zone(origin: origin, records: records))
        }
        return out
    }
}

/// One `zones:` entry: a zone file and its origin.
public struct ZoneFileSpec: Hashable, Sendable {
    public var origin: DomainName
    public var file: String
    /// Where the entry was written, for errors found when the file is read.
    public var location: SourceLocation?
    public init(origin: DomainName, file: String, location: SourceLocation? = nil) {
        self.origin = origin; self.file = file; self.location = location
    }
}

/// One zone, indexed by owner name.
struct Zone: Sendable {
    let origin: DomainName
    let soa: ResourceRecord
    /// Owner (lower-cased) → type → RRset.
    let rrsets: [DomainName: [RRType: [ResourceRecord]]]
    /// Every name that exists: owners and the empty non-terminals between them and the origin.
    let names: Set<DomainName>

    init(origin: DomainName, records: [ResourceRecord]) throws(ConfigError) {
        let field = "zones[\(origin)]"
        var rrsets: [DomainName: [RRType: [ResourceRecord]]] = [:]
        var names: Set<DomainName> = [origin.lowercased]
        for rr in records {
            guard rr.name.isSubdomain(of: origin) else {
                throw ConfigError(field: field, problem: "\(rr.name) \(rr.type) is outside the zone")
            }
            guard rr.class == .in else {
                throw ConfigError(field: field, problem: "\(rr.name) \(rr.type) has class \(rr.class), not IN")
            }
            let owner = rr.name.lowercased
            rrsets[owner, default: [:]][rr.type, default: []].append(rr)
            var n = owner
            while n.labelCount > origin.labelCount, names.insert(n).inserted { n = n.dropping(first: 1) }
        }
        let soas = rrsets[origin.lowercased]?[.soa] ?? []
        guard soas.count == 1, let soa = soas.first, RData.soaMinimum(soa.rdata) != nil else {
            throw ConfigError(field: field, problem: "needs exactly one well-formed SOA record at the origin, found \(soas.count)")
        }
        for (owner, types) in rrsets where types[.cname] != nil && types.count > 1 {
            throw ConfigError(field: field, problem: "\(owner) has a CNAME and other records (RFC 1034 §3.6.2)")
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
