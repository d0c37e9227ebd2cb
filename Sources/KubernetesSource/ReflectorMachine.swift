/// How a reflector paces itself.
public struct ReflectorTiming: Sendable, Equatable {
    /// How often the API server sends a BOOKMARK on a quiet watch (about a minute in Kubernetes); a watch
    /// silent for twice this is taken for dead and restarted.
    public var bookmarkInterval: Duration = .seconds(60)
    /// `timeoutSeconds` of each watch request, at least (up to twice this, drawn at random): the server ends
    /// the watch then, and it is reopened at once.
    public var watchTimeoutSeconds = 300
    /// The first retry's delay; each failure in a row doubles it, up to `backoffCap`.
    public var backoffBase: Duration = .milliseconds(500)
    public var backoffCap: Duration = .seconds(30)
    /// A delay `d` is drawn from `[d × (1 − jitter), d]`, so reflectors that failed together do not retry together.
    public var jitter = 0.5
    /// A watch that ends cleanly this soon after it opened, having delivered nothing, counts as a failure
    /// (backoff), not as the server's timeout: a server that closes every watch at once is not hammered.
    public var minimumWatchDuration: Duration = .seconds(1)
    /// `limit` of each list page.
    public var pageSize = 500

    public init() {}

    /// The silence after which a watch is restarted.
    public var silenceLimitNanoseconds: UInt64 { 2 * bookmarkInterval.nanoseconds }

    /// The delay before retry number `attempt` (1 for the first failure), with `random` in `0..<1`.
    public func backoffNanoseconds(attempt: Int, random: Double) -> UInt64 {
        let base = Double(backoffBase.nanoseconds), cap = Double(backoffCap.nanoseconds)
        let full = min(cap, base * pow2(max(0, attempt - 1)))
        let r = min(max(random, 0), 1)
        return UInt64(full * (1 - jitter * r))
    }

    private func pow2(_ n: Int) -> Double { n >= 62 ? .infinity : Double(UInt64(1) << UInt64(n)) }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (s, a) = components
        return s < 0 ? 0 : UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000)
    }
}

/// Why a request to the API server did not give what was asked.
public enum APIProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// No HTTP answer: connection refused or reset, TLS failure, timeout.
    case unreachable(String)
    /// 401: the token or certificate is not accepted.
    case unauthorized(String)
    /// 403: RBAC does not allow `verb` on the resource.
    case forbidden(verb: String, message: String)
    /// 410 Gone: the resourceVersion or continue token is too old.
    case gone(String)
    /// Any other HTTP status.
    case status(Int, String)
    /// A 200 whose body is not what the protocol says (not a list, cut short, not JSON).
    case malformed(String)

    /// A name for a problem of the whole API server, not of one resource (every reflector meets it
    /// at once); nil for the others.
    var serverWide: String? {
        switch self {
        case .unreachable: "unreachable"
        case .unauthorized: "unauthorized"
        default: nil
        }
    }

    /// The HTTP status, or nil when there was none.
    public var httpCode: Int? {
        switch self {
        case .unreachable, .malformed: nil
        case .unauthorized: 401
        case .forbidden: 403
        case .gone: 410
        case .status(let code, _): code
        }
    }

    /// Problems of the same category are one state for logging: a retry that fails the same way is not logged again.
    public var category: String {
        switch self {
        case .unreachable: "unreachable"
        case .unauthorized: "unauthorized"
        case .forbidden(let verb, _): "forbidden \(verb)"
        case .gone: "gone"
        case .status(let code, _): "status \(code)"
        case .malformed: "malformed"
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let m): "unreachable: \(m)"
        case .unauthorized(let m): "401 Unauthorized: \(m)"
        case .forbidden(_, let m): "403 Forbidden: \(m)"
        case .gone(let m): "410 Gone: \(m)"
        case .status(let code, let m): "HTTP \(code): \(m)"
        case .malformed(let m): "malformed response: \(m)"
        }
    }
}

/// The list/watch decisions of one resource, without sockets (STYLE §6): the driver (``Reflector``) reports
/// what happened and does what the returned ``Step`` says.
///
/// ```text
/// start ─▶ list(nil) ─page+continue─▶ list(token) … ─last page─▶ install ─▶ watch(rv)
///  watch(rv) ─events/bookmark─▶ watch(rv') (rv' the newest seen)
///  watch ─ends (server timeout)─▶ watch(rv')          watch ─silent 2×bookmark─▶ watch(rv')
///  watch ─410 (ERROR event or HTTP)─▶ list(nil), a relist: the kind is replaced whole
///  list(token) ─410 (continue expired)─▶ list(nil)
///  any other failure ─▶ wait(backoff with jitter) ─▶ list(nil) (while listing) or watch(rv)
/// ```
public struct ReflectorMachine: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        /// Fetching pages; `relist` when the kind was installed before (its list replaces it).
        case listing(continueToken: String?, relist: Bool)
        /// The pages are in; waiting for the driver to install them.
        case installing(resourceVersion: String, relist: Bool)
        /// A watch from `resourceVersion` (the newest seen) is open or being opened.
        case watching(resourceVersion: String, openedAt: UInt64, delivered: Bool)
        /// Waiting out a backoff; then `resume`.
        case backingOff(resume: Resume)
    }

    public enum Resume: Sendable, Equatable {
        case list(relist: Bool)
        case watch(resourceVersion: String)
    }

    public enum Action: Sendable, Equatable {
        /// GET a page of the list (nil: the first page; the driver drops pages collected so far).
        case list(continueToken: String?)
        /// The list is complete at `resourceVersion`: install it (or replace the kind, for a relist), then call ``installed()``.
        case install(resourceVersion: String, relist: Bool)
        /// Open a watch from `resourceVersion`.
        case watch(resourceVersion: String)
        /// Sleep this long, then call ``backoffElapsed(now:)``.
        case wait(nanoseconds: UInt64)
        /// Nothing to do: keep reading the watch.
        case none
    }

    /// A change of state worth one log line: failing a new way, or working again.
    public enum Report: Sendable, Equatable {
        case failing(APIProblem)
        case recovered(after: APIProblem)
    }

    public struct Step: Sendable, Equatable {
        public var action: Action
        public var report: Report?
        /// This step starts a relist (counted).
        public var relist = false
        /// This step reopens a watch (counted).
        public var watchRestart = false
        public init(_ action: Action, report: Report? = nil, relist: Bool = false, watchRestart: Bool = false) {
            self.action = action; self.report = report; self.relist = relist; self.watchRestart = watchRestart
        }
    }

    public let timing: ReflectorTiming
    public private(set) var state: State = .idle
    /// Failures in a row, for the backoff.
    public private(set) var failures = 0
    /// The problem last logged; nil while things work.
    public private(set) var reported: APIProblem?
    /// When the open watch last delivered something (an event or a bookmark) or opened.
    public private(set) var lastActivity: UInt64 = 0
    /// Whether this kind's list has been installed once.
    public private(set) var synced = false

    public init(timing: ReflectorTiming = ReflectorTiming()) { self.timing = timing }

    public mutating func start() -> Step {
        state = .listing(continueToken: nil, relist: false)
        return Step(.list(continueToken: nil))
    }

    /// A page arrived. `continueToken` nil or empty: it was the last.
    public mutating func listPage(continueToken: String?, resourceVersion: String) -> Step {
        guard case .listing(_, let relist) = state else { return Step(.none) }
        let report = recovered()
        if let token = continueToken, !token.isEmpty {
            state = .listing(continueToken: token, relist: relist)
            return Step(.list(continueToken: token), report: report)
        }
        failures = 0
        state = .installing(resourceVersion: resourceVersion, relist: relist)
        return Step(.install(resourceVersion: resourceVersion, relist: relist), report: report)
    }

    /// The driver installed the list: watch from its resourceVersion.
    public mutating func installed(now: UInt64) -> Step {
        guard case .installing(let rv, _) = state else { return Step(.none) }
        synced = true
        state = .watching(resourceVersion: rv, openedAt: now, delivered: false)
        lastActivity = now
        return Step(.watch(resourceVersion: rv))
    }

    /// The watch answered 200: the stream is open.
    public mutating func watchOpened(now: UInt64) -> Step {
        guard case .watching(let rv, _, _) = state else { return Step(.none) }
        state = .watching(resourceVersion: rv, openedAt: now, delivered: false)
        lastActivity = now
        return Step(.none, report: recovered())
    }

    /// Events (or a bookmark) arrived; `resourceVersion` is the newest among them, when any carried one.
    public mutating func watchDelivered(resourceVersion: String?, now: UInt64) -> Step {
        guard case .watching(let rv, let openedAt, _) = state else { return Step(.none) }
        state = .watching(resourceVersion: resourceVersion.flatMap { $0.isEmpty ? nil : $0 } ?? rv, openedAt: openedAt, delivered: true)
        lastActivity = now
        failures = 0
        return Step(.none, report: recovered())
    }

    /// Whether the open watch has been silent past twice the bookmark interval.
    public func isSilent(now: UInt64) -> Bool {
        guard case .watching = state else { return false }
        return now >= lastActivity &+ timing.silenceLimitNanoseconds
    }

    /// When the open watch becomes silent, unless something arrives first.
    public var silenceDeadline: UInt64 { lastActivity &+ timing.silenceLimitNanoseconds }

    /// The watch was silent too long: the driver dropped it; reopen from the newest resourceVersion.
    public mutating func watchSilent(now: UInt64) -> Step {
        guard case .watching(let rv, _, _) = state else { return Step(.none) }
        state = .watching(resourceVersion: rv, openedAt: now, delivered: false)
        lastActivity = now
        return Step(.watch(resourceVersion: rv), watchRestart: true)
    }

    /// The server ended the watch cleanly (its `timeoutSeconds`, or a restart): reopen from the newest
    /// resourceVersion, at once unless it ended as soon as it opened with nothing delivered.
    public mutating func watchEnded(now: UInt64, random: Double) -> Step {
        guard case .watching(let rv, let openedAt, let delivered) = state else { return Step(.none) }
        if !delivered, now &- openedAt < timing.minimumWatchDuration.nanoseconds {
            return failed(.malformed("the watch ended as soon as it opened"), now: now, random: random)
        }
        state = .watching(resourceVersion: rv, openedAt: now, delivered: false)
        lastActivity = now
        return Step(.watch(resourceVersion: rv), watchRestart: true)
    }

    /// The resourceVersion is too old (an ERROR event with code 410, or HTTP 410 on the watch): relist,
    /// which also removes what was deleted while away.
    public mutating func watchGone() -> Step {
        guard case .watching = state else { return Step(.none) }
        state = .listing(continueToken: nil, relist: synced)
        return Step(.list(continueToken: nil), relist: true)
    }

    /// A request failed (no HTTP answer, a status other than 200, a malformed body, an ERROR event other than 410).
    /// `random` in `0..<1` draws the jitter.
    public mutating func failed(_ problem: APIProblem, now: UInt64, random: Double) -> Step {
        let report: Report? = reported?.category == problem.category ? nil : .failing(problem)
        reported = problem
        switch state {
        case .listing(.some, let relist) where problem.httpCode == 410:
            // The continue token expired mid-list: start the list again from the first page.
            state = .listing(continueToken: nil, relist: relist)
            return Step(.list(continueToken: nil), report: report, relist: true)
        case .watching where problem.httpCode == 410:
            var step = watchGone()
            step.report = report
            return step
        case .listing(_, let relist), .installing(_, let relist):
            return backOff(.list(relist: relist), report: report, random: random)
        case .watching(let rv, _, _):
            return backOff(.watch(resourceVersion: rv), report: report, random: random)
        case .backingOff, .idle:
            return Step(.none, report: report)
        }
    }

    /// The backoff is over: retry what failed.
    public mutating func backoffElapsed(now: UInt64) -> Step {
        guard case .backingOff(let resume) = state else { return Step(.none) }
        switch resume {
        case .list(let relist):
            state = .listing(continueToken: nil, relist: relist)
            return Step(.list(continueToken: nil), relist: relist)
        case .watch(let rv):
            state = .watching(resourceVersion: rv, openedAt: now, delivered: false)
            lastActivity = now
            return Step(.watch(resourceVersion: rv), watchRestart: true)
        }
    }

    private mutating func backOff(_ resume: Resume, report: Report?, random: Double) -> Step {
        failures += 1
        state = .backingOff(resume: resume)
        return Step(.wait(nanoseconds: timing.backoffNanoseconds(attempt: failures, random: random)), report: report)
    }

    private mutating func recovered() -> Report? {
        guard let problem = reported else { return nil }
        reported = nil
        return .recovered(after: problem)
    }
}
