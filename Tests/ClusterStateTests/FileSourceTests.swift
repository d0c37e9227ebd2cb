import Clocks
@testable import ClusterState
import Foundation
import Logging
import Synchronization
import Testing

/// A fresh directory under the system temp dir, removed on deinit.
final class TempDir {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() + "/fedns-cluster-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// A Service whose ClusterIP tells the versions of the file apart.
func stateFile(ip: String) -> String {
    """
    apiVersion: v1
    kind: Service
    metadata: {name: nginx, namespace: mynamespace}
    spec: {clusterIP: \(ip)}
    """
}

/// The ClusterIP the store serves now.
func servedIP(_ store: SnapshotStore) -> String? {
    guard case .clusterIP(let ips)? = store.current?.service("nginx", namespace: "mynamespace")?.kind else { return nil }
    return ips.first
}

func inode(_ path: String) -> UInt64 {
    var st = stat()
    stat(path, &st)
    return UInt64(st.st_ino)
}

/// Truncates and rewrites the file through the same inode, as `echo > file` does.
func rewriteInPlace(_ path: String, _ text: String) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.truncate(atOffset: 0)
    try handle.write(contentsOf: Data(text.utf8))
    try handle.close()
}

/// Writes a sibling and renames it over the file, as editors and `kubectl cp`-style tools do.
func replaceByRename(_ path: String, _ text: String) throws {
    try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
    #expect(rename(path + ".tmp", path) == 0)
}

/// Logs kept in memory.
final class LogRecorder: Sendable {
    struct Entry: Sendable { var level: Logger.Level; var message: String; var metadata: [String: String] }
    let entries = Mutex<[Entry]>([])
    var logger: Logger { Logger(label: "test") { _ in Handler(recorder: self) } }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] } set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let flat = (event.metadata ?? [:]).mapValues { "\($0)" }
            recorder.entries.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: flat)) }
        }
    }
}

/// Polls a quiet file until the source relies on `stat` alone (its after-change window is over).
func settle(_ source: FileSource) {
    for _ in 0..<10 { #expect(source.checkNow() == .unchanged) }
}

@Suite struct FileSourceTests {
    let dir: TempDir
    let path: String
    let store = SnapshotStore(nodeName: nil)
    let logs = LogRecorder()
    let source: FileSource

    init() throws { try self.init(file: "state.yaml", contents: stateFile(ip: "10.0.0.1")) }

    /// A source of `file` in a fresh directory, written with `contents`, not loaded yet.
    init(file: String, contents: String) throws {
        dir = try TempDir()
        path = dir.file(file)
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        source = FileSource(path: path, store: store, logger: logs.logger)
    }

    /// A source that has loaded ``IncrementalFileTests/base`` as a JSON list.
    static func loaded() throws -> FileSourceTests {
        let fixture = try FileSourceTests(file: "state.json", contents: IncrementalFileTests.list(IncrementalFileTests.base))
        try fixture.source.loadOnce()
        return fixture
    }

    @Test func firstLoadInstallsGenerationOne() throws {
        let snapshot = try source.loadOnce()
        #expect(snapshot.generation == 1)
        #expect(servedIP(store) == "10.0.0.1")
        #expect(source.checkNow() == .unchanged)
        #expect(source.reloadsSucceeded == 1)
    }

    @Test func missingFileFailsTheFirstLoad() throws {
        let missing = FileSource(path: dir.file("absent.yaml"), store: store, logger: logs.logger)
        #expect(throws: ObjectError(kind: "File", namespace: nil, name: dir.file("absent.yaml"), field: "open",
                                    problem: "No such file or directory")) { try missing.loadOnce() }
        #expect(!store.hasSynced)
    }

    @Test func malformedFirstLoadThrowsTheObjectError() throws {
        try stateFile(ip: "10.0.0.999").write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: ObjectError.self) { try source.loadOnce() }
        #expect(source.lastError?.field == "spec.clusterIP")
        #expect(!store.hasSynced)
    }

    @Test func rewriteInPlaceIsPickedUp() throws {
        try source.loadOnce()
        settle(source)
        let before = inode(path)
        try rewriteInPlace(path, stateFile(ip: "10.0.0.2"))
        #expect(inode(path) == before)
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(servedIP(store) == "10.0.0.2")
        // same size, same inode, immediately after: still seen
        try rewriteInPlace(path, stateFile(ip: "10.0.0.3"))
        #expect(source.checkNow() == .reloaded(generation: 3))
        #expect(servedIP(store) == "10.0.0.3")
    }

    @Test func replaceByRenameIsPickedUp() throws {
        try source.loadOnce()
        settle(source)
        try replaceByRename(path, stateFile(ip: "10.0.0.2"))
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(servedIP(store) == "10.0.0.2")
    }

    @Test func touchWithoutNewContentKeepsTheGeneration() throws {
        try source.loadOnce()
        try replaceByRename(path, stateFile(ip: "10.0.0.1"))
        #expect(source.checkNow() == .unchanged)
        #expect(store.current?.generation == 1)
    }

    @Test func configMapSymlinkSwapIsPickedUp() throws {
        // The kubelet's atomic writer: state.yaml -> ..data/state.yaml, ..data -> ..<timestamp>
        func version(_ name: String, ip: String) throws {
            try FileManager.default.createDirectory(atPath: dir.file(name), withIntermediateDirectories: false)
            try stateFile(ip: ip).write(toFile: dir.file("\(name)/state.yaml"), atomically: false, encoding: .utf8)
        }
        try version("..2024_05_01_10_00_00.1", ip: "10.0.0.1")
        #expect(symlink("..2024_05_01_10_00_00.1", dir.file("..data")) == 0)
        let linked = dir.file("linked.yaml")
        #expect(symlink("..data/state.yaml", linked) == 0)
        let source = FileSource(path: linked, store: store, logger: logs.logger)
        try source.loadOnce()
        #expect(servedIP(store) == "10.0.0.1")
        settle(source)

        try version("..2024_05_01_10_05_00.2", ip: "10.0.0.2")
        #expect(symlink("..2024_05_01_10_05_00.2", dir.file("..data_tmp")) == 0)
        #expect(rename(dir.file("..data_tmp"), dir.file("..data")) == 0)
        try FileManager.default.removeItem(atPath: dir.file("..2024_05_01_10_00_00.1"))
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(servedIP(store) == "10.0.0.2")
    }

    @Test func malformedUpdateKeepsTheLastGoodSnapshotUntilAGoodOne() throws {
        try source.loadOnce()
        try replaceByRename(path, stateFile(ip: "10.0.0.256"))
        guard case .failed(let error) = source.checkNow() else { Issue.record("bad update accepted"); return }
        #expect(error.field == "spec.clusterIP")
        #expect(store.current?.generation == 1)
        #expect(servedIP(store) == "10.0.0.1")
        #expect(source.reloadsFailed == 1)
        #expect(source.lastError == error)

        // reported once, with what an operator needs to find it
        let reports = logs.entries.withLock { $0 }.filter { $0.metadata["cluster.error.field"] != nil }
        #expect(reports.count == 1)
        #expect(reports.first?.metadata["cluster.file"] == path)
        #expect(reports.first?.metadata["cluster.error.object"] == "mynamespace/nginx")
        #expect(reports.first?.metadata["cluster.error.field"] == "spec.clusterIP")
        #expect(reports.first?.message.contains("Service mynamespace/nginx: spec.clusterIP") == true)

        // the same bad bytes are not reloaded or counted again
        try replaceByRename(path, stateFile(ip: "10.0.0.256"))
        #expect(source.checkNow() == .unchanged)
        #expect(source.reloadsFailed == 1)

        try replaceByRename(path, stateFile(ip: "10.0.0.4"))
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(servedIP(store) == "10.0.0.4")
        #expect(source.lastError == nil)
        #expect(source.reloadsSucceeded == 2)
    }

    /// `kubectl get … -o json` output is read by the streaming decoder; a bad object in it rejects the
    /// update whole, named by kind, object, field and line, and the last good snapshot keeps serving.
    @Test func jsonFileLoadsAndABadObjectRejectsTheUpdate() throws {
        func list(ip: String) -> String {
            apiObjectsFile.replacingOccurrences(of: #""clusterIP":"10.96.0.20","clusterIPs":["10.96.0.20","#,
                                                with: #""clusterIP":"\#(ip)","clusterIPs":["\#(ip)","#)
                .replacingOccurrences(of: "},{", with: "},\n{")  // one item a line
        }
        let json = dir.file("state.json")
        try list(ip: "10.96.0.20").write(toFile: json, atomically: false, encoding: .utf8)
        let source = FileSource(path: json, store: store, logger: logs.logger)
        try source.loadOnce()
        #expect(servedIP(store) == "10.96.0.20")
        #expect(store.current?.slicesByService[ServiceKey(namespace: "mynamespace", name: "nginx")]?.count == 1)

        try replaceByRename(json, list(ip: "10.96.0.x"))
        guard case .failed(let error) = source.checkNow() else { Issue.record("bad update accepted"); return }
        func line(of text: String, in file: String) -> Int? {
            file.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(text) }.map { $0 + 1 }
        }
        let badLine = try #require(line(of: "\"clusterIPs\":[\"10.96.0.x\"", in: list(ip: "10.96.0.x")))
        #expect("\(error)" == "\(json):\(badLine): Service mynamespace/nginx: spec.clusterIPs[0]: '10.96.0.x' is not an IP address")
        #expect(servedIP(store) == "10.96.0.20")

        let quotedPort = list(ip: "10.96.0.21").replacingOccurrences(of: "\"port\":8080}", with: "\"port\":\"8080\"}")
        try replaceByRename(json, quotedPort)
        guard case .failed(let second) = source.checkNow() else { Issue.record("bad update accepted"); return }
        #expect(second.kind == "EndpointSlice" && second.name == "nginx-x7k2p" && second.field == "ports[0].port")
        #expect(second.line != nil && second.line == line(of: "\"port\":\"8080\"}", in: quotedPort))

        try replaceByRename(json, list(ip: "10.96.0.21"))
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(servedIP(store) == "10.96.0.21")
    }

    @Test func aFileGoneForAWhileIsReportedOnceAndTheSnapshotStays() throws {
        try source.loadOnce()
        try FileManager.default.removeItem(atPath: path)
        guard case .failed(let error) = source.checkNow() else { Issue.record("missing file not reported"); return }
        #expect(error.kind == "File")
        #expect(source.checkNow() == .unchanged)
        #expect(source.reloadsFailed == 1)
        #expect(servedIP(store) == "10.0.0.1")
        // back with the same content: nothing to reload, nothing wrong any more
        try stateFile(ip: "10.0.0.1").write(toFile: path, atomically: false, encoding: .utf8)
        #expect(source.checkNow() == .unchanged)
        #expect(source.lastError == nil)
        #expect(store.current?.generation == 1)
    }

    /// `run()` on the real clock serves a renamed-in file. How soon is the poll interval's business
    /// (`pollingRunsOnTheManualClock`, on virtual time); a wall-clock bound here would only measure how
    /// loaded the machine is, so the wait is generous.
    @Test(.timeLimit(.minutes(1)))
    func runServesAChangeOnTheRealClock() async throws {
        let source = self.source
        try source.loadOnce()
        let task = Task { await source.run() }
        defer { task.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        try replaceByRename(path, stateFile(ip: "10.0.0.7"))
        #expect(await waitForGeneration(store, 2, within: .seconds(10)))
        #expect(servedIP(store) == "10.0.0.7")
        #expect(source.pollInterval <= .milliseconds(500), "the default poll serves a change within a second")
    }

    @Test(.timeLimit(.minutes(1)))
    func runUsesTheInjectedSleepAndStopsOnCancellation() async throws {
        let time = RecordingTime()
        let source = FileSource(path: path, store: store, logger: logs.logger, pollInterval: .milliseconds(200), time: time)
        try source.loadOnce()
        let task = Task { await source.run() }
        try rewriteInPlace(path, stateFile(ip: "10.0.0.8"))
        #expect(await waitForGeneration(store, 2, within: .seconds(30)))
        task.cancel()
        await task.value  // returns once cancelled
        #expect(time.asked.allSatisfy { $0 == 200_000_000 })
        #expect(servedIP(store) == "10.0.0.8")
    }

    /// Polling runs on the clock it is given: on a manual clock nothing is looked at until time is
    /// advanced by a poll interval, and each interval is exactly one look.
    @Test(.timeLimit(.minutes(1)))
    func pollingRunsOnTheManualClock() async throws {
        let clock = ManualClock()
        let source = FileSource(path: path, store: store, logger: logs.logger, pollInterval: .milliseconds(200), time: clock)
        try source.loadOnce()
        let task = Task { await source.run() }
        defer { task.cancel() }
        await waitForSleeper(clock)
        try rewriteInPlace(path, stateFile(ip: "10.0.0.9"))
        // Real time passes, virtual time does not: the change is not seen.
        #expect(await !waitForGeneration(store, 2, within: .milliseconds(300)))
        #expect(servedIP(store) == "10.0.0.1")

        clock.advance(nanoseconds: 199_000_000)
        #expect(await !waitForGeneration(store, 2, within: .milliseconds(100)), "199 ms is less than one poll interval")
        clock.advance(nanoseconds: 1_000_000)
        #expect(await waitForGeneration(store, 2, within: .seconds(30)))
        #expect(servedIP(store) == "10.0.0.9")
        await waitForSleeper(clock)
        #expect(clock.sleeperCount == 1, "after the look, the source sleeps again on the same clock")

        task.cancel()
        await task.value
        #expect(clock.sleeperCount == 0, "cancellation ends the sleep")
    }
}

/// The real clock, remembering every sleep asked of it.
final class RecordingTime: TimeSource {
    private let sleeps = Mutex<[UInt64]>([])
    var asked: [UInt64] { sleeps.withLock { $0 } }
    func nowNanoseconds() -> UInt64 { SystemTimeSource().nowNanoseconds() }
    func sleep(nanoseconds: UInt64) async throws {
        sleeps.withLock { $0.append(nanoseconds) }
        try await Task.sleep(for: .milliseconds(5))  // virtual 200 ms
    }
}

/// Returns once a task sleeps on `clock`.
func waitForSleeper(_ clock: ManualClock) async {
    while clock.sleeperCount == 0 { try? await Task.sleep(for: .milliseconds(1)) }
}

/// True once the store reaches `generation`, false after `timeout`.
func waitForGeneration(_ store: SnapshotStore, _ generation: UInt64, within timeout: Duration) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for await g in store.generations() where g >= generation { return true }
            return false
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}

/// The reload check compares digests, not bytes: every one-byte change must show, wherever it is.
@Suite struct ContentDigestTests {
    @Test(arguments: [0, 1, 7, 8, 9, 63, 64, 1000, 1001])
    func everyOneByteChangeShows(_ count: Int) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let digest = ContentDigest(bytes)
        #expect(ContentDigest(bytes) == digest)
        for i in bytes.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var changed = bytes
                changed[i] ^= flip
                #expect(ContentDigest(changed) != digest, "byte \(i) of \(count)")
            }
        }
        #expect(ContentDigest(bytes + [0]) != digest, "a trailing zero byte")
    }
}
