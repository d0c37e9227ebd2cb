/// What each item of the last JSON list read from a state file produced, by the digest of its
/// bytes: on the next read an item with the same bytes is not decoded again, and only the objects
/// of items that changed (and those that went away) reach the snapshot.
struct ListMemo {
    /// The list's item kind and apiVersion: what an item's bytes are read with.
    var itemKind: String?
    var itemAPIVersion: String?
    var outcomes: [ContentDigest: ObjectReader.Outcome] = [:]
    /// The objects of items that produced more or less than one (a nested list), which have no outcome.
    var nested: Set<ObjectRef> = []

    /// Calls `body` with every object the list produced.
    func forEachObject(_ body: (ObjectRef) -> Void) {
        for case .object(let ref) in outcomes.values { body(ref) }
        nested.forEach(body)
    }

    /// How many objects of `kind` the list produced.
    func count(_ kind: ObjectKind) -> Int {
        var n = 0
        forEachObject { if $0.kind == kind { n += 1 } }
        return n
    }
}

/// A JSON list read against the memo of an earlier read of the same file.
struct ListRead {
    /// The objects of the items that were decoded; every object when ``incremental`` is false.
    var decoded: ClusterObjects
    /// Objects the earlier read produced and this one does not.
    var deleted: [ObjectRef]
    /// Whether an earlier read's memo was used: then ``decoded`` and ``deleted`` are the difference
    /// from it, else ``decoded`` is the whole state.
    var incremental: Bool
    var memo: ListMemo
    var warnings: [String]
    /// Items decoded (the rest were unchanged).
    var decodedItems: Int

    /// The watch-event form of the difference.
    var changes: [ClusterChange] { deleted.map(ClusterChange.delete) + decoded.all.map(ClusterChange.upsert) }
}

/// A state file's content, read whole or, for a JSON list, item by item against an earlier read.
enum FileRead {
    case whole(LoadResult)
    case list(ListRead)
}

extension ObjectLoader {
    /// The objects in a file's bytes, as ``read(bytes:file:interner:)`` reads them; a JSON list is
    /// read against `earlier` (the memo of the last read of this file that was installed), so only
    /// the items whose bytes differ are decoded.
    static func read(bytes: [UInt8], file: String?, interner: Interner = Interner(), earlier: ListMemo?) throws(ObjectError) -> FileRead {
        guard JSONObjectFile.looksLikeJSON(bytes) else { return .whole(try read(bytes: bytes, file: file, interner: interner)) }
        return try bytes.withBytes { buffer throws(ObjectError) -> FileRead in
            let text = JSONObjectFile.text(buffer)
            guard case .list(let itemKind, let itemAPIVersion, let spans) = try JSONObjectFile.layout(text, file: file) else {
                return .whole(try read(json: buffer, file: file, interner: interner))
            }
            let earlier = earlier.flatMap { $0.itemKind == itemKind && $0.itemAPIVersion == itemAPIVersion ? $0 : nil }
            var reader = ObjectReader(rules: ObjectRules(interner: interner))
            var memo = ListMemo(itemKind: itemKind, itemAPIVersion: itemAPIVersion)
            memo.outcomes.reserveCapacity(spans.count)
            var decodedItems = 0
            for span in spans {
                let digest = ContentDigest(raw: UnsafeRawBufferPointer(rebasing: text[span.start..<span.end]))
                if let outcome = earlier?.outcomes[digest], reader.reuse(outcome) {
                    memo.outcomes[digest] = outcome
                    continue
                }
                reader.produced.removeAll(keepingCapacity: true)
                try reader.readObject(try JSONObjectFile.item(span, of: text, file: file, kind: itemKind),
                                      listKind: itemKind, listAPIVersion: itemAPIVersion)
                decodedItems += 1
                if reader.produced.count == 1 {
                    memo.outcomes[digest] = reader.produced[0]
                } else {
                    for case .object(let ref) in reader.produced { memo.nested.insert(ref) }
                }
            }
            var deleted: [ObjectRef] = []
            earlier?.forEachObject { if !reader.seen.contains($0) { deleted.append($0) } }
            return .list(ListRead(decoded: reader.objects, deleted: deleted, incremental: earlier != nil, memo: memo,
                                  warnings: reader.warnings, decodedItems: decodedItems))
        }
    }
}
