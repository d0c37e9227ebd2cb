import DNSWire
import Synchronization

/// Virtual time for tests: `now` moves only when `advance` is called, and sleepers whose deadline
/// has come are resumed then.
final class ManualTimeSource: TimeSource {
    private struct Sleeper { let id: Int; let deadline: UInt64; let continuation: CheckedContinuation<Void, any Error> }
    private struct State { var now: UInt64 = 1_000_000_000_000; var sleepers: [Sleeper] = []; var nextID = 0 }
    private let state = Mutex(State())

    func nowNanoseconds() -> UInt64 { state.withLock { $0.now } }

    /// The number of tasks sleeping on this clock.
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(nanoseconds: UInt64) async throws {
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let due: Bool = state.withLock { s in
                    if Task.isCancelled { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: s.now + nanoseconds, continuation: c))
                    return false
                }
                if due { c.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper = state.withLock { s -> Sleeper? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    func advance(seconds: Double) { advance(nanoseconds: UInt64(seconds * 1_000_000_000)) }

    func advance(nanoseconds: UInt64) {
        let due = state.withLock { s -> [Sleeper] in
            s.now += nanoseconds
            let due = s.sleepers.filter { $0.deadline <= s.now }
            s.sleepers.removeAll { $0.deadline <= s.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
