import DNSWire
import NameExpansion
import Resolver
import Synchronization

/// An upstream path serving records written as zone text, the way a recursive resolver would:
/// it follows CNAMEs inside its data, answers NODATA or NXDOMAIN with the SOA of the closest
/// enclosing zone it holds, and can be told to fail or to mark answers stale. It remembers every
/// question it was asked.
final class ZoneUpstream: UpstreamPath, Sendable {
    enum Mode: Sendable {
        case answer
        /// Every query fails with this rcode and, when set, this EDE (as forward does when all upstreams fail).
        case fail(RCode, EDECode?)
        /// Answers as usual, marked as served stale (RFC 8767, EDE 3).
        case stale
    }

    let data: [ResourceRecord]
    let mode: Mode
    private let questions = Mutex<[Question]>([])

    init(_ zoneText: String = "", mode: Mode = .answer) throws {
        self.data = try records(zoneText)
        self.mode = mode
    }

    /// The questions asked so far, in order.
    var asked: [Question] { questions.withLock { $0 } }

    func resolve(_ request: Request) async -> Response {
        questions.withLock { $0.append(request.question) }
        if case .fail(let rcode, let ede) = mode { return .error(rcode, to: request, ede: ede) }
        var m = Message.response(to: request.message)
        var current = request.name
        chase: for _ in 0..<8 {
            let here = data.filter { $0.name == current }
            let matching = here.filter { $0.type == request.type || request.type == .any }
            if !matching.isEmpty { m.answer += matching; break chase }
            if let cname = here.first(where: { $0.type == .cname }), let target = cname.targetName {
                m.answer.append(cname); current = target; continue chase
            }
            // RFC 8020: a name with descendants exists.
            let exists = !here.isEmpty || data.contains { $0.name.isSubdomain(of: current) }
            m.header.rcode = exists ? .noError : .nxDomain
            m.authority = data.filter { $0.type == .soa && current.isSubdomain(of: $0.name) }
                .max { $0.name.labelCount < $1.name.labelCount }.map { [$0] } ?? []
            break chase
        }
        if case .stale = mode { m.addExtendedError(.staleAnswer) }
        return Response(message: m)
    }
}

/// The end of a test chain: answers like the forwarder would, from a `ZoneUpstream`, so a test sees
/// which names a handler passed on.
struct UpstreamTail: Handler {
    let name = "forward"
    let upstream: ZoneUpstream
    func handle(_ request: Request, next: Next) async -> Response { await upstream.resolve(request) }
}
