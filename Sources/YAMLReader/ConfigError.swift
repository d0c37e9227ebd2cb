/// A setting that cannot be used, naming where it was written and why:
/// `fedns.yaml:12: cache.maxEntries: must not be negative`.
///
/// The one error type for configuration, whichever part checks the value: the YAML reader (a value
/// of the wrong shape), a handler's section (a value out of range), the server (flags, environment,
/// kube-dns ConfigMap keys). `file` and `line` are nil where the value has no place in a file (a flag,
/// a default, a check across settings).
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file the value came from, as it was named (`fedns.yaml`, `/etc/kube-dns/federations`).
    public var file: String?
    /// The 1-based line of the value (or of its key) in `file`.
    public var line: Int?
    /// The key, as a path through the file (`cache.maxEntries`, `zones[0].file`, `--listen`).
    public var field: String
    public var problem: String

    public init(field: String, problem: String, file: String? = nil, line: Int? = nil) {
        self.field = field; self.problem = problem; self.file = file; self.line = line
    }

    /// `file:line: ` (or `file: `), or nothing when the place is unknown.
    public var place: String {
        switch (file, line) {
        case let (file?, line?): return "\(file):\(line): "
        case let (file?, nil): return "\(file): "
        case let (nil, line?): return "line \(line): "
        default: return ""
        }
    }

    public var description: String { "\(place)\(field): \(problem)" }

    /// The same error at `location`, unless it already names a place.
    public func placed(at location: SourceLocation?) -> ConfigError {
        guard let location, file == nil, line == nil else { return self }
        var placed = self
        placed.file = location.file
        placed.line = location.line
        return placed
    }
}

/// Where a value was written: a file and a 1-based line.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public init(file: String?, line: Int?) { self.file = file; self.line = line }
    public var description: String { [file, line.map(String.init)].compactMap { $0 }.joined(separator: ":") }
}

/// Where each key of a configuration was written, for errors found after reading (a check across
/// settings, a zone file that does not parse): `cache.maxEntries` → `fedns.yaml:12`.
public struct ConfigLocations: Sendable {
    var byPath: [String: SourceLocation] = [:]
    public init() {}

    /// Records every key and list item under `root` (a file's root, or a mapping of settings inside
    /// another file, such as a scenario's `config`), by their paths from `root`.
    public mutating func record(_ root: YAMLField) {
        var budget = Self.maxRecorded
        record(root, dropping: root.path.isEmpty ? 0 : root.path.count + 1, budget: &budget)
    }

    /// Aliases make a tree of a few lines as large as they like (`a: &a [x, x]`, `b: &b [*a, *a]`, …);
    /// a configuration has far fewer keys than this, and what lies beyond just has no line.
    static let maxRecorded = 10_000

    private mutating func record(_ field: YAMLField, dropping prefix: Int, budget: inout Int) {
        guard budget > 0 else { return }
        budget -= 1
        if field.path.count > prefix { byPath[String(field.path.dropFirst(prefix))] = field.location }
        if field.isMapping, let entries = try? field.entries() {
            for (_, value) in entries { record(value, dropping: prefix, budget: &budget) }
        } else if field.isSequence, let items = try? field.items() {
            for item in items { record(item, dropping: prefix, budget: &budget) }
        }
    }

    /// Records one key with a place of its own (a kube-dns ConfigMap key's file).
    public mutating func record(_ path: String, at location: SourceLocation) { byPath[path] = location }

    /// Forgets `path` and everything under it (a later source replaced the value).
    public mutating func forget(_ path: String) {
        byPath = byPath.filter { key, _ in !(key == path || key.hasPrefix(path + ".") || key.hasPrefix(path + "[")) }
    }

    /// The place of `field`, or of the nearest enclosing key that has one
    /// (`stubDomains[acme.local.]` → `stubDomains`).
    public func locate(_ field: String) -> SourceLocation? {
        var path = Substring(field)
        while !path.isEmpty {
            if let found = byPath[String(path)] { return found }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = path[..<cut]
        }
        return nil
    }
}
