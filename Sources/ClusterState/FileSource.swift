#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Clocks
import Metrics
import Logging
import Synchronization

/// What one look at the watched file found.
public enum ReloadOutcome: Sendable, Equatable {
    /// Same file, same content: the current snapshot stays.
    case unchanged
    /// New content, loaded and installed as this generation.
    case reloaded(generation: UInt64)
    /// New content that could not be loaded; the last good snapshot keeps serving.
    case failed(ObjectError)
}

/// The file source (docs/operating.md, reloads): Kubernetes objects from one YAML/JSON file, reloaded on change.
/// JSON files (`kubectl get … -o json`) are read by the streaming decoder, YAML files by Yams. In a
/// JSON list, an item whose bytes are the same as at the last installed load is not decoded again,
/// and only the changed, added and removed objects are applied to the snapshot.
///
/// The path may be a symlink. Editors and ConfigMap volumes replace the file by rename or by
/// swapping a `..data` symlink, so every `pollInterval` the source `stat`s the path *following
/// links* and compares (device, inode, size, mtime, ctime) with what it last read; on a difference
/// it reads the file and reloads only if the bytes differ. Timestamps are coarse (a clock tick), so
/// for a short window after each change the content is compared even when `stat` looks the same.
/// A malformed update is logged and counted, and the last good snapshot keeps serving.
public final class FileSource: Sendable {
    public let path: String
    public let store: SnapshotStore
    public let pollInterval: Duration

    private let logger: Logger
    private let time: any TimeSource
    private let watch = Mutex(WatchState())
    private let succeeded = Counter(label: "fedns_cluster_reloads_total", dimensions: [("result", "success")])
    private let failed = Counter(label: "fedns_cluster_reloads_total", dimensions: [("result", "failure")])
    /// From the file's change (its mtime, or ctime for a rename or link swap) to the new snapshot being
    /// installed — after which the next answer reflects it.
    private let eventToAnswer = Timer(label: "fedns_cluster_event_to_answer_seconds", preferredDisplayUnit: .seconds)

    /// Polls after each change during which content is compared even if `stat` shows nothing new.
    static let settlePolls = 5

    private struct WatchState {
        var fingerprint: FileFingerprint?
        /// The digest of the last load attempt's bytes, good or bad: the same bytes are not loaded
        /// twice. A digest, not the bytes: a 50 MB file would otherwise stay resident between reloads.
        var lastBytes: ContentDigest?
        /// Why `lastBytes` did not load; nil when they are being served.
        var lastBytesError: ObjectError?
        var settlePollsLeft = 0
        /// When the last read began (wall-clock nanoseconds).
        var readAt: Int64 = 0
        var succeeded = 0
        var failed = 0
        var lastError: ObjectError?
        /// The items of the JSON list last installed, and the generation that install made: while the
        /// store is still at that generation, the next read decodes only the items that changed.
        var memo: (list: ListMemo, generation: UInt64)?
    }

    /// - Parameters:
    ///   - path: the state file (a symlink is followed on every look).
    ///   - store: where loaded snapshots are installed.
    ///   - logger: reload results, with `cluster.*` metadata.
    ///   - pollInterval: how often the file is looked at; 200 ms serves a change within a second.
    ///   - time: the clock the source waits on between looks; tests pass a ``ManualClock``.
    public init(path: String, store: SnapshotStore, logger: Logger, pollInterval: Duration = .milliseconds(200),
                time: any TimeSource = SystemTimeSource()) {
        self.path = path; self.store = store; self.logger = logger
        self.pollInterval = pollInterval; self.time = time
    }

    /// Successful loads so far (including ``loadOnce()``).
    public var reloadsSucceeded: Int { watch.withLock { $0.succeeded } }
    /// Failed loads so far; each distinct bad content counts once.
    public var reloadsFailed: Int { watch.withLock { $0.failed } }
    /// Why the file's current content is not being served; nil when it is.
    public var lastError: ObjectError? { watch.withLock { $0.lastError } }

    /// The first load. A failure here is fatal to the caller: there is no last good snapshot yet.
    @discardableResult
    public func loadOnce() throws(ObjectError) -> ClusterSnapshot {
        switch checkNow(force: true) {
        case .failed(let error): throw error
        case .reloaded, .unchanged: return store.current!
        }
    }

    /// Looks at the file once and reloads it if it changed.
    @discardableResult
    public func checkNow() -> ReloadOutcome { checkNow(force: false) }

    /// Looks at the file every `pollInterval` until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            do { try await time.sleep(for: pollInterval) } catch { return }
            if Task.isCancelled { return }
            checkNow()
        }
    }

    private func checkNow(force: Bool) -> ReloadOutcome {
        let outcome = check(force: force)
        // The file's bytes and decoded objects are garbage once indexed; they are freed by now.
        if case .reloaded = outcome {
            Memory.releaseFreePages()
        }
        return outcome
    }

    private func check(force: Bool) -> ReloadOutcome {
        watch.withLock { w in
            let seen = FileFingerprint(statOf: path)
            if !force, let seen, seen == w.fingerprint {
                guard w.settlePollsLeft > 0, seen.mayHideAWrite(readAt: w.readAt) else { return .unchanged }
                w.settlePollsLeft -= 1
            } else {
                w.settlePollsLeft = Self.settlePolls
            }
            let bytes: [UInt8]
            do throws(ObjectError) {
                w.readAt = WallClock.nanosecondsSinceEpoch()
                (w.fingerprint, bytes) = try Self.readFile(path)
            } catch {
                // A file missing for a while (a delete-and-create editor) is reported once, not every poll.
                let repeated = w.fingerprint == nil && w.lastError == error
                w.fingerprint = nil
                return repeated && !force ? .unchanged : fail(error, &w)
            }
            let digest = ContentDigest(bytes)
            if !force, digest == w.lastBytes {
                w.lastError = w.lastBytesError
                return .unchanged
            }
            w.lastBytes = digest
            let earlier = w.memo.flatMap { $0.generation == store.current?.generation ? $0.list : nil }
            let read: FileRead
            do throws(ObjectError) {
                read = try ObjectLoader.read(bytes: bytes, file: path, earlier: earlier)
            } catch {
                w.lastBytesError = error
                return fail(error, &w)
            }
            w.lastBytesError = nil
            let isFirstLoad = w.succeeded == 0
            let snapshot: ClusterSnapshot
            let services: Int, slices: Int, warnings: [String]
            var metadata: Logger.Metadata = [:]
            switch read {
            case .whole(let result):
                snapshot = store.install(result.objects)
                w.memo = nil
                (services, slices, warnings) = (result.objects.services.count, result.objects.endpointSlices.count, result.warnings)
            case .list(let list):
                if list.incremental, let applied = store.apply(list.changes) {
                    snapshot = applied
                } else {
                    snapshot = store.install(list.decoded)
                }
                w.memo = (list.memo, snapshot.generation)
                (services, slices, warnings) = (list.memo.count(.service), list.memo.count(.endpointSlice), list.warnings)
                metadata["cluster.items_decoded"] = "\(list.decodedItems)"
            }
            if !isFirstLoad, let changed = w.fingerprint?.changedAt {
                eventToAnswer.recordNanoseconds(max(0, WallClock.nanosecondsSinceEpoch() - changed))
            }
            w.succeeded += 1; w.lastError = nil
            succeeded.increment()
            metadata.merge([
                "cluster.file": "\(path)",
                "cluster.generation": "\(snapshot.generation)",
                "cluster.services": "\(services)",
                "cluster.endpointslices": "\(slices)",
                "cluster.node": "\(snapshot.node?.name ?? "-")",
            ]) { $1 }
            logger.info("cluster state loaded", metadata: metadata)
            for warning in warnings {
                logger.debug("cluster state: \(warning)", metadata: ["cluster.file": "\(path)"])
            }
            return .reloaded(generation: snapshot.generation)
        }
    }

    private func fail(_ error: ObjectError, _ w: inout WatchState) -> ReloadOutcome {
        w.failed += 1; w.lastError = error
        failed.increment()
        let object = [error.namespace, error.name].compactMap { $0 }.joined(separator: "/")
        var metadata: Logger.Metadata = [
            "cluster.file": "\(path)",
            "cluster.error.kind": "\(error.kind)",
            "cluster.error.object": "\(object)",
            "cluster.error.field": "\(error.field)",
            "cluster.error.problem": "\(error.problem)",
            "cluster.generation": "\(store.current?.generation ?? 0)",
        ]
        if let line = error.line { metadata["cluster.error.line"] = "\(line)" }
        // Library code logs at info at most (STYLE 13); the server may raise it.
        logger.info("cluster state not reloaded; the last good snapshot keeps serving: \(error)", metadata: metadata)
        return .failed(error)
    }

    /// Reads the whole file and the fingerprint of what was read (fstat of the open descriptor,
    /// so a swap between stat and read cannot pair old metadata with new bytes).
    private static func readFile(_ path: String) throws(ObjectError) -> (FileFingerprint, [UInt8]) {
        func failure(_ step: String) -> ObjectError {
            ObjectError(kind: "File", namespace: nil, name: path, field: step, problem: String(cString: strerror(errno)))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("stat") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(st.st_size))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw failure("read") }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return (FileFingerprint(st), bytes)
    }
}

/// Two 64-bit multiplicative hashes (FNV-1a's step, and the same walk with another odd multiplier)
/// over the bytes eight at a time, and the length: equal contents have equal digests; different ones
/// almost never do. A byte at a time it was 18 % of a 30 MB file's reload.
struct ContentDigest: Hashable {
    var count: Int
    var a: UInt64
    var b: UInt64

    init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBytes(ContentDigest.init(raw:))
    }

    init(raw: UnsafeRawBufferPointer) {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x6c62_272e_07bb_0142
        func mix(_ word: UInt64) {
            a = (a ^ word) &* 0x0000_0100_0000_01b3
            b = (b ^ word) &* 0x9e37_79b9_7f4a_7c15
            a ^= a >> 29   // folds the high bits down, which the next word's multiply would not reach
        }
        let words = raw.count / 8
        for i in 0..<words { mix(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        var tail: UInt64 = 0
        for byte in raw[(words * 8)...].reversed() { tail = tail << 8 | UInt64(byte) }
        mix(tail)
        count = raw.count; self.a = a; self.b = b
    }
}

/// What `stat` says about a file, enough to notice a rewrite, a rename over it or a symlink swap.
struct FileFingerprint: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mtime: (Int, Int)
    var ctime: (Int, Int)

    init(_ st: stat) {
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        mtime = (st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
        ctime = (st.st_ctim.tv_sec, st.st_ctim.tv_nsec)
    }

    /// When the file last changed, in nanoseconds since the epoch: the later of mtime and ctime.
    var changedAt: Int64 {
        max(Int64(mtime.0) * 1_000_000_000 + Int64(mtime.1), Int64(ctime.0) * 1_000_000_000 + Int64(ctime.1))
    }

    /// Whether a write could hide behind this same `stat` after a read that began at `readAt`: a
    /// same-size rewrite within the timestamp tick of the last change looks unchanged. A write
    /// after the read began is stamped at least that late, less one tick: it shows once the read
    /// began a tick after the change. Timestamps with a sub-second part tick with the kernel's coarse
    /// clock (at most 10 ms); whole seconds may come from a coarse filesystem (FAT: 2 s). So a big
    /// file renamed into place and read a poll later is not read again on every settle poll.
    func mayHideAWrite(readAt: Int64) -> Bool {
        let fine = mtime.1 != 0 || ctime.1 != 0
        return readAt - changedAt < (fine ? 50_000_000 : 2_000_000_000)
    }

    /// `stat` following symlinks; nil when the path cannot be stat'ed.
    init?(statOf path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    static func == (a: FileFingerprint, b: FileFingerprint) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
    }
}
