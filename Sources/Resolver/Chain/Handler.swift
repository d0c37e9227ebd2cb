import ClusterState
import DNSWire
import NameExpansion

/// How a query reached fedns.
public enum Transport: String, Sendable { case udp, tcp, `internal` }

/// A query with its normalised fields computed once (STYLE §3).
public struct Request: Sendable {
    public var message: Message
    /// The question, exactly as asked.
    public var question: Question
    /// The question name, lower-cased.
    public var name: DomainName
    public var transport: Transport
    /// The client's address as text (`10.1.2.3`), when known.
    public var clientAddress: String?

    public init(message: Message, transport: Transport = .internal, clientAddress: String? = nil) {
        self.message = message
        self.question = message.questions.first ?? Question(name: .root, type: .a)
        self.name = question.name.lowercased
        self.transport = transport
        self.clientAddress = clientAddress
    }

    public var type: RRType { question.type }
    public var dnssecOK: Bool { message.edns?.dnssecOK ?? false }
    public var checkingDisabled: Bool { message.header.checkingDisabled }

    /// The same request asking `name` instead (same ID, flags and EDNS).
    public func rewritten(name newName: DomainName, type newType: RRType? = nil) -> Request {
        var m = message
        m.questions = [Question(name: newName, type: newType ?? question.type, class: question.class)]
        return Request(message: m, transport: transport, clientAddress: clientAddress)
    }
}

/// A handler's answer: the message plus what the server needs to know about it.
public struct Response: Sendable {
    /// The answer as a message, or still in the upstream's wire form (a forwarded answer no handler
    /// has changed), decoded only when a handler reads `message`.
    private var body: Body
    private enum Body: Sendable {
        case message(Message)
        case forwarded(ForwardedAnswer)
    }

    public var message: Message {
        get {
            switch body {
            case .message(let m): m
            case .forwarded(let f): f.message
            }
        }
        set { body = .message(newValue) }
    }

    /// The answer ready to be sent from its wire form, while no handler has changed it.
    public var forwarded: ForwardedAnswer? {
        if case .forwarded(let f) = body { f } else { nil }
    }

    /// Set when the answer is derived from cluster state alone and may be pre-rendered and reused
    /// for the same (name, type) until the snapshot of this generation is replaced.
    public var snapshotGeneration: UInt64?
    /// With `snapshotGeneration`: the parts of the cluster the answer was derived from. A later
    /// snapshot that changes none of them leaves the pre-rendered answer in place.
    public var dependencies: AnswerDependencies
    /// What kind of answer a handler gave, in that handler's own words; handlers that pass on
    /// another's answer keep it.
    public var answerKind: AnswerKind?
    /// Set by the cache when the answer is a fresh cached one that went through every handler before
    /// it unchanged: the listener may answer the same question from these bytes until they expire.
    /// A handler that makes its own answer from it, or one that differs between clients, leaves it out.
    public var cachedAnswer: CachedAnswer?

    public init(message: Message, snapshotGeneration: UInt64? = nil, dependencies: AnswerDependencies = .anyChange,
                answerKind: AnswerKind? = nil, cachedAnswer: CachedAnswer? = nil) {
        self.body = .message(message); self.snapshotGeneration = snapshotGeneration; self.dependencies = dependencies
        self.answerKind = answerKind; self.cachedAnswer = cachedAnswer
    }

    /// A forwarded answer kept in its wire form.
    public init(forwarded: ForwardedAnswer) {
        self.body = .forwarded(forwarded); self.dependencies = .anyChange
    }

    public var rcode: RCode {
        switch body {
        case .message(let m): m.header.rcode
        case .forwarded(let f): f.answer.rcode
        }
    }

    /// A reply to `request` with `rcode` and, when the query had EDNS, an EDE option.
    public static func error(_ rcode: RCode, to request: Request, ede: EDECode? = nil, text: String = "") -> Response {
        var m = Message.response(to: request.message, rcode: rcode)
        if let ede { m.addExtendedError(ede, text: text) }
        return Response(message: m)
    }
}

/// A label a handler puts on its answer (`federation`/`zonal`): the chain and the server pass it on
/// without knowing what it means; the handler that set it reads it back.
public struct AnswerKind: Hashable, Sendable {
    /// The `name` of the handler that set it.
    public var handler: String
    public var kind: String
    public init(handler: String, kind: String) { self.handler = handler; self.kind = kind }
}

/// The rest of the chain after a handler. Each is built once, when the chain is; a handler sees
/// the same `Next` on every query.
public final class Next: Sendable {
    let run: @Sendable (Request) async -> Response
    public init(_ run: @escaping @Sendable (Request) async -> Response) { self.run = run }
    public func callAsFunction(_ request: Request) async -> Response { await run(request) }
}

/// One step of the resolver chain (STYLE §1): search path → federation → cluster zone →
/// local zones → cache → forward.
public protocol Handler: Sendable {
    var name: String { get }
    func handle(_ request: Request, next: Next) async -> Response
}

/// Resolves a name through local zones, cache and forwarders: used to chase CNAME targets
/// (federation, ExternalName).
public protocol UpstreamPath: Sendable {
    func resolve(_ request: Request) async -> Response
}

/// The fixed chain. Configuration switches steps on; the order never changes.
///
/// It is built tail-first: the upstream path (local zones → cache → forward) is a chain of its own,
/// handed to the handlers that chase CNAMEs, and the full chain is that path with those handlers
/// put in front (``prepending(_:)``), sharing its steps.
public struct Chain: Sendable, UpstreamPath {
    public let handlers: [any Handler]
    /// `steps[i]` runs `handlers[i...]`; the last one answers when no handler did.
    private let steps: [Next]

    public init(handlers: [any Handler]) {
        self.init(steps: handlers, before: Chain(handlers: [], steps: [Self.end]))
    }

    /// `front`, each with a step of its own, in front of `tail`, whose steps are kept as they are.
    private init(steps front: [any Handler], before tail: Chain) {
        var steps = tail.steps
        for handler in front.reversed() {
            let after = steps[0]
            steps.insert(Next { request in await handler.handle(request, next: after) }, at: 0)
        }
        self.handlers = front + tail.handlers
        self.steps = steps
    }

    private init(handlers: [any Handler], steps: [Next]) {
        self.handlers = handlers
        self.steps = steps
    }

    /// Past the last handler.
    private static let end = Next { request in .error(.refused, to: request, ede: .notAuthoritative, text: "no handler answered") }

    public func resolve(_ request: Request) async -> Response { await steps[0](request) }

    /// `handlers` followed by this chain, whose steps are reused as they are.
    public func prepending(_ handlers: [any Handler]) -> Chain {
        Chain(steps: handlers, before: self)
    }

    /// The tail of the chain starting at the handler called `name` (the loop probe starts at `forward`).
    /// - Throws: ``ChainError`` when no handler has that name.
    public func suffix(from name: String) throws(ChainError) -> Chain {
        guard let i = handlers.firstIndex(where: { $0.name == name }) else {
            throw ChainError(missing: name, present: handlers.map(\.name))
        }
        return Chain(handlers: Array(handlers[i...]), steps: Array(steps[i...]))
    }
}

/// A handler asked of a chain that does not have it.
public struct ChainError: Error, Equatable, Sendable, CustomStringConvertible {
    public var missing: String
    public var present: [String]
    public var description: String {
        "no handler '\(missing)' in the chain (\(present.isEmpty ? "empty" : present.joined(separator: " → ")))"
    }
}
