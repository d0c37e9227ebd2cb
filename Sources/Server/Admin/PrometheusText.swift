/// One sample of the Prometheus text format: `name{label="value",…} value`.
struct PrometheusSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads and writes the Prometheus text exposition format (version 0.0.4), as much as fedns's
/// registry writes: comment lines, samples with or without labels, escaped label values.
enum PrometheusText {
    /// The samples in `text`, comments and malformed lines skipped.
    static func samples(_ text: [UInt8]) -> [PrometheusSample] {
        var out: [PrometheusSample] = []
        var lineStart = 0
        while lineStart < text.count {
            let lineEnd = text[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? text.count
            if lineEnd > lineStart, text[lineStart] != UInt8(ascii: "#"), let s = sample(text[lineStart..<lineEnd]) {
                out.append(s)
            }
            lineStart = lineEnd + 1
        }
        return out
    }

    private static func sample(_ line: ArraySlice<UInt8>) -> PrometheusSample? {
        var i = line.startIndex
        while i < line.endIndex, line[i] != UInt8(ascii: "{"), line[i] != UInt8(ascii: " ") { i += 1 }
        guard i < line.endIndex, i > line.startIndex else { return nil }
        let name = String(decoding: line[line.startIndex..<i], as: UTF8.self)
        var labels: [String: String] = [:]
        if line[i] == UInt8(ascii: "{") {
            i += 1
            while i < line.endIndex, line[i] != UInt8(ascii: "}") {
                guard let eq = line[i...].firstIndex(of: UInt8(ascii: "=")), eq + 1 < line.endIndex,
                      line[eq + 1] == UInt8(ascii: "\"") else { return nil }
                let key = String(decoding: line[i..<eq], as: UTF8.self)
                var value: [UInt8] = []
                var j = eq + 2
                while j < line.endIndex, line[j] != UInt8(ascii: "\"") {
                    if line[j] == UInt8(ascii: "\\"), j + 1 < line.endIndex {
                        j += 1
                        value.append(line[j] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : line[j])
                    } else {
                        value.append(line[j])
                    }
                    j += 1
                }
                guard j < line.endIndex else { return nil }
                labels[key] = String(decoding: value, as: UTF8.self)
                i = j + 1
                if i < line.endIndex, line[i] == UInt8(ascii: ",") { i += 1 }
            }
            guard i < line.endIndex else { return nil }
            i += 1
        }
        let rest = String(decoding: line[i...], as: UTF8.self).split(separator: " ")
        guard let first = rest.first, let value = Double(first) ?? (first == "+Inf" ? .infinity : nil) else { return nil }
        return PrometheusSample(name: name, labels: labels, value: value)
    }

    static func appendComment(_ kind: String, _ name: String, _ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: "# \(kind) \(name) \(text)\n".utf8)
    }

    /// `name{k="v",…} value\n`, label values escaped.
    static func appendSample(_ name: String, _ labels: [(String, String)], _ value: Double, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            for (n, (key, v)) in labels.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: key.utf8)
                out.append(contentsOf: "=\"".utf8)
                for byte in v.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                    case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                    case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                    default: out.append(byte)
                    }
                }
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: format(value).utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// Whole numbers without a fraction (counters read `12`, not `12.0`).
    static func format(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9.0e15 { return String(Int64(value)) }
        return String(value)
    }
}
