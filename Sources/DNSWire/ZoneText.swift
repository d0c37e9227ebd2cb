import CLDNS
import NameExpansion
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ResourceRecord {
    /// Parses one record in zone-file text (`name [ttl] [class] type rdata`), names relative to `origin`.
    public init(zoneText: String, origin: DomainName = .root, defaultTTL: UInt32 = 3600) throws(WireError) {
        var raw: UnsafeMutablePointer<ldns_rr>?
        let originRdf = origin.makeLDNSRdf()
        defer { ldns_rdf_deep_free(originRdf) }
        let status = ldns_rr_new_frm_str(&raw, zoneText, defaultTTL, originRdf, nil)
        defer { ldns_rr_free(raw) }
        try ldnsCheck(status, "record '\(zoneText)'")
        guard let raw else { throw WireError("record '\(zoneText)': no record") }
        self.init(ldns: raw)
    }

    /// The record in zone-file text, as ldns prints it (tab-separated, no newline).
    public var zoneText: String {
        let rr = makeLDNSRecord()
        defer { ldns_rr_free(rr) }
        guard let text = ldns_rr2str(rr) else { return "; unprintable \(type) record" }
        defer { free(text) }
        var line = String(cString: text)
        while line.last == "\n" { line.removeLast() }
        return line
    }

    /// One record per non-empty line that is not a `;` comment (leading blanks ignored, so every line
    /// names its owner): records for table-driven tests.
    public static func parseAll(_ text: String, origin: DomainName = .root, defaultTTL: UInt32 = 3600) throws(WireError) -> [ResourceRecord] {
        var records: [ResourceRecord] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix(";") { continue }
            do {
                records.append(try ResourceRecord(zoneText: String(trimmed), origin: origin, defaultTTL: defaultTTL))
            } catch {
                throw WireError("line \(number + 1): \(error.message)")
            }
        }
        return records
    }
}

/// Zone files (RFC 1035 §5) read with ldns: `$ORIGIN`, `$TTL`, relative names, parentheses.
public enum ZoneFile {
    /// The records of a zone file in file order, the SOA first. Errors name the line.
    public static func parse(_ text: String, origin: DomainName?, defaultTTL: UInt32 = 3600) throws(WireError) -> [ResourceRecord] {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return [] }
        var zone: UnsafeMutablePointer<ldns_zone>?
        var line: Int32 = 0
        let originRdf = origin?.makeLDNSRdf()
        defer { ldns_rdf_deep_free(originRdf) }
        let status: ldns_status? = bytes.withUnsafeMutableBytes { buffer in
            guard let file = fmemopen(buffer.baseAddress, buffer.count, "r") else { return nil }
            defer { fclose(file) }
            return ldns_zone_new_frm_fp_l(&zone, file, originRdf, defaultTTL, LDNS_RR_CLASS_IN, &line)
        }
        guard let status else { throw WireError("zone: cannot read text") }
        // On a syntax error ldns 1.8.3 frees its zone shallowly and leaks the records read so far
        // (found with LeakSanitizer); zones are read at configuration time, so this is tolerated.
        try ldnsCheck(status, "zone line \(line)")
        guard let zone else { throw WireError("zone: no records") }
        defer { ldns_zone_deep_free(zone) }
        var records: [ResourceRecord] = []
        if let soa = ldns_zone_soa(zone) { records.append(ResourceRecord(ldns: soa)) }
        if let list = ldns_zone_rrs(zone) {
            for i in 0..<ldns_rr_list_rr_count(list) {
                if let rr = ldns_rr_list_rr(list, i) { records.append(ResourceRecord(ldns: rr)) }
            }
        }
        return records
    }
}

extension Message: CustomStringConvertible {
    /// The message as `dig` prints it, records in zone-file text: readable test-failure output.
    public var description: String {
        let h = header
        let flags = h.flagNames
        var lines = [
            ";; ->>HEADER<<- opcode: \(h.opcode), status: \(h.rcode), id: \(h.id)",
            ";; flags: \(flags.joined(separator: " ")); QUERY: \(questions.count), ANSWER: \(answer.count), "
                + "AUTHORITY: \(authority.count), ADDITIONAL: \(additional.count + (edns == nil ? 0 : 1))",
        ]
        if let e = edns {
            lines.append(";; OPT PSEUDOSECTION:")
            lines.append("; EDNS: version: \(e.version), flags:\(e.dnssecOK ? " do" : ""); udp: \(e.udpPayloadSize)")
            for o in e.options {
                if let code = o.extendedErrorCode {
                    lines.append("; EDE: \(code.rawValue) \(String(decoding: o.data.dropFirst(2), as: UTF8.self))")
                } else {
                    lines.append("; OPTION \(o.code): \(o.data.map { String($0, radix: 16) }.joined(separator: " "))")
                }
            }
        }
        lines.append(";; QUESTION SECTION:")
        lines += questions.map { ";\($0.name)\t\t\($0.class)\t\($0.type)" }
        for (title, records) in [("ANSWER", answer), ("AUTHORITY", authority), ("ADDITIONAL", additional)] where !records.isEmpty {
            lines.append(";; \(title) SECTION:")
            lines += records.map(\.zoneText)
        }
        return lines.joined(separator: "\n")
    }
}
