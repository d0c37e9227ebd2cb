import Yams

/// A value in a YAML file with where it is: its key path (`cache.maxEntries`, `zones[0].file`), the
/// file and the line. Every reader of fedns's YAML — the config file, cluster state objects, conformance
/// scenarios — walks its documents with this type, so every error names file, line and key.
///
/// Built on Yams's `Node` API, whose nodes carry their marks. A missing key is a field too (absent,
/// with its parent's line), so `field["a"]["b"].string()` reads an optional value in one expression.
public struct YAMLField {
    /// The node; nil when the key is absent.
    public let node: Node?
    /// The key path from the document's root; empty at the root.
    public let path: String
    /// The file, as named to the reader; nil for text that has no file.
    public let file: String?
    /// The line of the node (for a mapping value written on its key's line, that line), else of the
    /// nearest enclosing node.
    public let line: Int?

    public init(node: Node?, path: String, file: String?, line: Int?) {
        self.node = node; self.path = path; self.file = file; self.line = line
    }

    // MARK: documents

    /// Every document of `text` (multi-document YAML, or JSON, which is YAML); an empty document is
    /// an absent field. A syntax error names the line and column.
    public static func documents(_ text: String, file: String?) throws(ConfigError) -> [YAMLField] {
        var out: [YAMLField] = []
        do {
            // Not `compose_all`: its sequence ends quietly at a syntax error, dropping the rest of the file.
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() {
                out.append(YAMLField(node: node, path: "", file: file, line: node.mark?.line))
            }
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw ConfigError(field: "(file)", problem: "not valid YAML: \(error)", file: file)
        }
        return out
    }

    /// The one document of `text`; an empty text is an absent root.
    public static func document(_ text: String, file: String?) throws(ConfigError) -> YAMLField {
        let all = try documents(text, file: file)
        guard all.count <= 1 else {
            throw ConfigError(field: "(file)", problem: "holds \(all.count) YAML documents; one is expected",
                              file: file, line: all[1].line)
        }
        return all.first ?? YAMLField(node: nil, path: "", file: file, line: nil)
    }

    static func syntaxError(_ error: YamlError, file: String?) -> ConfigError {
        func make(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> ConfigError {
            let about = context.map { "\($0.text) at line \($0.mark.line), column \($0.mark.column): " } ?? ""
            return ConfigError(field: "(file)", problem: "not valid YAML: \(about)\(problem) (column \(mark.column))",
                               file: file, line: mark.line)
        }
        switch error {
        case let .scanner(context, problem, mark, _): return make(problem, context, mark)
        case let .parser(context, problem, mark, _): return make(problem, context, mark)
        case let .composer(context, problem, mark, _): return make(problem, context, mark)
        case let .duplicatedKeysInMapping(duplicates, context):
            return make("duplicate keys \(duplicates.joined(separator: ", "))", nil, context.mark)
        case let .reader(problem, offset, _, _):
            return ConfigError(field: "(file)", problem: "not valid YAML: \(problem) at byte \(offset ?? 0)", file: file)
        default:
            // The default description of the others does not quote the input.
            return ConfigError(field: "(file)", problem: "not valid YAML: \(error)", file: file)
        }
    }

    // MARK: shape

    /// True for a missing key or an explicit null (`~`, `null`, nothing after the colon).
    public var isAbsent: Bool {
        guard let node else { return true }
        if case .scalar = node { return node.tag == Tag(.null) }
        return false
    }
    public var isMapping: Bool { node?.mapping != nil }
    public var isSequence: Bool { node?.sequence != nil }
    /// A scalar that is not null.
    public var isScalar: Bool { !isAbsent && node?.scalar != nil }

    /// The place of this value, for errors found later.
    public var location: SourceLocation { SourceLocation(file: file, line: line) }

    /// An error about this value, naming file, line and key path.
    public func fail(_ problem: String) -> ConfigError {
        ConfigError(field: path.isEmpty ? "(top level)" : path, problem: problem, file: file, line: line)
    }

    func child(_ node: Node?, path: String) -> YAMLField {
        YAMLField(node: node, path: path, file: file, line: node?.mark?.line ?? line)
    }

    /// The same value under another path (a list item read as an object of its own).
    public func renamed(_ path: String) -> YAMLField { YAMLField(node: node, path: path, file: file, line: line) }

    // MARK: navigation

    /// `path.key`; absent when this is absent or not a mapping.
    public subscript(key: String) -> YAMLField {
        child(isAbsent ? nil : node?.mapping?[key], path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// `path["key"]`, for keys with dots such as Kubernetes labels.
    public func label(_ key: String) -> YAMLField {
        child(isAbsent ? nil : node?.mapping?[key], path: "\(path)[\"\(key)\"]")
    }

    /// `path[i]` (a field that need not exist, for messages).
    public func at(_ index: Int) -> YAMLField {
        let items = node?.sequence.map(Array.init) ?? []
        return child(index < items.count ? items[index] : nil, path: "\(path)[\(index)]")
    }

    /// The elements of a list; none when absent.
    public func items() throws(ConfigError) -> [YAMLField] {
        if isAbsent { return [] }
        guard let seq = node?.sequence else { throw fail("must be a list") }
        return seq.enumerated().map { i, n in child(n, path: "\(path)[\(i)]") }
    }

    /// The elements of a list, or a single scalar as a list of one (`upstreams: 10.0.0.10`).
    public func itemsOrOne() throws(ConfigError) -> [YAMLField] {
        if isScalar { return [renamed("\(path)[0]")] }
        return try items()
    }

    /// The entries of a mapping in file order, each value under `path.key`; none when absent.
    /// Keys are read as text; a key that is not a scalar is an error.
    public func entries() throws(ConfigError) -> [(key: String, value: YAMLField)] {
        if isAbsent { return [] }
        guard let map = node?.mapping else { throw fail("must be a mapping") }
        var out: [(key: String, value: YAMLField)] = []
        for (k, v) in map {
            guard let key = k.scalar?.string else { throw child(k, path: path).fail("a key must be text") }
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            // A value on its own lines (a nested block) is reported at its key.
            out.append((key, YAMLField(node: v, path: keyPath, file: file, line: k.mark?.line ?? line)))
        }
        return out
    }

    /// Checks that this is a mapping (or absent) whose keys are all in `known`; an unknown key is an
    /// error at its own line naming every known key, so a typo is reported rather than ignored.
    @discardableResult
    public func mapping(known: Set<String>? = nil) throws(ConfigError) -> YAMLField {
        for (key, value) in try entries() where known.map({ !$0.contains(key) }) ?? false {
            throw value.fail("unknown setting (known: \(known!.sorted().joined(separator: ", ")))")
        }
        return self
    }

    // MARK: scalars

    /// The text of a scalar of any type (`80` reads as "80"); nil when absent.
    public func string() throws(ConfigError) -> String? {
        if isAbsent { return nil }
        guard let scalar = node?.scalar else { throw fail("must be a string") }
        return scalar.string
    }

    public func requiredString() throws(ConfigError) -> String {
        guard let s = try string() else { throw fail("is required") }
        return s
    }

    /// A YAML boolean (`true`/`false`); a quoted string is an error.
    public func bool() throws(ConfigError) -> Bool? {
        if isAbsent { return nil }
        guard let scalar = node?.scalar, node?.tag == Tag(.bool), let value = Bool.construct(from: scalar) else {
            throw fail("must be true or false")
        }
        return value
    }

    /// A decimal integer; a quoted number is an error.
    public func int() throws(ConfigError) -> Int? {
        if isAbsent { return nil }
        guard let scalar = node?.scalar, node?.tag == Tag(.int), let value = Int(scalar.string) else {
            throw fail("must be an integer, not \(shown)")
        }
        return value
    }

    /// A decimal integer within `range`.
    public func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        if isAbsent { return nil }
        guard let scalar = node?.scalar, node?.tag == Tag(.int), let value = Int(scalar.string), range.contains(value) else {
            throw fail("\(shown) is not an integer \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    /// A number (integer or decimal).
    public func double() throws(ConfigError) -> Double? {
        if isAbsent { return nil }
        guard let scalar = node?.scalar, node?.tag == Tag(.int) || node?.tag == Tag(.float),
              let value = Double(scalar.string), value.isFinite else {
            throw fail("must be a number, not \(shown)")
        }
        return value
    }

    /// A number of seconds: a number, or a number with an `s` suffix (`2s`, `1.5s`).
    public func seconds() throws(ConfigError) -> Double? {
        if isAbsent { return nil }
        if let scalar = node?.scalar, node?.tag == Tag(.str), scalar.string.hasSuffix("s"),
           let value = Double(scalar.string.dropLast()), value.isFinite {
            return value
        }
        guard let value = try? double() else { throw fail("must be a number of seconds, not \(shown)") }
        return value
    }

    /// How a value is quoted in messages: `'text'` for a scalar, else its shape.
    public var shown: String {
        guard let node else { return "nothing" }
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        default: return "an alias"
        }
    }
}
