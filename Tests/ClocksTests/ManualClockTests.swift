import Clocks
import Testing

/// Returns once `count` tasks sleep on `clock`.
func waitForSleepers(_ clock: ManualClock, _ count: Int) async {
    while clock.sleeperCount < count { await Task.yield() }
}

@Suite struct ManualClockTests {
    @Test(.timeLimit(.minutes(1)))
    func sleepersWakeWhenTheirDeadlineComesAndNotBefore() async throws {
        let clock = ManualClock()
        let start = clock.nowNanoseconds()
        let short = Task { try await clock.sleep(nanoseconds: 100) }
        let long = Task { try await clock.sleep(for: .seconds(1)) }
        await waitForSleepers(clock, 2)
        #expect(clock.nextDeadline == start + 100)

        clock.advance(nanoseconds: 99)
        #expect(clock.sleeperCount == 2, "nobody is due 1 ns early")
        clock.advance(nanoseconds: 1)
        try await short.value
        #expect(clock.sleeperCount == 1)

        clock.advance(to: start + 1_000_000_000)
        try await long.value
        #expect(clock.sleeperCount == 0)
        #expect(clock.nowNanoseconds() == start + 1_000_000_000)
    }

    @Test func advanceToNeverMovesBackwards() {
        let clock = ManualClock()
        let start = clock.nowNanoseconds()
        clock.advance(seconds: 2)
        clock.advance(to: start)
        #expect(clock.nowNanoseconds() == start + 2_000_000_000)
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingASleeperEndsItsSleepWithAnError() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(60)) }
        await waitForSleepers(clock, 1)
        let eventsBefore = clock.events
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
        #expect(clock.events > eventsBefore, "a cancelled sleep counts as movement")
    }

    @Test(.timeLimit(.minutes(1)))
    func sleepersAreTaggedWithTheirOwner() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await ManualClock.$owner.withValue(7) { try await clock.sleep(nanoseconds: 10) } }
        await waitForSleepers(clock, 1)
        #expect(clock.isSleeping(owner: 7))
        #expect(!clock.isSleeping(owner: 0))
        clock.advance(nanoseconds: 10)
        try await sleeper.value
        #expect(!clock.isSleeping(owner: 7))
    }
}
