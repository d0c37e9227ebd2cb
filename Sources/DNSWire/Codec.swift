import CLDNS
import NameExpansion

/// Why bytes could not be read as a DNS message, or a record as text.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The ldns-backed codec: the only place that turns messages into bytes and back.
public enum WireCodec {
    /// Parses a whole message. The OPT record is lifted into `Message.edns`; its upper rcode bits
    /// join the header's into the 12-bit `RCode`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Message {
        guard bytes.count >= 12 else { throw WireError("message shorter than its 12-byte header") }
        if let error = bytes.withUnsafeBytes({ tsigPlacementError($0) }) { throw error }
        var raw: UnsafeMutablePointer<ldns_pkt>?
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&raw, $0.baseAddress, $0.count) }
        try ldnsCheck(status, "malformed message")
        guard let raw else { throw WireError("malformed message") }
        let packet = LDNSPacket(adopting: raw)
        if let error = bytes.withUnsafeBytes({ rdataLengthError(packet, wire: $0) }) { throw error }
        return try message(from: packet)
    }

    /// Renders `message`. When the result would exceed `maxSize`, as many whole records as fit are
    /// kept — records are dropped from the end: additional, then authority, then answer — and TC is
    /// set when answer or authority lost anything (RFC 2181 §9); the OPT record is always kept.
    public static func encode(_ message: Message, maxSize: Int = 65535) -> [UInt8] {
        WireEncoder().encode(message, maxSize: maxSize)
    }

    static func message(from packet: LDNSPacket) throws(WireError) -> Message {
        let p = packet.pointer
        var m = Message()
        m.header.id = ldns_pkt_id(p)
        m.header.isResponse = ldns_pkt_qr(p)
        m.header.opcode = Opcode(UInt8(truncatingIfNeeded: ldns_pkt_get_opcode(p).rawValue))
        m.header.authoritative = ldns_pkt_aa(p)
        m.header.truncated = ldns_pkt_tc(p)
        m.header.recursionDesired = ldns_pkt_rd(p)
        m.header.recursionAvailable = ldns_pkt_ra(p)
        m.header.authenticData = ldns_pkt_ad(p)
        m.header.checkingDisabled = ldns_pkt_cd(p)
        var rcode = UInt16(truncatingIfNeeded: ldns_pkt_get_rcode(p).rawValue) & 0x0F

        func records(_ list: UnsafeMutablePointer<ldns_rr_list>?) -> [ResourceRecord] {
            guard let list else { return [] }
            return (0..<ldns_rr_list_rr_count(list)).compactMap { ldns_rr_list_rr(list, $0).map { ResourceRecord(ldns: $0) } }
        }
        m.questions = records(ldns_pkt_question(p)).map { Question(name: $0.name, type: $0.type, class: $0.class) }
        m.answer = records(ldns_pkt_answer(p))
        m.authority = records(ldns_pkt_authority(p))
        m.additional = records(ldns_pkt_additional(p))
        if let tsig = ldns_pkt_tsig(p) { m.additional.append(ResourceRecord(ldns: tsig)) }

        let optCount = p.pointee._edns_present
        guard optCount <= 1 else { throw WireError("more than one OPT record (RFC 6891 §6.1.1)") }
        if optCount == 1 {
            var edns = EDNS(udpPayloadSize: ldns_pkt_edns_udp_size(p), version: ldns_pkt_edns_version(p),
                            dnssecOK: ldns_pkt_edns_do(p))
            if let data = ldns_pkt_edns_data(p), ldns_rdf_size(data) > 0 {
                let raw = UnsafeRawBufferPointer(start: ldns_rdf_data(data), count: ldns_rdf_size(data))
                guard let options = WireWalk(raw).ednsOptions(0..<raw.count) else {
                    throw WireError("OPT record: an option overruns the record")
                }
                edns.options = options
            }
            m.edns = edns
            rcode |= UInt16(ldns_pkt_edns_extended_rcode(p)) << 4
        }
        m.header.rcode = RCode(rcode)
        return m
    }

    /// ldns reads rdata by type and silently stops early when RDLENGTH claims more; a record whose
    /// typed fields do not span its RDLENGTH is malformed (and would shift every later record).
    /// RFC 8945 §5.1: at most one TSIG, and only as the last record. ldns 1.8.3 keeps only the last
    /// TSIG it reads and leaks the others (found by fuzzing), so such messages never reach it.
    static func tsigPlacementError(_ wire: UnsafeRawBufferPointer) -> WireError? {
        let walk = WireWalk(wire)
        var position = 12
        for _ in 0..<Int(walk.u16(4)) {
            guard let q = walk.name(at: position), q.end + 4 <= wire.count else { return nil }  // ldns reports it
            position = q.end + 4
        }
        let total = Int(walk.u16(6)) + Int(walk.u16(8)) + Int(walk.u16(10))
        for n in 0..<total {
            guard let record = walk.record(at: position) else { return nil }
            if record.type == RRType.tsig.rawValue && n != total - 1 {
                return WireError("a TSIG record that is not the last record")
            }
            position = record.end
        }
        return nil
    }

    static func rdataLengthError(_ packet: LDNSPacket, wire: UnsafeRawBufferPointer) -> WireError? {
        let walk = WireWalk(wire)
        var position = 12
        for _ in 0..<Int(walk.u16(4)) {
            guard let q = walk.name(at: position) else { return nil }  // ldns accepted it; forward pointers are its business
            position = q.end + 4
        }
        let p = packet.pointer
        var ldnsRecords: [UnsafeMutablePointer<ldns_rr>] = []
        for list in [ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)] {
            guard let list else { continue }
            for i in 0..<ldns_rr_list_rr_count(list) { if let rr = ldns_rr_list_rr(list, i) { ldnsRecords.append(rr) } }
        }
        var index = 0
        let beforeAdditional = Int(walk.u16(6)) + Int(walk.u16(8))
        for n in 0..<(beforeAdditional + Int(walk.u16(10))) {
            guard let record = walk.record(at: position) else { return nil }
            position = record.end
            // ldns lifts OPT and TSIG out of the additional section.
            if n >= beforeAdditional && (record.type == RRType.opt.rawValue || record.type == RRType.tsig.rawValue) { continue }
            guard index < ldnsRecords.count else { return nil }
            let rr = ldnsRecords[index]
            index += 1
            var offset = record.rdata.lowerBound
            for i in 0..<ldns_rr_rd_count(rr) {
                guard let rdf = ldns_rr_rdf(rr, i) else { continue }
                if ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME {
                    guard offset < record.end, let name = walk.name(at: offset) else { return nil }
                    offset = name.end
                } else {
                    offset += ldns_rdf_size(rdf)
                }
            }
            guard offset == record.end else {
                return WireError("\(RRType(record.type)) record: RDLENGTH \(record.rdata.count) does not match its data")
            }
        }
        return nil
    }
}

/// Renders messages with ldns into one owned, growable buffer that is reused across calls
/// (`ldns_pkt2wire` would allocate 64 KB per message). Not thread-safe: one per thread or task.
public final class WireEncoder {
    private let buffer = LDNSBuffer(capacity: 1024)

    public init() {}

    /// See `WireCodec.encode(_:maxSize:)`.
    public func encode(_ message: Message, maxSize: Int = 65535) -> [UInt8] {
        let full = render(message)
        guard full.count > maxSize else { return full }
        return truncate(message, full: full, maxSize: maxSize)
    }

    private func render(_ message: Message) -> [UInt8] {
        let packet = LDNSPacket(message)
        buffer.clear()
        // Rendering into a growable buffer fails only when memory runs out.
        withExtendedLifetime(packet) { _ = ldns_pkt2buffer_wire(buffer.pointer, packet.pointer) }
        return buffer.written
    }

    /// Keeps the longest run of whole records that fits (RFC 2181 §9 allows a partial RRset): records
    /// go from the end of the message — additional first, then authority, then answer — so the kept
    /// records are always a prefix of the full rendering, and since compression only points
    /// backwards a prefix renders identically: its size is read from the record offsets of the full
    /// rendering. TC is set when answer or authority lost anything; the OPT record is always kept.
    private func truncate(_ message: Message, full: [UInt8], maxSize: Int) -> [UInt8] {
        guard let layout = full.withUnsafeBytes({ WireWalk($0).layout() }) else { return full }
        let answers = message.answer.count, authorities = message.authority.count
        let recordCount = answers + authorities + message.additional.count
        func end(keeping kept: Int) -> Int { kept == 0 ? layout.questionsEnd : layout.recordEnds[kept - 1] }
        let optSize = message.edns == nil ? 0 : full.count - end(keeping: recordCount)

        var kept = recordCount
        while kept > 0 && end(keeping: kept) + optSize > maxSize { kept -= 1 }
        var candidate = message
        candidate.answer = Array(message.answer.prefix(kept))
        candidate.authority = Array(message.authority.prefix(max(0, kept - answers)))
        candidate.additional = Array(message.additional.prefix(max(0, kept - answers - authorities)))
        if kept < answers + authorities { candidate.header.truncated = true }
        return render(candidate)
    }
}

extension LDNSPacket {
    /// An ldns packet holding `message`; the rcode's upper bits go to the OPT record when there is one.
    convenience init(_ message: Message) {
        self.init()
        let p = pointer
        let h = message.header
        ldns_pkt_set_id(p, h.id)
        ldns_pkt_set_qr(p, h.isResponse)
        ldns_pkt_set_opcode(p, ldns_pkt_opcode(UInt32(h.opcode.rawValue & 0x0F)))
        ldns_pkt_set_aa(p, h.authoritative)
        ldns_pkt_set_tc(p, h.truncated)
        ldns_pkt_set_rd(p, h.recursionDesired)
        ldns_pkt_set_ra(p, h.recursionAvailable)
        ldns_pkt_set_ad(p, h.authenticData)
        ldns_pkt_set_cd(p, h.checkingDisabled)
        ldns_pkt_set_rcode(p, UInt8(h.rcode.rawValue & 0x0F))
        for q in message.questions {
            let rr = ldns_rr_new()!
            ldns_rr_set_owner(rr, q.name.makeLDNSRdf())
            ldns_rr_set_type(rr, ldns_rr_type(UInt32(q.type.rawValue)))
            ldns_rr_set_class(rr, ldns_rr_class(UInt32(q.class.rawValue)))
            ldns_rr_set_question(rr, true)
            ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr)
        }
        for (records, section) in [(message.answer, LDNS_SECTION_ANSWER), (message.authority, LDNS_SECTION_AUTHORITY),
                                   (message.additional, LDNS_SECTION_ADDITIONAL)] {
            for r in records { ldns_pkt_push_rr(p, section, r.makeLDNSRecord()) }
        }
        if let edns = message.edns {
            ldns_pkt_set_edns_udp_size(p, edns.udpPayloadSize)
            ldns_pkt_set_edns_version(p, edns.version)
            ldns_pkt_set_edns_extended_rcode(p, UInt8(truncatingIfNeeded: h.rcode.rawValue >> 4))
            ldns_pkt_set_edns_do(p, edns.dnssecOK)
            var data: [UInt8] = []
            for o in edns.options {
                data += RData.be16(o.code) + RData.be16(UInt16(truncatingIfNeeded: o.data.count)) + o.data
            }
            if !data.isEmpty {
                ldns_pkt_set_edns_data(p, data.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, $0.count, $0.baseAddress) })
            }
            p.pointee._edns_present = 1  // an OPT with all-zero fields is still an OPT
        }
    }
}
