import DNSWire
import NameExpansion
import Synchronization

/// A query a scripted upstream received, for `expectUpstream`.
public struct ReceivedQuery: Sendable, CustomStringConvertible {
    public var upstream: String
    public var question: Question?
    public var transport: QuerySpec.Transport
    public var step: Int
    public var description: String {
        "\(upstream) got \(question.map { "\($0.name) \($0.type)" } ?? "<unparsable>") over \(transport) at step \(step)"
    }
}

/// What a scripted upstream does with one query: wait, send these datagrams in order, then maybe
/// close (TCP) or report the port closed (UDP). An empty `datagrams` without `close` is a drop.
struct UpstreamPlan: Sendable {
    var delay: Double = 0
    var datagrams: [[UInt8]] = []
    var close = false
}

/// The scripted upstreams of one scenario run: the pure decision of what each one answers, and the
/// log of what they were asked. Shared by the in-process transport and the loopback servers.
public final class UpstreamScript: Sendable {
    let upstreams: [ScriptedUpstream]
    private let state = Mutex<(step: Int, log: [ReceivedQuery])>((0, []))

    init(_ upstreams: [ScriptedUpstream]) { self.upstreams = upstreams }

    /// The step being run (1-based); 0 before the first.
    public var step: Int {
        get { state.withLock { $0.step } }
        set { state.withLock { $0.step = newValue } }
    }
    /// Every query the scripted upstreams received, in order.
    public var log: [ReceivedQuery] { state.withLock { $0.log } }
    func clearLog() { state.withLock { $0.log = [] } }

    func upstream(at host: String, port: UInt16) -> ScriptedUpstream? {
        upstreams.first { u in
            guard case .success(let hp) = AddressAndPort.parse(u.address) else { return false }
            return hp == AddressAndPort(host: host, port: port)
        }
    }

    /// Decides the answer of `upstream` to `query`, and logs the query.
    func plan(_ upstream: ScriptedUpstream, query bytes: [UInt8], transport: QuerySpec.Transport) -> UpstreamPlan {
        let query = try? WireCodec.decode(bytes)
        let step = state.withLock { s in
            s.log.append(ReceivedQuery(upstream: upstream.name, question: query?.question, transport: transport, step: s.step))
            return s.step
        }
        guard let query, let question = query.question else { return UpstreamPlan() }
        if let window = upstream.steps, !window.contains(step) { return UpstreamPlan() }
        guard let entry = upstream.entries.first(where: { e in
            (e.steps?.contains(step) ?? true) && e.match.holds(question, opcode: query.header.opcode, transport: transport)
        }) else {
            var refused = Message.response(to: query, rcode: .refused)
            refused.header.recursionAvailable = false
            return UpstreamPlan(datagrams: [WireCodec.encode(refused)])
        }
        var plan = UpstreamPlan(delay: entry.delay)
        let reply: [UInt8]?
        switch entry.action {
        case .reply(let spec): reply = WireCodec.encode(Self.message(spec, answering: query))
        case .raw(let bytes): reply = bytes
        case .drop: reply = nil
        case .close: reply = nil; plan.close = true
        }
        for extra in entry.before {
            switch extra {
            case .junk:
                plan.datagrams.append(Array("this is not a DNS message".utf8))
            case .wrongID:
                var m = Self.message(Self.spec(entry), answering: query)
                m.header.id &+= 1
                plan.datagrams.append(WireCodec.encode(m))
            case .wrongQuestion:
                var m = Self.message(Self.spec(entry), answering: query)
                m.questions = [Question(name: DomainName(labels: ["wrong"] + question.name.labels), type: question.type)]
                plan.datagrams.append(WireCodec.encode(m))
            case .raw(let bytes):
                plan.datagrams.append(bytes)
            }
        }
        if let reply { plan.datagrams.append(reply) }
        return plan
    }

    /// The entry's reply, or an empty NOERROR when it has none (for the decoys of `before`).
    static func spec(_ entry: ScriptedEntry) -> ReplySpec {
        if case .reply(let s) = entry.action { return s }
        return ReplySpec()
    }

    /// `spec` as an answer to `query`: its ID and question, QR and the flags asked for.
    static func message(_ spec: ReplySpec, answering query: Message) -> Message {
        var m = Message.response(to: query, rcode: spec.rcode)
        let flags = spec.flags ?? (query.header.recursionDesired ? ["aa", "rd", "ra"] : ["aa", "ra"])
        m.header.authoritative = flags.contains("aa")
        m.header.truncated = flags.contains("tc")
        m.header.recursionDesired = flags.contains("rd")
        m.header.recursionAvailable = flags.contains("ra")
        m.header.authenticData = flags.contains("ad")
        m.header.checkingDisabled = flags.contains("cd")
        m.answer = spec.answer
        m.authority = spec.authority
        m.additional = spec.additional
        if let ede = spec.ede { m.addExtendedError(EDECode(ede)) }
        return m
    }
}
