/// One event of a watch stream.
public enum WatchEvent: Sendable, Equatable {
    case added(ClusterObject, resourceVersion: String)
    case modified(ClusterObject, resourceVersion: String)
    case deleted(ObjectRef, resourceVersion: String)
    case bookmark(resourceVersion: String)
    /// {"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":..}}
    case error(code: Int, reason: String, message: String)
    /// An event whose object could not be used (missing/wrong-typed field, unknown type, over maxEventBytes):
    /// logged and counted by the caller; the stream goes on.
    case skipped(ObjectError)
}

/// Streaming decoder of a watch response body: one JSON object per event ({"type":..,"object":{..}}),
/// newline-delimited, split across chunks arbitrarily.
///
/// Events are framed by their braces (as client-go does), so an event split anywhere, several in one
/// chunk, or one spread over lines all read the same. At most one event is buffered, up to
/// `maxEventBytes`; a larger one is framed to its end without being kept and reported `.skipped`.
/// Anything between events that is not an object is skipped to the next newline and reported once.
public struct WatchEventDecoder {
    public let kind: ObjectKind
    public let maxEventBytes: Int
    private let decoder: KubeObjectDecoder
    /// The event being framed across chunks.
    private var framing: ChunkedValue?
    private var inGarbage = false

    /// Bytes of an unfinished event held between chunks (at most `maxEventBytes`, plus one chunk).
    public var bufferedBytes: Int { framing?.bufferedBytes ?? 0 }

    public init(kind: ObjectKind, interner: Interner, maxEventBytes: Int = 4 << 20) {
        self.kind = kind; self.maxEventBytes = maxEventBytes
        self.decoder = KubeObjectDecoder(kind: kind, interner: interner)
    }

    /// The events completed by this chunk, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [WatchEvent] {
        var out: [WatchEvent] = []
        var i = 0
        let n = chunk.count
        while i < n {
            if var f = framing {
                framing = nil
                if let end = f.take(chunk, from: i, { out.append(event($0)) }) {
                    i = end
                } else {
                    framing = f
                    i = n
                }
                continue
            }
            if inGarbage {
                // Skip to the next newline.
                while i < n, chunk[i] != 0x0A { i += 1 }
                if i < n { inGarbage = false; i += 1 }
                continue
            }
            let b = chunk[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1; continue }
            if b == 0x7B {
                if let (node, end) = ChunkedValue.readInPlace(chunk, from: i, KubeSchema.event, limit: maxEventBytes) {
                    i = end
                    out.append(event(node))
                    continue
                }
                framing = ChunkedValue(limit: maxEventBytes)
            } else {
                inGarbage = true
                out.append(.skipped(decoder.objectError(nil, field: "(stream)",
                                                        problem: "\(JSONReader.shown(b)) where an event should start; skipped to the next line")))
            }
        }
        return out
    }

    /// Reads one complete event.
    private func event(_ framed: ChunkedValue.Framed) -> WatchEvent {
        let bytes: UnsafeRawBufferPointer
        switch framed {
        case .oversized(let identity):
            return .skipped(decoder.objectError(identity, field: "(event)", problem: "larger than \(maxEventBytes) bytes; skipped"))
        case .bytes(let value): bytes = value
        }
        switch KubeObjectDecoder.keep(bytes, KubeSchema.event) {
        case .success(let node): return event(node)
        case .failure(let error):
            let identity = KubeObjectDecoder.identity(inPrefix: bytes)
            return .skipped(decoder.objectError(identity, field: error.path.isEmpty ? "(event)" : error.path,
                                                problem: "not valid JSON: \(error.problem)"))
        }
    }

    private func event(_ node: JSONNode) -> WatchEvent {
        let object = node.member("object")
        guard let type = node.member("type")?.text else {
            return .skipped(decoder.objectError(object, field: "type", problem: "missing: an event has a type"))
        }
        guard let object, case .object = object.value else {
            return .skipped(decoder.objectError(nil, field: "object", problem: "missing: an event of type '\(type)' carries an object"))
        }
        switch type {
        case "ADDED", "MODIFIED":
            do throws(ObjectError) {
                let (decoded, rv) = try decoder.decode(object)
                return type == "ADDED" ? .added(decoded, resourceVersion: rv) : .modified(decoded, resourceVersion: rv)
            } catch {
                return .skipped(error)
            }
        case "DELETED":
            guard let ref = decoder.ref(object) else {
                return .skipped(decoder.objectError(object, field: "metadata.name", problem: "missing"))
            }
            return .deleted(ref, resourceVersion: KubeObjectDecoder.resourceVersion(object))
        case "BOOKMARK":
            let rv = KubeObjectDecoder.resourceVersion(object)
            guard !rv.isEmpty else {
                return .skipped(decoder.objectError(object, field: "metadata.resourceVersion", problem: "missing: a bookmark carries one"))
            }
            return .bookmark(resourceVersion: rv)
        case "ERROR":
            var code = 0
            if case .number(let n)? = object.member("code")?.value { code = Int(n) ?? 0 }
            return .error(code: code, reason: object.member("reason")?.text ?? "", message: object.member("message")?.text ?? "")
        default:
            return .skipped(decoder.objectError(object, field: "type", problem: "unknown watch event type '\(type)'"))
        }
    }
}
