import YAMLReader

/// A kept JSON value with its key path and line, read by the field rules (``ObjectRules``) exactly as
/// they read a ``YAMLField``: same shapes, same scalar rules (a quoted number is not an integer, a
/// number read as a string is its text), same problems.
struct JSONField: ObjectValue {
    /// The last step of a path, rendered only when the path is asked for (in an error): most fields
    /// read are leaves whose path is never needed.
    enum Step {
        case none
        case key(String)
        case label(String)
        case index(Int)
    }

    /// The kept value; nil when the key is absent.
    let node: JSONNode?
    /// The path of the parent, and the step from it.
    let parentPath: String
    let step: Step
    let file: String?
    /// The value's line, else (when absent) its parent's.
    let line: Int?

    init(node: JSONNode?, parentPath: String, step: Step, file: String?, line: Int?) {
        self.node = node; self.parentPath = parentPath; self.step = step; self.file = file; self.line = line
    }

    init(node: JSONNode?, path: String, file: String?, line: Int?) {
        self.init(node: node, parentPath: path, step: .none, file: file, line: line)
    }

    /// An object's root.
    init(root: JSONNode, file: String?) {
        self.init(node: root, path: "", file: file, line: root.line)
    }

    /// `spec.ports[0].name`, `metadata.labels["kubernetes.io/service-name"]`.
    var path: String {
        switch step {
        case .none: return parentPath
        case .key(let key): return parentPath.isEmpty ? key : "\(parentPath).\(key)"
        case .label(let key): return "\(parentPath)[\"\(key)\"]"
        case .index(let i): return "\(parentPath)[\(i)]"
        }
    }

    var isAbsent: Bool { node?.isNull ?? true }
    var isMapping: Bool { if case .object? = node?.value { true } else { false } }

    func renamed(_ path: String) -> JSONField { JSONField(node: node, path: path, file: file, line: line) }

    private func child(_ node: JSONNode?, _ step: Step) -> JSONField {
        JSONField(node: node, parentPath: path, step: step, file: file, line: node?.line ?? line)
    }

    subscript(key: String) -> JSONField {
        child(node?.member(key), .key(key))
    }

    func label(_ key: String) -> JSONField {
        child(node?.member(key), .label(key))
    }

    func at(_ index: Int) -> JSONField {
        var element: JSONNode?
        if case .array(let elements)? = node?.value, index < elements.count { element = elements[index] }
        return child(element, .index(index))
    }

    private func fail(_ problem: String) -> ConfigError {
        ConfigError(field: path.isEmpty ? "(top level)" : path, problem: problem, file: file, line: line)
    }

    func items() throws(ConfigError) -> [JSONField] {
        guard let node, !node.isNull else { return [] }
        guard case .array(let elements) = node.value else { throw fail("must be a list") }
        var out: [JSONField] = []
        out.reserveCapacity(elements.count)
        let path = self.path
        for (i, e) in elements.enumerated() { out.append(JSONField(node: e, parentPath: path, step: .index(i), file: file, line: e.line)) }
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
