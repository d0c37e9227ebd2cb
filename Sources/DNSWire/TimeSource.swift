/// Monotonic time that tests can drive (DESIGN §5 "Time"). Every time-dependent part takes one.
public protocol TimeSource: Sendable {
    /// Nanoseconds on a monotonic clock.
    func nowNanoseconds() -> UInt64
    /// Suspends for `nanoseconds` of this source's time.
    func sleep(nanoseconds: UInt64) async throws
}

/// The real monotonic clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public func nowNanoseconds() -> UInt64 {
        // Read the lazily set origin before `now`, or the first reading is negative and traps.
        let origin = ContinuousClock.Instant.origin
        let d = ContinuousClock.now - origin
        return UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
    }
    public func sleep(nanoseconds: UInt64) async throws { try await Task.sleep(nanoseconds: nanoseconds) }
}

extension ContinuousClock.Instant {
    fileprivate static let origin = ContinuousClock.now
}
