#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time that tests can drive. Every part that waits or measures time takes one; tests
/// pass a ``ManualClock``.
public protocol TimeSource: Sendable {
    /// Nanoseconds on a monotonic clock.
    func nowNanoseconds() -> UInt64
    /// Suspends for `nanoseconds` of this source's time.
    func sleep(nanoseconds: UInt64) async throws
}

extension TimeSource {
    /// Suspends for `duration` of this source's time (negative durations do not wait).
    public func sleep(for duration: Duration) async throws {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return try await sleep(nanoseconds: 0) }
        try await sleep(nanoseconds: UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
    }
}

/// The real monotonic clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    /// Nanoseconds since this process first asked, on CLOCK_BOOTTIME (ContinuousClock's clock on
    /// Linux), read directly: going through `Duration` cost ten times as many instructions, and the
    /// forwarder reads the time a dozen times per query.
    public func nowNanoseconds() -> UInt64 {
        // Read the lazily set origin before `now`, or the first reading is below it.
        let origin = Self.origin
        return Self.boottime() &- origin
    }

    private static let origin = boottime()

    private static func boottime() -> UInt64 {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_BOOTTIME, &ts)
        #else
        clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
    public func sleep(nanoseconds: UInt64) async throws { try await Task.sleep(nanoseconds: nanoseconds) }
}

extension SystemTimeSource {
    /// Checks `condition` every 2 ms of real time until it holds or `seconds` have passed; returns
    /// whether it held (tests waiting on another task with a bound, so a stuck one fails instead of hanging).
    public static func poll(within seconds: Double, until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition() {
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(2))) != nil else { return false }
        }
        return true
    }
}

/// The real wall clock, for comparing with file timestamps and for timestamps in metrics; nothing
/// waits on it, so tests have no need to drive it.
public enum WallClock {
    /// Nanoseconds since the Unix epoch.
    public static func nanosecondsSinceEpoch() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Seconds since the Unix epoch.
    public static func secondsSinceEpoch() -> Double { Double(nanosecondsSinceEpoch()) / 1e9 }
}
