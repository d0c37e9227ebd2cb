// TEMPORARY: the decoder's interface (kube-decode lands it in ClusterState/Decoding); deleted on rebase.
import ClusterState

final class Interner: @unchecked Sendable { init() {}; func intern(_ s: String) -> String { s } }
enum DecodedItem: Sendable { case object(ClusterObject, resourceVersion: String); case skipped(ObjectError) }
struct ListMetadata: Sendable, Equatable { var resourceVersion: String; var continueToken: String? }
struct KubeDecodeError: Error, Sendable, CustomStringConvertible { var description: String }
struct ListDecoder {
    init(kind: ObjectKind, interner: Interner, maxItemBytes: Int = 4 << 20) {}
    mutating func feed(_ chunk: UnsafeRawBufferPointer) throws(KubeDecodeError) -> [DecodedItem] { [] }
    mutating func finish() throws(KubeDecodeError) -> ListMetadata { throw KubeDecodeError(description: "stub") }
}
struct WatchEventDecoder {
    init(kind: ObjectKind, interner: Interner, maxEventBytes: Int = 4 << 20) {}
    mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [WatchEvent] { [] }
}
enum WatchEvent: Sendable {
    case added(ClusterObject, resourceVersion: String)
    case modified(ClusterObject, resourceVersion: String)
    case deleted(ObjectRef, resourceVersion: String)
    case bookmark(resourceVersion: String)
    case error(code: Int, reason: String, message: String)
    case skipped(ObjectError)
}
