import ClusterState
import DNSWire
import NameExpansion

/// The zone's records by owner name (lower-cased) and type.
public struct ZoneContents: Sendable {
    public private(set) var byName: [DomainName: [RRType: [ResourceRecord]]] = [:]
    public init(_ records: [ResourceRecord]) {
        for r in records where r.class == .in { byName[r.name.lowercased, default: [:]][r.type, default: []].append(r) }
    }
    public func records(_ name: DomainName, _ type: RRType) -> [ResourceRecord] { byName[name.lowercased]?[type] ?? [] }
    public func inUse(_ name: DomainName) -> Bool { !(byName[name.lowercased]?.isEmpty ?? true) }
}

/// One UPDATE for one service (RFC 2136): what must hold, then what changes. Empty when the zone is right.
public struct ServiceUpdate: Sendable {
    public var service: ServiceKey
    /// RFC 2136 §2.4: value-dependent "RRset exists" for what is changed, "RRset does not exist" and
    /// "name is not in use" for what is created.
    public var prerequisites: [ResourceRecord] = []
    /// RFC 2136 §2.5, in order: deletions, then additions.
    public var updates: [ResourceRecord] = []
    /// For `--dry-run` and logs: the records removed and added, as they are (or will be) in the zone.
    public var removed: [ResourceRecord] = []
    public var added: [ResourceRecord] = []
    /// Names fedns should manage but that someone else holds (no ownership record of ours).
    public var conflicts: [DomainName] = []
    /// Records this service has in the zone once the update is applied (names, ownership records included).
    public var managedRecords = 0

    public var isEmpty: Bool { updates.isEmpty }
}

/// The planner's second half: the records services should have against what the zone holds, into minimal
/// updates. Only A, AAAA and CNAME at a managed name and the TXT beside it are ever touched.
public struct ZoneDiff: Sendable {
    public let planner: RecordPlanner
    public let ttl: UInt32
    public let ownershipText: String

    public init(planner: RecordPlanner, ttl: UInt32, ownershipText: String) {
        self.planner = planner; self.ttl = ttl; self.ownershipText = ownershipText
    }

    static let managedTypes: [RRType] = [.cname, .a, .aaaa]

    /// `_fedns.<name>`: the ownership record's owner.
    public static func ownershipName(_ name: DomainName) -> DomainName { name.prepending(["_fedns"]) }

    var ownershipRdata: [UInt8] { RData.txt([ownershipText]) }

    /// The names this owner manages in the zone, by service.
    public func ownedNames(_ zone: ZoneContents) -> [ServiceKey: Set<DomainName>] {
        var out: [ServiceKey: Set<DomainName>] = [:]
        let rdata = ownershipRdata
        for (name, types) in zone.byName where name.labels.first == "_fedns" {
            guard types[.txt]?.contains(where: { $0.rdata == rdata }) == true else { continue }
            let managed = name.dropping(first: 1)
            if let service = planner.service(owning: managed) { out[service, default: []].insert(managed) }
        }
        return out
    }

    /// One update per service whose records differ (or that has conflicts), sorted by service.
    public func updates(desired: [ServiceKey: ServiceRecords], zone: ZoneContents) -> [ServiceUpdate] {
        let owned = ownedNames(zone)
        let services = Set(desired.keys).union(owned.keys)
        return services.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }.map { key in
            update(key, desired: desired[key]?.names ?? [:], owned: owned[key] ?? [], zone: zone)
        }
    }

    func update(_ key: ServiceKey, desired: [DomainName: NameContent], owned: Set<DomainName>, zone: ZoneContents) -> ServiceUpdate {
        var u = ServiceUpdate(service: key)
        var deletions: [ResourceRecord] = [], additions: [ResourceRecord] = []
        let ownership = ownershipRdata
        for name in Set(desired.keys).union(owned).sorted() {
            let want = desired[name].map(records(at: name))
            let marker = Self.ownershipName(name)
            if !owned.contains(name) {
                guard let want else { continue }
                if zone.inUse(name) || zone.inUse(marker) { u.conflicts.append(name); continue }
                u.prerequisites += [Self.meta(name, .any, class: RRClass.none), Self.meta(marker, .any, class: RRClass.none)]
                let created = want + [ResourceRecord(name: marker, type: .txt, ttl: ttl, rdata: ownership)]
                additions += created; u.added += created
                u.managedRecords += created.count
                continue
            }
            var changed = false
            for type in Self.managedTypes {
                let current = zone.records(name, type)
                let wanted = (want ?? []).filter { $0.type == type }
                let currentData = Set(current.map(\.rdata)), wantedData = Set(wanted.map(\.rdata))
                let ttlRight = current.allSatisfy { $0.ttl == ttl }
                if currentData == wantedData && ttlRight { continue }
                changed = true
                if current.isEmpty {
                    u.prerequisites.append(Self.meta(name, type, class: RRClass.none))
                } else {
                    u.prerequisites += current.map { ResourceRecord(name: $0.name, type: type, ttl: 0, rdata: $0.rdata) }
                }
                if !ttlRight {
                    deletions.append(Self.meta(name, type, class: RRClass.any))
                    u.removed += current
                    additions += wanted; u.added += wanted
                } else {
                    for r in current where !wantedData.contains(r.rdata) {
                        deletions.append(ResourceRecord(name: r.name, type: type, class: RRClass.none, ttl: 0, rdata: r.rdata))
                        u.removed.append(r)
                    }
                    let new = wanted.filter { !currentData.contains($0.rdata) }
                    additions += new; u.added += new
                }
            }
            if want == nil {
                let markerRecord = ResourceRecord(name: marker, type: .txt, ttl: ttl, rdata: ownership)
                deletions.append(ResourceRecord(name: marker, type: .txt, class: RRClass.none, ttl: 0, rdata: ownership))
                u.removed.append(zone.records(marker, .txt).first { $0.rdata == ownership } ?? markerRecord)
                changed = true
            } else {
                u.managedRecords += want!.count + 1
            }
            if changed { u.prerequisites.append(ResourceRecord(name: marker, type: .txt, ttl: 0, rdata: ownership)) }
        }
        u.updates = deletions + additions
        return u
    }

    /// The records `content` stands for at `name`, with the configured TTL, in a stable order.
    func records(at name: DomainName) -> (NameContent) -> [ResourceRecord] {
        { content in
            switch content {
            case .alias(let target):
                return [ResourceRecord(name: name, type: .cname, ttl: self.ttl, rdata: RData.name(target))]
            case .addresses(let v4, let v6):
                return v4.sorted().compactMap { RData.a($0).map { ResourceRecord(name: name, type: .a, ttl: self.ttl, rdata: $0) } }
                    + v6.sorted().compactMap { RData.aaaa($0).map { ResourceRecord(name: name, type: .aaaa, ttl: self.ttl, rdata: $0) } }
            }
        }
    }

    /// A record with no rdata and TTL 0: RFC 2136's prerequisite and deletion forms (class ANY or NONE).
    static func meta(_ name: DomainName, _ type: RRType, class c: RRClass) -> ResourceRecord {
        ResourceRecord(name: name, type: type, class: c, ttl: 0, rdata: [])
    }
}
