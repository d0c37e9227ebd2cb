import DNSWire
import NameExpansion
import Resolver
import Testing

/// Records written as zone text, one per line (STYLE §4). Blank lines and `;` comments are skipped;
/// names are absolute (trailing dot) or relative to `origin`.
func records(_ text: String, origin: DomainName = .root) throws -> [ResourceRecord] {
    try text.split(separator: "\n").compactMap { line -> ResourceRecord? in
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
        guard !trimmed.isEmpty, !trimmed.hasPrefix(";") else { return nil }
        return try ResourceRecord(zoneText: String(trimmed), origin: origin)
    }
}

/// A domain name from literal text; fails the test when it does not parse.
func name(_ text: String) throws -> DomainName { try DomainName(text) }

/// A query as a client sends it: RD set, EDNS on by default.
func query(_ qname: String, _ type: RRType, edns: Bool = true, id: UInt16 = 0x2a2a) throws -> Request {
    Request(message: .query(id: id, name: try DomainName(qname), type: type, edns: edns ? EDNS() : nil), transport: .udp)
}

/// One table row (CoreDNS `test.Case`): the question, the expected rcode and the expected sections
/// as zone text. Sections compare as sets; CNAMEs are checked for order separately.
struct DNSCase: Sendable, CustomTestStringConvertible {
    var qname: String
    var qtype: RRType
    var rcode: RCode = .noError
    var answer = ""
    var authority = ""
    var additional = ""
    /// The Extended DNS Error expected in the reply, if any.
    var ede: EDECode? = nil

    var testDescription: String { "\(qname) \(qtype)" }
}

/// A stable text for one record: its zone text when the codec is present, else its fields.
func describe(_ rr: ResourceRecord) -> String {
    let text = rr.zoneText
    if !text.isEmpty { return text }
    return "\(rr.name) \(rr.ttl) \(rr.class) \(rr.type) \\# \(rr.rdata.count) \(rr.rdata.map { String($0, radix: 16) }.joined(separator: " "))"
}

/// Comparison key that ignores owner case (DNS names compare case-insensitively).
private func key(_ rr: ResourceRecord) -> String {
    "\(rr.name.lowercased) \(rr.ttl) \(rr.class.rawValue) \(rr.type.rawValue) \(rr.rdata)"
}

/// Checks `response` against the case: rcode, EDE, each section as a multiset, the question echoed
/// byte for byte, answer owners in the question's case, and CNAME order (every answer record is
/// owned by the question name or by a name a CNAME before it pointed at).
func check(_ response: Response, _ c: DNSCase, asked request: Request,
           sourceLocation: SourceLocation = #_sourceLocation) throws {
    let m = response.message
    #expect(m.header.rcode == c.rcode, "rcode", sourceLocation: sourceLocation)
    #expect(m.header.isResponse, sourceLocation: sourceLocation)
    #expect(m.header.id == request.message.header.id, "ID echoed", sourceLocation: sourceLocation)
    #expect(m.questions.map(\.name.labels) == request.message.questions.map(\.name.labels), "question echoed as asked",
            sourceLocation: sourceLocation)
    #expect(m.questions == request.message.questions, sourceLocation: sourceLocation)
    if let ede = c.ede {
        #expect(m.edns?.extendedError == ede, "EDE", sourceLocation: sourceLocation)
    }
    for (section, actual, expectedText) in [("answer", m.answer, c.answer), ("authority", m.authority, c.authority),
                                            ("additional", m.additional, c.additional)] {
        let expected = try records(expectedText)
        let a = actual.map(key).sorted(), e = expected.map(key).sorted()
        #expect(a == e, "\(section) section\n got:\n\(actual.map(describe).joined(separator: "\n"))\n want:\n\(expected.map(describe).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
    }
    checkCNAMEOrder(m, sourceLocation: sourceLocation)
}

/// Every answer record is owned by the question name or by a CNAME target named before it, and
/// records owned by the question name carry its exact case.
func checkCNAMEOrder(_ m: Message, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let question = m.questions.first else { return }
    var reached: [DomainName] = [question.name]
    for rr in m.answer {
        #expect(reached.contains(rr.name), "\(rr.name) \(rr.type) appears before a CNAME leading to it", sourceLocation: sourceLocation)
        if rr.name == question.name {
            #expect(rr.name.labels == question.name.labels, "owner \(rr.name) keeps the question's case \(question.name)",
                    sourceLocation: sourceLocation)
        }
        if rr.type == .cname, let target = rr.targetName { reached.append(target) }
    }
}
