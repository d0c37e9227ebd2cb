import Testing
@testable import Server

/// A connection flood from one client must not lock new clients out (RFC 7766 §6.2.3).
@Suite struct TCPConnectionTableTests {
    static let second: UInt64 = 1_000_000_000

    /// `table.admit`, outside `#expect` (which cannot take a mutating call).
    static func admit(_ table: inout TCPConnectionTable<Int>, _ id: Int, client: String, now: UInt64)
        -> TCPConnectionTable<Int>.Admission {
        table.admit(id, client: client, now: now)
    }

    static func table(max: Int = 4, share: Double = 1, idle: UInt64 = 10 * second) -> TCPConnectionTable<Int> {
        TCPConnectionTable(maxConnections: max, clientShare: share, idleTimeout: idle)
    }

    @Test func aFullTableClosesTheLongestIdleConnectionToAdmitANewOne() {
        var t = Self.table()
        for id in 0..<4 {
            #expect(Self.admit(&t, id, client: "10.0.0.1", now: UInt64(id) * Self.second) == .admit)
        }
        // Connection 0 did work last; 1 has been idle longest.
        let began = t.beginWork(0, now: 0)
        #expect(began)
        t.endWork(0, now: 5 * Self.second)
        #expect(Self.admit(&t, 10, client: "10.0.0.2", now: 6 * Self.second) == .admitClosing(1))
        #expect(t.count == 4)
        let closedTakesWork = t.beginWork(1, now: 0)
        #expect(!closedTakesWork, "a connection closed to make room takes no new query")
    }

    /// After a hand-over: a connection closes 2 s after its last answer, never over a query in flight,
    /// and one that has not had a query yet waits out the ordinary idle timeout.
    @Test func aDrainingProcessClosesOnlyConnectionsThatHadTheirAnswers() {
        var t = Self.table()
        #expect(Self.admit(&t, 0, client: "10.0.0.1", now: 0) == .admit)
        #expect(Self.admit(&t, 1, client: "10.0.0.1", now: 0) == .admit)
        _ = t.beginWork(0, now: 0)
        #expect(t.drainCheck(0, now: 5 * Self.second)?.close == false, "a query in flight")
        t.endWork(0, now: 5 * Self.second)
        #expect(t.drainCheck(0, now: 6 * Self.second)! == (false, Self.second))
        #expect(t.drainCheck(0, now: 7 * Self.second)?.close == true, "answered and quiet for 2 s")
        #expect(t.drainCheck(1, now: 9 * Self.second)! == (false, Self.second), "no query yet: the idle timeout")
        #expect(t.drainCheck(1, now: 10 * Self.second)?.close == true)
        #expect(t.drainCheck(7, now: 0) == nil, "not in the table")
    }

    @Test func aConnectionWithWorkPendingIsNeverClosedForANewcomer() {
        var t = Self.table(max: 2)
        #expect(Self.admit(&t, 0, client: "10.0.0.1", now: 0) == .admit)
        #expect(Self.admit(&t, 1, client: "10.0.0.1", now: 0) == .admit)
        _ = t.beginWork(0, now: 0)
        _ = t.beginWork(1, now: 0)
        #expect(Self.admit(&t, 2, client: "10.0.0.2", now: Self.second) == .reject(.full))
        t.endWork(1, now: 2 * Self.second)
        #expect(Self.admit(&t, 3, client: "10.0.0.2", now: 3 * Self.second) == .admitClosing(1))
        #expect(t.idleCheck(0, now: 20 * Self.second)?.close == false, "busy: not idle")
        #expect(t.idleCheck(1, now: 20 * Self.second) == nil, "closed for the newcomer: not in the table")
    }

    @Test func oneClientHoldsAtMostItsShare() {
        var t = Self.table(max: 8, share: 0.25)
        #expect(Self.admit(&t, 0, client: "10.0.0.1", now: 0) == .admit)
        #expect(Self.admit(&t, 1, client: "10.0.0.1", now: 0) == .admit)
        #expect(Self.admit(&t, 2, client: "10.0.0.1", now: 0) == .reject(.clientShare))
        #expect(Self.admit(&t, 3, client: "10.0.0.2", now: 0) == .admit)
        t.remove(0)
        #expect(Self.admit(&t, 4, client: "10.0.0.1", now: 0) == .admit, "a closed connection frees its client's share")
        #expect(t.connections(of: "10.0.0.1") == 2)
    }

    @Test("the idle timeout shrinks as the table fills", arguments: [(4, 10.0), (5, 7.5), (6, 5.0), (7, 2.5), (8, 0.1)])
    func idleTimeoutShrinks(open: Int, seconds: Double) {
        var t = Self.table(max: 8)
        for id in 0..<open { _ = t.admit(id, client: "10.0.0.\(id)", now: 0) }
        #expect(t.currentIdleTimeout == UInt64(seconds * Double(Self.second)))
    }

    @Test func anIdleConnectionClosesAfterTheTimeoutCountedFromItsLastAnswer() {
        var t = Self.table(max: 100)
        _ = t.admit(0, client: "10.0.0.1", now: 0)
        #expect(t.idleCheck(0, now: 4 * Self.second)?.recheckIn == 6 * Self.second)
        _ = t.beginWork(0, now: 7 * Self.second)
        t.endWork(0, now: 8 * Self.second)
        #expect(t.idleCheck(0, now: 12 * Self.second)?.close == false)
        #expect(t.idleCheck(0, now: 18 * Self.second)?.close == true)
    }

    @Test func aBusyConnectionThatFinishesNothingIsClosedWhenStalled() {
        var t = Self.table(max: 100)
        _ = Self.admit(&t, 0, client: "10.0.0.1", now: 0)
        _ = t.beginWork(0, now: 50 * Self.second)          // a query after 50 s idle: busy from now
        #expect(t.idleCheck(0, now: 54 * Self.second)?.close == false, "a query in flight is not idleness")
        _ = t.beginWork(0, now: 60 * Self.second)          // more queries, no answer ever read
        #expect(t.idleCheck(0, now: 79 * Self.second)?.close == false)
        #expect(t.idleCheck(0, now: 80 * Self.second)?.close == true, "30 s without finishing anything: stalled")
    }
}
