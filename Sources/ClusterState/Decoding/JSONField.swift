import YAMLReader

/// A kept JSON value with its key path and line, read by the field rules (``ObjectRules``) exactly as
/// they read a ``YAMLField``: same shapes, same scalar rules (a quoted number is not an integer, a
/// number read as a string is its text), same problems.
struct JSONField: ObjectValue {
    /// The kept value; nil when the key is absent.
    let node: JSONNode?
    let path: String
    let file: String?
    /// The value's line, else (when absent) its parent's.
    let line: Int?

    init(node: JSONNode?, path: String, file: String?, line: Int?) {
        self.node = node; self.path = path; self.file = file; self.line = line
    }

    /// An object's root.
    init(root: JSONNode, file: String?) {
        self.init(node: root, path: "", file: file, line: root.line)
    }

    var isAbsent: Bool { node?.isNull ?? true }
    var isMapping: Bool { if case .object? = node?.value { true } else { false } }

    func renamed(_ path: String) -> JSONField { JSONField(node: node, path: path, file: file, line: line) }

    private func child(_ node: JSONNode?, path: String) -> JSONField {
        JSONField(node: node, path: path, file: file, line: node?.line ?? line)
    }

    subscript(key: String) -> JSONField {
        child(node?.member(key), path: path.isEmpty ? key : "\(path).\(key)")
    }

    func label(_ key: String) -> JSONField {
        child(node?.member(key), path: "\(path)[\"\(key)\"]")
    }

    func at(_ index: Int) -> JSONField {
        var element: JSONNode?
        if case .array(let elements)? = node?.value, index < elements.count { element = elements[index] }
        return child(element, path: "\(path)[\(index)]")
    }

    private func fail(_ problem: String) -> ConfigError {
        ConfigError(field: path.isEmpty ? "(top level)" : path, problem: problem, file: file, line: line)
    }

    func items() throws(ConfigError) -> [JSONField] {
        guard let node, !node.isNull else { return [] }
        guard case .array(let elements) = node.value else { throw fail("must be a list") }
        var out: [JSONField] = []
        out.reserveCapacity(elements.count)
        for (i, e) in elements.enumerated() { out.append(JSONField(node: e, path: "\(path)[\(i)]", file: file, line: e.line)) }
        return out
    }

    func string() throws(ConfigError) -> String? {
        switch node?.value {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .number(let n)?: return n
        case .bool(let b)?: return b ? "true" : "false"
        case .object?, .array?: throw fail("must be a string")
        }
    }

    func bool() throws(ConfigError) -> Bool? {
        switch node?.value {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw fail("must be true or false")
        }
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        switch node?.value {
        case nil, .null?: return nil
        case .number(let n)?:
            if let value = Int(n), range.contains(value) { return value }
        default: break
        }
        throw fail("\(shown) is not an integer \(range.lowerBound)…\(range.upperBound)")
    }

    /// How a value is quoted in messages: `'text'` for a scalar, else its shape.
    var shown: String {
        switch node?.value {
        case nil: return "nothing"
        case .null?: return "'null'"
        case .string(let s)?: return "'\(s)'"
        case .number(let n)?: return "'\(n)'"
        case .bool(let b)?: return "'\(b)'"
        case .object?: return "a mapping"
        case .array?: return "a list"
        }
    }
}
