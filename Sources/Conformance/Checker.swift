import DNSWire
import NameExpansion

/// Compares an answer with an `Expectation`. Sections compare as multisets of records (owner
/// case-insensitive, TTL exact unless ignored), and the CNAMEs of a section must come in the
/// expected order and before the other records (a chain is appended CNAMEs first).
enum Checker {
    /// Problems found; empty means the answer meets the expectation. `query` is what was sent.
    static func check(_ bytes: [UInt8]?, query: [UInt8], spec: QuerySpec, against x: Expectation) -> [String] {
        guard let bytes else { return x.noResponse ? [] : ["expected an answer, got none"] }
        if x.noResponse { return ["expected no response, got \(bytes.count) bytes: \(describe(bytes))"] }
        let message: Message
        do { message = try WireCodec.decode(bytes) } catch { return ["answer is not a DNS message (\(error)): \(hex(bytes))"] }
        var problems: [String] = []
        problems += implicit(message, query: query)
        if let r = x.rcode, message.header.rcode != r { problems.append("rcode: expected \(r), got \(message.header.rcode)") }
        if let f = x.flags {
            let got = flags(message.header)
            if got != f { problems.append("flags: expected [\(f.sorted().joined(separator: " "))], got [\(got.sorted().joined(separator: " "))]") }
        }
        for (title, want, got) in [("answer", x.answer, message.answer), ("authority", x.authority, message.authority),
                                   ("additional", x.additional, message.additional)] {
            guard let want else { continue }
            problems += compare(section: title, expected: want, received: got, ttlExact: x.ttlExact)
        }
        if let ede = x.ede {
            let got = message.edns?.options.compactMap(\.extendedErrorCode).map { Int($0.rawValue) } ?? []
            if ede == -1, !got.isEmpty { problems.append("ede: expected none, got \(got)") }
            if ede >= 0, !got.contains(ede) { problems.append("ede: expected \(ede), got \(got.isEmpty ? "none" : "\(got)")") }
        }
        if let q = x.question {
            let got = message.question.map { "\($0.name)" } ?? "<none>"
            if got != q && got != q + "." { problems.append("question: expected '\(q)' byte for byte, got '\(got)'") }
        }
        if let e = x.ednsPresent, (message.edns != nil) != e {
            problems.append(e ? "edns: expected an OPT record, got none" : "edns: expected no OPT record, got one")
        }
        if let d = x.dnssecOK, (message.edns?.dnssecOK ?? false) != d { problems.append("do: expected \(d), got \(!d)") }
        if let max = x.maxSize, bytes.count > max { problems.append("size: expected at most \(max) bytes, got \(bytes.count)") }
        for (section, got) in [("answer", message.answer.count), ("authority", message.authority.count),
                               ("additional", message.additional.count)] {
            if let want = x.counts[section], want != got { problems.append("counts.\(section): expected \(want) records, got \(got)") }
        }
        if !problems.isEmpty { problems.append("received:\n" + indent(message.description)) }
        return problems
    }

    /// What every answer must do: the query's ID, QR set, the opcode, and the question byte for byte.
    static func implicit(_ m: Message, query: [UInt8]) -> [String] {
        var out: [String] = []
        guard query.count >= 12 else { return out }
        let id = UInt16(query[0]) << 8 | UInt16(query[1])
        if m.header.id != id { out.append("id: expected \(id), got \(m.header.id)") }
        if !m.header.isResponse { out.append("qr: not set") }
        if m.header.opcode.rawValue != (query[2] >> 3) & 0x0f { out.append("opcode: expected \(Opcode((query[2] >> 3) & 0x0f)), got \(m.header.opcode)") }
        if let q = try? WireCodec.decode(query), let asked = q.question, q.questions.count == 1, let got = m.question {
            if got.name.labels != asked.name.labels || got.type != asked.type || got.class != asked.class {
                out.append("question: expected '\(asked)' byte for byte, got '\(got)'")
            }
        }
        return out
    }

    static func flags(_ h: Header) -> Set<String> { Set(h.flagNames) }

    /// A set comparison as a diff (`-` expected but missing, `+` received but not expected), then
    /// the CNAME order.
    static func compare(section: String, expected: [ResourceRecord], received: [ResourceRecord], ttlExact: Bool) -> [String] {
        func key(_ r: ResourceRecord) -> ResourceRecord {
            var k = r
            k.name = r.name.lowercased
            if !ttlExact { k.ttl = 0 }
            return k
        }
        var unmatched = received.map(key)
        var missing: [ResourceRecord] = []
        for r in expected {
            if let i = unmatched.firstIndex(of: key(r)) { unmatched.remove(at: i) } else { missing.append(r) }
        }
        let extra = received.filter { r in unmatched.contains(key(r)) }
        if !missing.isEmpty || !extra.isEmpty {
            var lines = ["\(section): differs (- expected, + received)"]
            lines += missing.map { "  - \($0.zoneText)" }
            lines += extra.map { "  + \($0.zoneText)" }
            return [lines.joined(separator: "\n")]
        }
        let wantChain = expected.filter { $0.type == .cname }.map(key)
        let gotChain = received.filter { $0.type == .cname }.map(key)
        if wantChain != gotChain {
            return ["\(section): CNAMEs out of order: expected\n" + wantChain.map { "    \($0.zoneText)" }.joined(separator: "\n")
                    + "\n  got\n" + gotChain.map { "    \($0.zoneText)" }.joined(separator: "\n")]
        }
        if let firstOther = received.firstIndex(where: { $0.type != .cname }),
           received[firstOther...].contains(where: { $0.type == .cname }), !wantChain.isEmpty {
            return ["\(section): a CNAME comes after other records"]
        }
        return []
    }

    static func describe(_ bytes: [UInt8]) -> String {
        if let m = try? WireCodec.decode(bytes) { return "\n" + indent(m.description) }
        return hex(bytes)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { b in let s = String(b, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
    }

    static func indent(_ text: String, by prefix: String = "    ") -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }
}
