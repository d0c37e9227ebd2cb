import CLDNS
import NameExpansion

// The only file that knows ldns object lifetimes (STYLE §9): one owner per object, freed in deinit,
// status codes turned into `WireError` in `ldnsCheck`. Nothing here is public.

/// Throws when ldns reports anything but success, with ldns's own words for the cause.
func ldnsCheck(_ status: ldns_status, _ context: @autoclosure () -> String) throws(WireError) {
    guard status != LDNS_STATUS_OK else { return }
    let reason = ldns_get_errorstr_by_id(status).map { String(cString: $0) } ?? "ldns status \(status.rawValue)"
    throw WireError("\(context()): \(reason)")
}

/// Owns one `ldns_pkt`.
final class LDNSPacket {
    let pointer: UnsafeMutablePointer<ldns_pkt>
    init(adopting pointer: UnsafeMutablePointer<ldns_pkt>) { self.pointer = pointer }
    convenience init() { self.init(adopting: ldns_pkt_new()!) }
    deinit { ldns_pkt_free(pointer) }
}

/// Owns one growable `ldns_buffer`, reused across renderings.
final class LDNSBuffer {
    let pointer: UnsafeMutablePointer<ldns_buffer>
    init(capacity: Int) { pointer = ldns_buffer_new(capacity)! }
    deinit { ldns_buffer_free(pointer) }

    /// The bytes written since the last `clear()`.
    var written: [UInt8] {
        let count = ldns_buffer_position(pointer)
        guard count > 0, let start = ldns_buffer_begin(pointer) else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }
    func clear() { ldns_buffer_clear(pointer) }
}

// MARK: names

extension DomainName {
    /// A name from uncompressed wire bytes (as ldns stores a DNAME rdf).
    init(wire bytes: UnsafeBufferPointer<UInt8>) {
        var labels: [String] = []
        var i = 0
        while i < bytes.count {
            let length = Int(bytes[i])
            if length == 0 || i + 1 + length > bytes.count { break }
            labels.append(DomainName.label(wireBytes: UnsafeBufferPointer(rebasing: bytes[(i + 1)..<(i + 1 + length)])))
            i += 1 + length
        }
        self.init(labels: labels)
    }

    /// The name of a DNAME rdf.
    init(ldns rdf: UnsafePointer<ldns_rdf>) {
        self.init(wire: UnsafeBufferPointer(start: ldns_rdf_data(rdf), count: ldns_rdf_size(rdf)))
    }

    /// A new DNAME rdf for this name; the caller owns it.
    func makeLDNSRdf() -> UnsafeMutablePointer<ldns_rdf> {
        let wire = RData.name(self)
        return wire.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, $0.count, $0.baseAddress)! }
    }
}

// MARK: records

extension ResourceRecord {
    /// Reads an ldns record: rdata is the concatenation of its rdfs' (uncompressed) wire forms.
    init(ldns rr: UnsafePointer<ldns_rr>) {
        var rdata: [UInt8] = []
        for i in 0..<ldns_rr_rd_count(rr) {
            guard let rdf = ldns_rr_rdf(rr, i), let data = ldns_rdf_data(rdf) else { continue }
            rdata.append(contentsOf: UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf)))
        }
        self.init(name: ldns_rr_owner(rr).map { DomainName(ldns: $0) } ?? .root,
                  type: RRType(UInt16(truncatingIfNeeded: ldns_rr_get_type(rr).rawValue)),
                  class: RRClass(UInt16(truncatingIfNeeded: ldns_rr_get_class(rr).rawValue)),
                  ttl: ldns_rr_ttl(rr), rdata: rdata)
    }

    /// A new ldns record; the caller owns it. Rdata is split into typed rdfs with `ldns_wire2rdf`
    /// (so names in it can be compressed); rdata that does not fit its type stays one opaque rdf.
    func makeLDNSRecord() -> UnsafeMutablePointer<ldns_rr> {
        let rr = ldns_rr_new()!
        ldns_rr_set_owner(rr, name.makeLDNSRdf())
        ldns_rr_set_type(rr, ldns_rr_type(UInt32(type.rawValue)))
        ldns_rr_set_class(rr, ldns_rr_class(UInt32(`class`.rawValue)))
        ldns_rr_set_ttl(rr, ttl)
        guard !rdata.isEmpty else { return rr }
        // ldns_wire2rdf reads the 16-bit RDLENGTH first.
        var framed = [UInt8(truncatingIfNeeded: rdata.count >> 8), UInt8(truncatingIfNeeded: rdata.count)]
        framed.append(contentsOf: rdata)
        var position = 0
        let status = framed.withUnsafeBufferPointer { ldns_wire2rdf(rr, $0.baseAddress, $0.count, &position) }
        if status != LDNS_STATUS_OK || position != framed.count || !typedRdataMatches(rr) {
            while let rdf = ldns_rr_pop_rdf(rr) { ldns_rdf_deep_free(rdf) }
            let opaque = rdata.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, $0.count, $0.baseAddress)! }
            ldns_rr_push_rdf(rr, opaque)
        }
        return rr
    }

    /// True when the typed rdfs render back to exactly `rdata` (a compression pointer in rdata would not).
    private func typedRdataMatches(_ rr: UnsafeMutablePointer<ldns_rr>) -> Bool {
        var offset = 0
        for i in 0..<ldns_rr_rd_count(rr) {
            guard let rdf = ldns_rr_rdf(rr, i), let data = ldns_rdf_data(rdf) else { return false }
            let size = ldns_rdf_size(rdf)
            guard offset + size <= rdata.count,
                  rdata[offset..<(offset + size)].elementsEqual(UnsafeBufferPointer(start: data, count: size)) else { return false }
            offset += size
        }
        return offset == rdata.count
    }
}
