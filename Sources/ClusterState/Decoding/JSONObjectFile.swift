/// A state file in JSON (`kubectl get … -o json`: a `List`, a typed list, or one object), read without
/// a document tree. A first pass skims the whole text for the top object's `kind` and `apiVersion`
/// (which kubectl writes after the items) and the byte span of each item; then each item's DNS fields
/// are kept in turn and handed to the shared reader. Errors carry the file's line.
enum JSONObjectFile {
    /// The first thing in `bytes` is `{` followed by a key or `}`: JSON, not a YAML block.
    static func looksLikeJSON(_ bytes: [UInt8]) -> Bool {
        var i = 0
        func skipSpace() { while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        skipSpace()
        guard i < bytes.count, bytes[i] == 0x7B else { return false }
        i += 1
        skipSpace()
        return i < bytes.count && (bytes[i] == 0x22 || bytes[i] == 0x7D)
    }

    /// Where one item of a list lies in the text, and the line it starts on.
    struct Span {
        var start: Int
        var end: Int
        var line: Int
    }

    /// The shape of a JSON state file: one object, or a list of items.
    enum Layout {
        case object
        /// Items of a `List` (kind nil) or a typed list (`ServiceList`: the items may omit kind and apiVersion).
        case list(itemKind: String?, itemAPIVersion: String?, items: [Span])
    }

    /// The text after a byte-order mark.
    static func text(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? UnsafeRawBufferPointer(rebasing: bytes[3...]) : bytes
    }

    static func syntax(_ error: JSONSyntaxError, file: String?) -> ObjectError {
        ObjectError(kind: "JSON", namespace: nil, name: nil, field: "line \(error.line)", problem: "not valid JSON: \(error.problem)",
                    line: error.line, file: file)
    }

    /// The first pass over `text` (see ``text(_:)``): checks the syntax of the whole document and
    /// finds its layout.
    static func layout(_ text: UnsafeRawBufferPointer, file: String?) throws(ObjectError) -> Layout {
        var kind: String?
        var apiVersion: String?
        var hasItems = false
        var spans: [Span] = []
        var notAListAt: Int?
        do throws(JSONSyntaxError) {
            var reader = JSONReader(text)
            try reader.expect(0x7B)
            if try reader.peek() == 0x7D {
                reader.position += 1
            } else {
                while true {
                    let key = try reader.readString()
                    try reader.expect(0x3A)
                    let value = try reader.peek()
                    switch key {
                    case "kind" where value == 0x22: kind = try reader.readString()
                    case "apiVersion" where value == 0x22: apiVersion = try reader.readString()
                    case "items" where value == 0x5B:
                        hasItems = true
                        try spanItems(&reader, into: &spans)
                    case "items":
                        hasItems = value != 0x6E
                        if hasItems { notAListAt = reader.line }
                        try reader.skipValue(depth: 1)
                    default: try reader.skipValue(depth: 1)
                    }
                    let next = try reader.peek()
                    reader.position += 1
                    if next == 0x7D { break }
                    guard next == 0x2C else { throw reader.fail("expected ',' or '}', found \(JSONReader.shown(next))") }
                }
            }
            guard reader.isAtEndOfText() else { throw reader.fail("text after the JSON document") }
        } catch {
            throw syntax(error, file: file)
        }
        guard let kind, kind.hasSuffix("List"), hasItems else { return .object }
        if let notAListAt {
            let items = JSONField(node: nil, path: "items", file: file, line: notAListAt)
            throw Field(value: items, object: ObjectID(kind: "Object")).fail("expected a list")
        }
        return .list(itemKind: kind == "List" ? nil : String(kind.dropLast(4)),
                     itemAPIVersion: kind == "List" ? nil : apiVersion, items: spans)
    }

    /// Skips the list at the reader, noting each element's span.
    private static func spanItems(_ reader: inout JSONReader, into spans: inout [Span]) throws(JSONSyntaxError) {
        reader.position += 1
        if try reader.peek() == 0x5D { reader.position += 1; return }
        while true {
            _ = try reader.peek()
            let start = reader.position, line = reader.line
            try reader.skipValue(depth: 2)
            spans.append(Span(start: start, end: reader.position, line: line))
            let next = try reader.peek()
            reader.position += 1
            if next == 0x5D { return }
            guard next == 0x2C else { throw reader.fail("expected ',' or ']', found \(JSONReader.shown(next))") }
        }
    }

    /// The DNS fields of the item at `span` of `text`.
    static func item(_ span: Span, of text: UnsafeRawBufferPointer, file: String?, kind: String?) throws(ObjectError) -> Field<JSONField> {
        var reader = JSONReader(UnsafeRawBufferPointer(rebasing: text[span.start..<span.end]), line: span.line)
        let node: JSONNode
        do throws(JSONSyntaxError) { node = try reader.keep(KubeSchema.object, depth: 2) } catch { throw syntax(error, file: file) }
        return Field(value: JSONField(root: node, file: file), object: ObjectID(kind: kind ?? "Object"))
    }

    /// Calls `body` with each object (or the one object) and the list's kind and apiVersion.
    static func read(_ bytes: UnsafeRawBufferPointer, file: String?,
                     _ body: (Field<JSONField>, _ listKind: String?, _ listAPIVersion: String?) throws(ObjectError) -> Void)
        throws(ObjectError) {
        let text = text(bytes)
        switch try layout(text, file: file) {
        case .object:
            var reader = JSONReader(text)
            let node: JSONNode
            do throws(JSONSyntaxError) { node = try reader.keep(KubeSchema.object) } catch { throw syntax(error, file: file) }
            try body(Field(value: JSONField(root: node, file: file), object: ObjectID(kind: "Object")), nil, nil)
        case .list(let itemKind, let itemAPIVersion, let spans):
            for span in spans {
                try body(try item(span, of: text, file: file, kind: itemKind), itemKind, itemAPIVersion)
            }
        }
    }
}
