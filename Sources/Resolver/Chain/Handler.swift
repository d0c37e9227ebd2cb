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
    public var message: Message
    /// Set when the answer is derived from cluster state alone and may be pre-rendered and reused
    /// for the same (name, type) until the snapshot of this generation is replaced.
    public var snapshotGeneration: UInt64?
    /// Which federation answer this was, for metrics.
    public var federationResult: FederationResult?

    public init(message: Message, snapshotGeneration: UInt64? = nil, federationResult: FederationResult? = nil) {
        self.message = message; self.snapshotGeneration = snapshotGeneration; self.federationResult = federationResult
    }

    public var rcode: RCode { message.header.rcode }

    /// A reply to `request` with `rcode` and, when the query had EDNS, an EDE option.
    public static func error(_ rcode: RCode, to request: Request, ede: EDECode? = nil, text: String = "") -> Response {
        var m = Message.response(to: request.message, rcode: rcode)
        if let ede { m.addExtendedError(ede, text: text) }
        return Response(message: m)
    }
}

/// The federation answer kinds counted in `fedns_federation_answers_total`.
public enum FederationResult: String, Sendable, CaseIterable {
    case local, zonal, regional, global
}

/// The rest of the chain after a handler.
public struct Next: Sendable {
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
public struct Chain: Sendable, UpstreamPath {
    public let handlers: [any Handler]
    public init(handlers: [any Handler]) { self.handlers = handlers }

    public func resolve(_ request: Request) async -> Response { await run(request, from: 0) }

    func run(_ request: Request, from index: Int) async -> Response {
        guard index < handlers.count else {
            return .error(.refused, to: request, ede: .notAuthoritative, text: "no handler answered")
        }
        let handlers = self.handlers
        return await handlers[index].handle(request, next: Next { req in await Chain(handlers: handlers).run(req, from: index + 1) })
    }

    /// The tail of the chain starting at the handler called `name` (the upstream path starts at
    /// `local-zones`).
    public func suffix(from name: String) -> Chain {
        guard let i = handlers.firstIndex(where: { $0.name == name }) else { return self }
        return Chain(handlers: Array(handlers[i...]))
    }
}

/// An upstream path that is wired after construction (the chain needs the handlers that need it).
public final class LateUpstreamPath: UpstreamPath, @unchecked Sendable {
    private var path: (any UpstreamPath)?
    public init() {}
    /// Set once, before the first query.
    public func set(_ path: any UpstreamPath) { self.path = path }
    public func resolve(_ request: Request) async -> Response {
        guard let path else { return .error(.servFail, to: request, ede: .other, text: "upstream path not wired") }
        return await path.resolve(request)
    }
}
