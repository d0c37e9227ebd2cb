import Clocks
import DNSWire
import Logging
import NameExpansion
import YAMLReader
import NIOCore
import Synchronization

/// The last handler: sends the query to an upstream and returns its answer (docs/behaviour.md, forwarding).
///
/// Each try uses a fresh random ID and a fresh socket with a kernel-chosen source port; only a
/// reply from the upstream's address and port with the ID and the question counts (RFC 5452).
/// UDP first, TCP after TC. Tries are bounded by `tryTimeout` and the query by `budget`; when every
/// upstream fails the answer is SERVFAIL with EDE 22 (timeouts) or 23 (network errors).
public final class ForwardHandler: Handler {
    public static let handlerName = "forward"
    public var name: String { Self.handlerName }
    public let config: ForwardConfig
    private let transport: any UpstreamTransport
    private let time: any TimeSource
    private let logger: Logger
    private let metrics: ForwardMetrics
    private let health: Mutex<UpstreamHealth>
    let inFlight = InFlight<ForwardKey, ForwardResult>()
    /// Queries in `handle` now, coalesced followers included.
    private let active = Atomic<Int>(0)

    /// - Parameters:
    ///   - group: the event loops of the TCP tries after TC (shared with the server); UDP tries wait on `UDPTries`' thread.
    ///   - time: drives timeouts, the budget and probe intervals.
    /// - Throws: when the configuration is invalid, e.g. an upstream is one of fedns's own listen addresses.
    public convenience init(config: ForwardConfig, group: any EventLoopGroup, time: any TimeSource = SystemTimeSource(),
                logger: Logger = Logger(label: "fedns.forward")) throws(ConfigError) {
        try self.init(config: config, transport: UpstreamExchange(group: group, time: time), time: time, logger: logger)
    }

    /// A forwarder over `transport` instead of sockets (the conformance runner's scripted upstreams).
    public init(config: ForwardConfig, transport: any UpstreamTransport, time: any TimeSource = SystemTimeSource(),
                logger: Logger = Logger(label: "fedns.forward")) throws(ConfigError) {
        try (config.validate() + config.servingIssues()).throwFirstError()
        self.config = config
        self.transport = transport
        self.time = time
        self.logger = logger
        self.metrics = ForwardMetrics(upstreams: config.allUpstreams)
        self.health = Mutex(UpstreamHealth(threshold: config.failuresBeforeDown))
    }

    /// Forwards `request`; as the last handler it never calls `next`.
    public func handle(_ request: Request, next: Next) async -> Response {
        guard active.add(1, ordering: .relaxed).newValue <= config.maxConcurrent else {
            active.subtract(1, ordering: .relaxed)
            metrics.overloaded.increment()
            return .error(.refused, to: request, ede: .other, text: "too many queries waiting on upstreams")
        }
        defer { active.subtract(1, ordering: .relaxed) }
        let key = ForwardKey(request)
        let upstreams = config.upstreams(for: request.name)
        let result = await inFlight.run(key) { await self.forward(key, to: upstreams) }
        switch result {
        case .answer(let upstreamReply):
            // Passed on as the upstream wrote it when it can be; decoded only when it cannot.
            if let answer = upstreamReply.clientAnswer() {
                return Response(forwarded: ForwardedAnswer(answer: answer, upstream: upstreamReply, request: request.message))
            }
            guard let decoded = upstreamReply.decoded() else {
                return .error(.servFail, to: request, ede: .networkError, text: "upstream reply unreadable")
            }
            return Response(message: Self.reply(decoded, to: request.message))
        case .failed(let ede, let text):
            return .error(.servFail, to: request, ede: ede, text: text)
        }
    }

    /// True when `upstream` has failed often enough in a row to be tried last.
    public func isDown(_ upstream: Upstream) -> Bool { health.withLock { $0.isDown(upstream) } }

    /// Probes every down upstream with `. NS` each `probeInterval` and brings back those that answer.
    /// Runs until the task is cancelled (a service in the server's group).
    public func runHealthProbes() async {
        while !Task.isCancelled {
            do { try await time.sleep(nanoseconds: config.probeIntervalNanoseconds) } catch { return }
            let down = health.withLock { $0.down }
            await withTaskGroup(of: Void.self) { probes in
                for upstream in down { probes.addTask { await self.probe(upstream) } }
            }
        }
    }

    /// Any reply to `. NS` (whatever its rcode) shows the upstream is serving again.
    private func probe(_ upstream: Upstream) async {
        let (bytes, matcher) = Self.query(Question(name: .root, type: .ns), dnssecOK: false, checkingDisabled: false)
        let outcome = await transport.exchange(bytes, with: upstream, tcp: false, timeoutNanoseconds: config.tryTimeoutNanoseconds,
                                               accept: { matcher.accept($0) })
        if case .reply = outcome { markUp(upstream) } else { metrics.healthFailure(upstream) }
    }

    // MARK: forwarding

    private func forward(_ key: ForwardKey, to upstreams: [Upstream]) async -> ForwardResult {
        let deadline = time.nowNanoseconds() + config.budgetNanoseconds
        var sawTimeout = false
        var failedReply: UpstreamReply?
        var round = health.withLock { $0.ordered(upstreams) }
        // Timeouts may be UDP loss: the upstreams that timed out get another round while budget remains.
        while !round.isEmpty {
            var timedOut: [Upstream] = []
            for upstream in round {
                let now = time.nowNanoseconds()
                guard now < deadline else { break }
                switch await tryUpstream(upstream, key, timeout: min(config.tryTimeoutNanoseconds, deadline - now)) {
                case .reply(let m) where m.rcode == .servFail || m.rcode == .refused:
                    // The upstream is alive but cannot help; another one may.
                    markUp(upstream)
                    failedReply = m
                case .reply(let m):
                    markUp(upstream)
                    return .answer(m)
                case .timeout:
                    sawTimeout = true
                    markFailed(upstream)
                    timedOut.append(upstream)
                case .networkError(let why):
                    logger.debug("upstream network error", metadata: ["dns.upstream": "\(upstream)", "error": "\(why)"])
                    markFailed(upstream)
                }
            }
            round = time.nowNanoseconds() < deadline ? timedOut : []
        }
        if let failedReply { return .answer(failedReply) }
        metrics.failed(sawTimeout ? .timeout : .unreachable)
        return sawTimeout ? .failed(.noReachableAuthority, "upstream timeout") : .failed(.networkError, "upstream unreachable")
    }

    /// One try: UDP, then TCP on the same upstream when the UDP reply is truncated.
    private func tryUpstream(_ upstream: Upstream, _ key: ForwardKey, timeout: UInt64) async -> TryOutcome {
        metrics.request(upstream)
        let sent = time.nowNanoseconds()
        let (outcome, _) = await StubExchange(transport: transport, time: time)
            .ask(key.question, dnssecOK: key.dnssecOK, checkingDisabled: key.checkingDisabled, server: upstream, timeoutNanoseconds: timeout)
        if case .reply(let m) = outcome { metrics.response(upstream, m.rcode, nanoseconds: time.nowNanoseconds() - sent) }
        return outcome
    }

    /// A query with a fresh random ID (RFC 5452 §9.2), EDNS payload 1232, DO and CD as the client set them.
    static func query(_ question: Question, dnssecOK: Bool, checkingDisabled: Bool) -> (bytes: [UInt8], matcher: ReplyMatcher) {
        var rng = SystemRandomNumberGenerator()
        let id = UInt16.random(in: .min ... .max, using: &rng)
        let bytes = WireCodec.recursiveQuery(id: id, question, udpPayloadSize: 1232, dnssecOK: dnssecOK, checkingDisabled: checkingDisabled)
        return (bytes, ReplyMatcher(id: id, question: question))
    }

    private func markUp(_ upstream: Upstream) {
        let wasDown = health.withLock { h in
            let was = h.isDown(upstream)
            h.recordSuccess(upstream)
            return was
        }
        if wasDown { logger.info("upstream is back", metadata: ["dns.upstream": "\(upstream)"]) }
    }

    private func markFailed(_ upstream: Upstream) {
        metrics.healthFailure(upstream)
        if health.withLock({ $0.recordFailure(upstream) }) {
            logger.info("upstream marked down", metadata: ["dns.upstream": "\(upstream)"])
        }
    }

    /// The upstream's reply as an answer to the client: the client's ID and question (byte for byte),
    /// its RD and CD, RA set, and an OPT only when the client sent one (payload 1232, its DO; the
    /// upstream's Extended DNS Errors kept, its other options dropped).
    static func reply(_ upstream: Message, to query: Message) -> Message {
        var m = upstream
        m.header.id = query.header.id
        m.header.recursionDesired = query.header.recursionDesired
        m.header.checkingDisabled = query.header.checkingDisabled
        m.header.recursionAvailable = true
        m.questions = query.questions
        if let clientEDNS = query.edns {
            let edes = upstream.edns?.options.filter { $0.code == EDNSOption.edeCode } ?? []
            m.edns = EDNS(udpPayloadSize: 1232, dnssecOK: clientEDNS.dnssecOK, options: edes)
        } else {
            m.edns = nil
            // An extended rcode cannot travel without OPT.
            if m.header.rcode.rawValue > 15 { m.header.rcode = .servFail }
        }
        return m
    }
}

/// What identifies a forwarded query for coalescing: the lower-cased question and the DO and CD bits.
struct ForwardKey: Hashable, Sendable {
    let question: Question
    let dnssecOK: Bool
    let checkingDisabled: Bool
    /// Hashed once: the coalescing table is probed when the query starts and when it ends.
    private let hash: Int

    init(_ request: Request) {
        question = Question(name: request.name, type: request.type, class: request.question.class)
        dnssecOK = request.dnssecOK
        checkingDisabled = request.checkingDisabled
        var hasher = Hasher()
        hasher.combine(question); hasher.combine(dnssecOK); hasher.combine(checkingDisabled)
        hash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func == (a: ForwardKey, b: ForwardKey) -> Bool {
        a.hash == b.hash && a.dnssecOK == b.dnssecOK && a.checkingDisabled == b.checkingDisabled && a.question == b.question
    }
}

/// A forwarded query's result, shared by coalesced waiters.
enum ForwardResult: Sendable {
    case answer(UpstreamReply)
    case failed(EDECode, String)
}

/// A forwarded answer in the upstream's wire form, ready for any client (``UpstreamReply/clientAnswer()``),
/// with what its decoded form needs when a handler reads it.
public struct ForwardedAnswer: Sendable {
    public let answer: PrerenderedAnswer
    let upstream: UpstreamReply
    /// The client's query it answers.
    let request: Message

    /// The answer as the codec reads it, with the client's ID, question, flags and OPT: what
    /// ``answer`` sends, as a message.
    var message: Message {
        guard let decoded = upstream.decoded() else {
            var m = Message.response(to: request, rcode: .servFail)
            m.addExtendedError(.networkError, text: "upstream reply unreadable")
            return m
        }
        return ForwardHandler.reply(decoded, to: request)
    }
}
