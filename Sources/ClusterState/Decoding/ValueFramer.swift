/// Finds where one JSON value ends in a stream that arrives in chunks of any size: tracks nesting,
/// strings and escapes byte by byte, keeping nothing. A value that is not a container or a string (a
/// number, `true`…) ends at the first byte that cannot belong to it, which is left unconsumed.
/// Checks no more than framing needs: the bytes are read properly once the value is complete.
struct ValueFramer {
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var inScalar = false
    /// The deepest nesting seen in this value.
    private(set) var maxDepth = 0

    /// Scans `bytes` from `start`: the index just past the value's end if it ends in them, else nil
    /// (everything was consumed and the value goes on in the next chunk).
    mutating func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        let n = bytes.count
        while i < n {
            if inString {
                // The common case: run to the next quote or backslash.
                while i < n {
                    if escaped { escaped = false; i += 1; continue }
                    i = JSONReader.skipPlainStringBytes(bytes, from: i)
                    guard i < n else { break }
                    let b = bytes[i]
                    if b == 0x5C { escaped = true; i += 1; continue }
                    if b == 0x22 { break }
                    i += 1  // a control character: not the framer's to judge
                }
                guard i < n else { return nil }
                inString = false
                i += 1
                if depth == 0 { return i }
                continue
            }
            let b = bytes[i]
            if inScalar {
                guard JSONReader.isScalarByte(b) else { inScalar = false; return i }
                i += 1
                continue
            }
            switch b {
            case 0x22:
                inString = true
            case 0x7B, 0x5B:
                depth += 1
                if depth > maxDepth { maxDepth = depth }
            case 0x7D, 0x5D:
                depth -= 1
                if depth <= 0 { depth = 0; return i + 1 }
            case 0x20, 0x0A, 0x0D, 0x09, 0x2C, 0x3A:
                break
            default:
                if depth == 0 { inScalar = true }
            }
            i += 1
        }
        return nil
    }

    /// At the end of the stream: whether a bare scalar was complete (it ends with the stream).
    var endsAtEndOfStream: Bool { inScalar }
}

/// One JSON value arriving in chunks: framed by ``ValueFramer`` and kept up to `limit` bytes. A value
/// that lies whole in one chunk is not copied; one larger than the limit is framed to its end
/// without being kept, and only the identity found in its first `limit` bytes is remembered (the
/// same however the value was split).
struct ChunkedValue {
    /// A complete value: its bytes, or only the identity of one too large to keep.
    enum Framed {
        case bytes(UnsafeRawBufferPointer)
        case oversized(identity: JSONNode?)
    }

    let limit: Int
    private var framer = ValueFramer()
    private var bytes: [UInt8] = []
    private var identity: JSONNode??

    init(limit: Int) { self.limit = limit }

    /// Bytes held between chunks.
    var bufferedBytes: Int { bytes.count }

    /// Takes the value's bytes from `chunk`, starting at `start` (its first byte, or where the last
    /// chunk left off). When the value ends in this chunk, hands it to `body` (in place when it lay
    /// whole in the chunk) and returns the index after it; nil when it goes on in the next chunk.
    mutating func take<E: Error>(_ chunk: UnsafeRawBufferPointer, from start: Int,
                                 _ body: (Framed) throws(E) -> Void) throws(E) -> Int? {
        let end = framer.scan(chunk, from: start)
        if let end, bytes.isEmpty, identity == nil, end - start <= limit {
            try body(.bytes(UnsafeRawBufferPointer(rebasing: chunk[start..<end])))
            return end
        }
        if identity == nil {
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<(end ?? chunk.count)]))
            if bytes.count > limit {
                identity = bytes.withUnsafeBytes { KubeObjectDecoder.identity(inPrefix: UnsafeRawBufferPointer(rebasing: $0.prefix(limit))) }
                bytes = []
            }
        }
        guard let end else { return nil }
        if let identity {
            try body(.oversized(identity: identity))
        } else {
            try bytes.withBytes { (value) throws(E) in try body(.bytes(value)) }
        }
        return end
    }

    /// A value that starts at `start` and lies whole in `chunk`, read in place by `schema` without
    /// framing it first (most items and events); nil when it does not fit or is not valid JSON —
    /// then it is framed.
    static func readInPlace(_ chunk: UnsafeRawBufferPointer, from start: Int, _ schema: KeepSchema,
                            limit: Int) -> (node: JSONNode, end: Int)? {
        var reader = JSONReader(UnsafeRawBufferPointer(rebasing: chunk[start...]))
        guard let node = try? reader.keep(schema), reader.position <= limit else { return nil }
        return (node, start + reader.position)
    }
}
