import Synchronization

/// Virtual time for tests and the in-process conformance runner: `now` moves only when `advance`
/// is called, and sleepers whose deadline has come are resumed then. Each sleeper is tagged with the
/// task-local ``owner`` of the task that sleeps, so a runner can tell "this query is waiting on the
/// clock" (advance) from "this query is still computing" (wait).
public final class ManualClock: TimeSource {
    /// Who a sleeping task works for: a query step's number, or 0 for background work.
    @TaskLocal public static var owner = 0

    private struct Sleeper { let id: Int; let owner: Int; let deadline: UInt64; let continuation: CheckedContinuation<Void, any Error> }
    private struct State { var now: UInt64 = 1_000_000_000_000; var sleepers: [Sleeper] = []; var nextID = 0; var events = 0 }
    private let state = Mutex(State())

    public init() {}

    public func nowNanoseconds() -> UInt64 { state.withLock { $0.now } }

    public func sleep(nanoseconds: UInt64) async throws {
        let owner = Self.owner
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let cancelled: Bool = state.withLock { s in
                    s.events += 1
                    if Task.isCancelled { return true }
                    s.sleepers.append(Sleeper(id: id, owner: owner, deadline: s.now &+ nanoseconds, continuation: c))
                    return false
                }
                if cancelled { c.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper = state.withLock { s -> Sleeper? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                s.events += 1
                return s.sleepers.remove(at: i)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The number of tasks sleeping on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Whether a task working for `owner` is asleep on this clock.
    public func isSleeping(owner: Int) -> Bool { state.withLock { s in s.sleepers.contains { $0.owner == owner } } }

    /// Counts sleeps begun and cancelled: unchanged between two looks means nothing moved.
    public var events: Int { state.withLock { $0.events } }

    /// The earliest deadline of any sleeper.
    public var nextDeadline: UInt64? { state.withLock { s in s.sleepers.map(\.deadline).min() } }

    /// Moves time forward by `nanoseconds` and wakes the sleepers that are due.
    public func advance(nanoseconds: UInt64) { advance { $0 &+ nanoseconds } }

    public func advance(seconds: Double) { advance(nanoseconds: UInt64(seconds * 1_000_000_000)) }

    /// Moves time to `target` (never backwards) and wakes the sleepers that are due.
    public func advance(to target: UInt64) { advance { max($0, target) } }

    private func advance(_ move: (UInt64) -> UInt64) {
        let due = state.withLock { s -> [Sleeper] in
            s.now = move(s.now)
            let due = s.sleepers.filter { $0.deadline <= s.now }
            s.sleepers.removeAll { $0.deadline <= s.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
