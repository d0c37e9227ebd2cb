/// A state file in JSON (`kubectl get … -o json`: a `List`, a typed list, or one object), read in
/// two passes over its bytes without a document tree: the first finds the top object's `kind` and
/// `apiVersion` (which kubectl writes after the items), the second keeps each item's DNS fields in
/// turn and hands it to the shared reader. Errors carry the file's line.
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

    /// Calls `body` with each object (or the one object) and the list's kind and apiVersion.
    static func read(_ bytes: UnsafeRawBufferPointer, file: String?,
                     _ body: (Field<JSONField>, _ listKind: String?, _ listAPIVersion: String?) throws(ObjectError) -> Void)
        throws(ObjectError) {
        func syntax(_ error: JSONSyntaxError) -> ObjectError {
            ObjectError(kind: "JSON", namespace: nil, name: nil, field: "line \(error.line)", problem: "not valid JSON: \(error.problem)",
                        line: error.line, file: file)
        }
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start...])

        // Pass 1: the top object's kind and apiVersion, and whether it has items.
        var kind: String?
        var apiVersion: String?
        var hasItems = false
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
                    case "items": hasItems = value != 0x6E; try reader.skipValue(depth: 1)
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
            throw syntax(error)
        }

        guard let kind, kind.hasSuffix("List"), hasItems else {
            // One object (or a list without items): keep its fields and read it.
            var reader = JSONReader(text)
            let node: JSONNode
            do throws(JSONSyntaxError) { node = try reader.keep(KubeSchema.object) } catch { throw syntax(error) }
            try body(Field(value: JSONField(root: node, file: file), object: ObjectID(kind: "Object")), nil, nil)
            return
        }

        // Pass 2: each item of `items`, in order.
        let itemKind = kind == "List" ? nil : String(kind.dropLast(4))
        let itemAPIVersion = kind == "List" ? nil : apiVersion
        var reader = JSONReader(text)
        func step<T>(_ read: (inout JSONReader) throws(JSONSyntaxError) -> T) throws(ObjectError) -> T {
            do throws(JSONSyntaxError) { return try read(&reader) } catch { throw syntax(error) }
        }
        try step { r throws(JSONSyntaxError) in try r.expect(0x7B) }
        while true {
            let key = try step { r throws(JSONSyntaxError) in try r.readString() }
            try step { r throws(JSONSyntaxError) in try r.expect(0x3A) }
            if key == "items" {
                let itemsLine = reader.line
                guard try step({ r throws(JSONSyntaxError) in try r.peek() }) == 0x5B else {
                    let items = JSONField(node: nil, path: "items", file: file, line: itemsLine)
                    throw Field(value: items, object: ObjectID(kind: "Object")).fail("expected a list")
                }
                reader.position += 1
                if try step({ r throws(JSONSyntaxError) in try r.peek() }) == 0x5D {
                    reader.position += 1
                } else {
                    while true {
                        let node = try step { r throws(JSONSyntaxError) in try r.keep(KubeSchema.object, depth: 2) }
                        let item = Field(value: JSONField(root: node, file: file), object: ObjectID(kind: itemKind ?? "Object"))
                        try body(item, itemKind, itemAPIVersion)
                        let next = try step { r throws(JSONSyntaxError) in try r.peek() }
                        reader.position += 1
                        if next == 0x5D { break }
                        guard next == 0x2C else { throw syntax(reader.fail("expected ',' or ']', found \(JSONReader.shown(next))")) }
                    }
                }
            } else {
                try step { r throws(JSONSyntaxError) in try r.skipValue(depth: 1) }
            }
            let next = try step { r throws(JSONSyntaxError) in try r.peek() }
            reader.position += 1
            if next == 0x7D { break }
        }
    }
}
