/// A list response's `metadata`.
public struct ListMetadata: Sendable, Equatable {
    public var resourceVersion: String
    /// The token for the next page; nil on the last page.
    public var continueToken: String?
    public init(resourceVersion: String, continueToken: String?) {
        self.resourceVersion = resourceVersion; self.continueToken = continueToken
    }
}

/// Streaming decoder of one list response body (`{"kind":"ServiceList","metadata":{"resourceVersion":..,
/// "continue":..},"items":[...]}`), fed in chunks of any size; buffers at most one item (bounded by
/// `maxItemBytes`).
///
/// The list's own members are read by a small state machine, in any order (metadata before or after
/// the items); each item is framed with ``ValueFramer``, then read with the keep-only-what-DNS-needs
/// reader, straight from the chunk when it lies in one. An item that cannot be used — not an object,
/// not JSON, a missing or wrong-typed field, larger than `maxItemBytes` — is `.skipped` with an
/// ``ObjectError`` and the list goes on; a body that is not a list fails with ``KubeDecodeError``.
public struct ListDecoder {
    private enum State {
        /// Before the opening `{`.
        case start
        /// After `{` or `,`: a key (or `}` when no member came yet).
        case key(first: Bool)
        case colon
        case value
        /// Inside `items`: an item or `]` (when no item came yet).
        case item(first: Bool)
        /// After an item: `,` or `]`.
        case afterItem
        /// After a member's value: `,` or `}`.
        case afterMember
        case done
    }

    /// The list's members the decoder reads itself.
    private enum Member {
        case kind, metadata, items, code, reason, message, other
    }

    /// The value being framed, and what it is.
    private struct Framing {
        var role: Role
        var value: ChunkedValue
        enum Role { case key, member(Member), item }
    }

    public let kind: ObjectKind
    public let maxItemBytes: Int
    private let decoder: KubeObjectDecoder
    private var state = State.start
    private var member = Member.other
    private var framing: Framing?
    private var listKind: String?
    private var metadata: ListMetadata?
    private var status: (code: Int?, reason: String?, message: String?) = (nil, nil, nil)
    private var failure: KubeDecodeError?
    private var items = 0

    /// Bytes of an unfinished item held between chunks (at most `maxItemBytes`, plus one chunk).
    public var bufferedBytes: Int { framing?.value.bufferedBytes ?? 0 }

    /// Keys and the list's own small members are bounded by this, whatever `maxItemBytes` is.
    static let maxMemberBytes = 64 * 1024

    public init(kind: ObjectKind, interner: Interner, maxItemBytes: Int = 4 << 20) {
        self.kind = kind; self.maxItemBytes = maxItemBytes
        self.decoder = KubeObjectDecoder(kind: kind, interner: interner)
    }

    /// Items completed by this chunk, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) throws(KubeDecodeError) -> [DecodedItem] {
        if let failure { throw failure }
        do throws(KubeDecodeError) {
            return try consume(chunk)
        } catch {
            failure = error
            throw error
        }
    }

    /// After the last chunk: the list's metadata. Throws when the body was truncated or not a list.
    public mutating func finish() throws(KubeDecodeError) -> ListMetadata {
        if let failure { throw failure }
        if listKind == "Status" || (status.code != nil && metadata == nil) {
            throw KubeDecodeError("the API answered with a Status instead of a list: \(status.code.map(String.init) ?? "-") "
                                  + "\(status.reason ?? "") \(status.message ?? "")", statusCode: status.code, statusReason: status.reason)
        }
        guard case .done = state else {
            throw KubeDecodeError("the \(decoder.kindName) list ends early, after \(items) items: the body was cut short")
        }
        if let listKind, !listKind.hasSuffix("List") {
            throw KubeDecodeError("expected a \(decoder.kindName)List, got kind '\(listKind)'")
        }
        return metadata ?? ListMetadata(resourceVersion: "", continueToken: nil)
    }

    private mutating func consume(_ chunk: UnsafeRawBufferPointer) throws(KubeDecodeError) -> [DecodedItem] {
        var out: [DecodedItem] = []
        var i = 0
        let n = chunk.count
        while i < n {
            if var f = framing {
                framing = nil
                let role = f.role
                if let end = try f.value.take(chunk, from: i, { (value) throws(KubeDecodeError) in try complete(role, value, into: &out) }) {
                    i = end
                } else {
                    framing = f
                    i = n
                }
                continue
            }
            let b = chunk[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1; continue }
            switch state {
            case .start:
                guard b == 0x7B else { throw bad("a list body starts with '{', not \(JSONReader.shown(b))") }
                state = .key(first: true)
                i += 1
            case .key(let first):
                if b == 0x7D, first { state = .done; i += 1; continue }
                guard b == 0x22 else { throw bad("expected a key, found \(JSONReader.shown(b))") }
                framing = Framing(role: .key, value: ChunkedValue(limit: Self.maxMemberBytes))
            case .colon:
                guard b == 0x3A else { throw bad("expected ':', found \(JSONReader.shown(b))") }
                state = .value
                i += 1
            case .value:
                if member == .items, b == 0x5B {
                    state = .item(first: true)
                    i += 1
                } else if member == .items, b != 0x6E {
                    throw bad("items is not a list")
                } else {
                    framing = Framing(role: .member(member), value: ChunkedValue(limit: Self.maxMemberBytes))
                }
            case .item(let first):
                if b == 0x5D, first { state = .afterMember; i += 1; continue }
                if b == 0x7B, let (node, end) = ChunkedValue.readInPlace(chunk, from: i, KubeSchema.object, limit: maxItemBytes) {
                    i = end
                    state = .afterItem
                    items += 1
                    out.append(item(node))
                    continue
                }
                framing = Framing(role: .item, value: ChunkedValue(limit: maxItemBytes))
            case .afterItem:
                i += 1
                if b == 0x5D { state = .afterMember } else if b == 0x2C { state = .item(first: false) } else {
                    throw bad("expected ',' or ']' after an item, found \(JSONReader.shown(b))")
                }
            case .afterMember:
                i += 1
                if b == 0x7D { state = .done } else if b == 0x2C { state = .key(first: false) } else {
                    throw bad("expected ',' or '}', found \(JSONReader.shown(b))")
                }
            case .done:
                throw bad("text after the list: \(JSONReader.shown(b))")
            }
        }
        return out
    }

    private func bad(_ problem: String) -> KubeDecodeError {
        KubeDecodeError("not a \(decoder.kindName) list: \(problem)")
    }

    /// A framed value is complete: a key, one of the list's members, or an item.
    private mutating func complete(_ role: Framing.Role, _ value: ChunkedValue.Framed, into out: inout [DecodedItem]) throws(KubeDecodeError) {
        switch (role, value) {
        case (.key, .oversized):
            member = .other
            state = .colon
        case (.key, .bytes(let bytes)):
            var reader = JSONReader(bytes)
            let key = try? reader.readString()
            switch key {
            case "kind": member = .kind
            case "metadata": member = .metadata
            case "items": member = .items
            case "code": member = .code
            case "reason": member = .reason
            case "message": member = .message
            default: member = .other
            }
            state = .colon
        case (.member(let m), _) where m == .other:
            state = .afterMember
        case (.member(let m), .oversized):
            throw bad("the list's \(m) is larger than \(Self.maxMemberBytes) bytes")
        case (.member(let m), .bytes(let bytes)):
            state = .afterMember
            let schema = m == .metadata ? KubeSchema.listMetadata : .leaf
            let node: JSONNode
            switch KubeObjectDecoder.keep(bytes, schema) {
            case .success(let kept): node = kept
            case .failure(let error): throw bad("\(m): \(error.problem)")
            }
            switch m {
            case .kind: listKind = node.text
            case .metadata:
                let rv = node.member("resourceVersion")?.text ?? ""
                let token = node.member("continue")?.text
                metadata = ListMetadata(resourceVersion: rv, continueToken: token?.isEmpty == false ? token : nil)
            case .code: if case .number(let n) = node.value { status.code = Int(n) }
            case .reason: status.reason = node.text
            case .message: status.message = node.text
            case .items, .other: break  // items: null, no items
            }
        case (.item, .oversized(let identity)):
            state = .afterItem
            items += 1
            out.append(.skipped(decoder.objectError(identity, field: "(object)", problem: "larger than \(maxItemBytes) bytes; skipped")))
        case (.item, .bytes(let bytes)):
            state = .afterItem
            items += 1
            switch KubeObjectDecoder.keep(bytes, KubeSchema.object) {
            case .failure(let error):
                let node = KubeObjectDecoder.identity(inPrefix: bytes)
                out.append(.skipped(decoder.objectError(node, field: error.path.isEmpty ? "(object)" : error.path,
                                                        problem: "not valid JSON: \(error.problem)")))
            case .success(let node):
                out.append(item(node))
            }
        }
    }

    private func item(_ node: JSONNode) -> DecodedItem {
        do throws(ObjectError) {
            let (object, rv) = try decoder.decode(node)
            return .object(object, resourceVersion: rv)
        } catch {
            return .skipped(error)
        }
    }
}
