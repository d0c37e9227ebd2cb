import Foundation

/// What `fedns resolve` prints.
public struct ResolveReport: Codable, Sendable {
    var name: String
    var flavor: String
    var family: String
    var ndots: Int
    var search: [String]
    var trace: StubTrace

    /// True when the lookup ended with addresses.
    public var succeeded: Bool { trace.status == .ok }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One line per query, then the result:
    ///
    /// ```text
    /// 1  nginx.mynamespace.myfederation.default.svc.cluster.local. A     → NXDOMAIN
    /// ```
    public var text: String {
        var out = "\(name) with \(flavor), family \(family), ndots:\(ndots), search \(search.isEmpty ? "(none)" : search.joined(separator: " "))\n"
        let width = trace.queries.map(\.name.count).max() ?? 0
        let numberWidth = String(trace.queries.count).count
        for q in trace.queries {
            var line = String(q.index).padding(toLength: numberWidth, withPad: " ", startingAt: 0) + "  "
            line += q.name.padding(toLength: width, withPad: " ", startingAt: 0) + " "
            line += q.type.padding(toLength: 5, withPad: " ", startingAt: 0) + " → " + q.rcode
            if !q.answer.isEmpty { line += "  " + q.answer.joined(separator: ", ") }
            if let error = q.error { line += "  (\(error))" }
            if q.transport == "tcp" { line += "  [tcp]" }
            out += line + "\n"
        }
        let count = "\(trace.queries.count) quer\(trace.queries.count == 1 ? "y" : "ies")"
        switch trace.status {
        case .ok:
            out += "result: \(trace.addresses.joined(separator: " ")) (from \(trace.answeredName ?? "?"), after \(count))\n"
        case .nodata:
            out += "result: no address (NODATA\(trace.answeredName.map { " at \($0)" } ?? ""), after \(count))\n"
        case .nxdomain:
            out += "result: name not found (every name NXDOMAIN, after \(count))\n"
        case .servfail:
            out += "result: temporary failure (SERVFAIL, after \(count))\n"
        case .error:
            out += "result: lookup failed (no usable reply, after \(count))\n"
        }
        return out
    }
}
