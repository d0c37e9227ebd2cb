import ClusterState
import DNSWire
import Logging
import NameExpansion
import Resolver
import Synchronization

/// Turns one query packet into one answer packet. Shared by every listener; the synchronous
/// pre-rendered path lives in `PrerenderTable`, this is the path that may wait.
public final class QueryEngine: Sendable {
    /// The chain and its configuration epoch; replaced whole when the kube-dns ConfigMap changes.
    private let installed: Mutex<(chain: Chain, epoch: UInt64)>
    let snapshots: SnapshotStore
    let identity: String?
    let metrics: ServerMetrics
    let logger: Logger
    let loopDetector = LoopDetector()
    private let resolved = Atomic<Int>(0)

    public init(chain: Chain, snapshots: SnapshotStore, identity: String?, metrics: ServerMetrics, logger: Logger) {
        self.installed = Mutex((chain, 0))
        self.snapshots = snapshots
        self.identity = identity
        self.metrics = metrics
        self.logger = logger
    }

    /// The chain queries run through now.
    public var chain: Chain { installed.withLock { $0.chain } }

    /// How many packets took the path that may wait (`resolve`); the rest were answered by the
    /// listeners' pre-rendered tables or before the engine (gate, access list).
    public var slowPathQueries: Int { resolved.load(ordering: .relaxed) }

    /// Increases with every installed chain: pre-rendered answers of an older configuration are dropped.
    var configEpoch: UInt64 { installed.withLock { $0.epoch } }

    /// Replaces the chain (a new configuration); queries already running finish on the old one.
    func install(_ chain: Chain) {
        installed.withLock { $0 = (chain, $0.epoch + 1) }
    }

    /// The outcome of the slow path: bytes to send, and a pre-rendered form when the answer may be
    /// reused for this (name, type) until a snapshot changes what it was derived from.
    public struct Outcome: Sendable {
        public var bytes: [UInt8]
        public var rcode: RCode
        public var prerendered: (epoch: AnswerEpoch, answer: PrerenderedAnswer, dependencies: AnswerDependencies)?
        /// A fresh answer from the cache that every handler before it passed on unchanged: the
        /// listener may serve this question from it until it expires, while what the handlers'
        /// routing read (`dependencies`, from `epoch` on) stays the same.
        public var cached: (epoch: AnswerEpoch, answer: CachedAnswer, dependencies: AnswerDependencies)?
    }

    /// Resolves a packet that passed the gate. Never throws: a failure inside becomes SERVFAIL.
    public func resolve(packet: [UInt8], view: QueryView, transport: Transport, client: String?, sizeLimit: Int) async -> Outcome {
        resolved.add(1, ordering: .relaxed)
        // The gate has walked every byte; the query is built from its view, not parsed again.
        let query = packet.withUnsafeBytes { Message(gatedQuery: $0, view: view) }
        let request = Request(message: query, transport: transport, clientAddress: client)
        let (chain, configEpoch) = installed.withLock { ($0.chain, $0.epoch) }
        // Which handler answers a name can change with the snapshot (a reverse name of a new Service).
        let routedIn = AnswerEpoch(snapshot: snapshots.current?.generation ?? 0, config: configEpoch)
        let response: Response
        if loopDetector.isOwnProbe(request.name) {
            // Our start-up probe came back through an upstream: answer at once so it stops circling.
            response = .error(.servFail, to: request, ede: .other, text: "forwarding loop")
        } else if view.qclass == .chaos {
            response = identityAnswer(request)
        } else if view.qtype == .any {
            response = minimalAnyAnswer(request)
        } else {
            response = await chain.resolve(request)
        }
        let cached = response.cachedAnswer.map { (routedIn, $0, response.dependencies) }
        // A forwarded answer no handler changed goes out from the upstream's bytes, without the codec.
        if let forwarded = response.forwarded, let bytes = Self.send(forwarded.answer, packet: packet, view: view, sizeLimit: sizeLimit) {
            return Outcome(bytes: bytes, rcode: forwarded.answer.rcode, prerendered: nil, cached: cached)
        }
        var message = response.message
        message.header.id = query.header.id
        message.questions = query.questions
        let bytes = WireCodec.encode(message, maxSize: sizeLimit)
        var pre: (AnswerEpoch, PrerenderedAnswer, AnswerDependencies)?
        if let generation = response.snapshotGeneration {
            pre = (AnswerEpoch(snapshot: generation, config: configEpoch), PrerenderedAnswer(rendering: response.message),
                   response.dependencies)
        }
        return Outcome(bytes: bytes, rcode: message.header.rcode, prerendered: pre, cached: cached)
    }

    /// `answer` written for the query in `packet`; nil when its question does not fit the query's.
    private static func send(_ answer: PrerenderedAnswer, packet: [UInt8], view: QueryView, sizeLimit: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: min(answer.size(for: view), sizeLimit))
        let written = packet.withUnsafeBytes { query in
            out.withUnsafeMutableBytes { answer.write(query: query, view: view, into: $0, limit: sizeLimit) }
        }
        guard let written else { return nil }
        out.removeLast(out.count - written)
        return out
    }

    /// Probes the forwarders for a loop back to this server (docs/behaviour.md, forwarding); true when one exists.
    func detectForwardingLoop() async throws(ChainError) -> Bool {
        await loopDetector.probe(through: try chain.suffix(from: ForwardHandler.handlerName))
    }

    /// CH TXT `id.server.` / `hostname.bind.` (RFC 4892); the gate lets these through only when identity is on.
    func identityAnswer(_ request: Request) -> Response {
        var m = Message.response(to: request.message)
        guard let identity, request.type == .txt else {
            m.header.rcode = .refused
            return Response(message: m)
        }
        m.header.authoritative = true
        m.answer = [ResourceRecord(name: request.question.name, type: .txt, class: .chaos, ttl: 0, rdata: RData.txt([identity]))]
        return Response(message: m)
    }

    /// RFC 8482 §4.2: answer ANY with one synthesized HINFO instead of everything.
    func minimalAnyAnswer(_ request: Request) -> Response {
        var m = Message.response(to: request.message)
        m.answer = [ResourceRecord(name: request.question.name, type: .hinfo, ttl: 3789, rdata: RData.txt(["RFC8482", ""]))]
        return Response(message: m)
    }
}
