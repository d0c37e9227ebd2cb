import DNSWire
import Foundation
import NameExpansion

/// What one query to the server gave: the reply, or why there was none.
struct Exchange: Sendable {
    var reply: Message?
    var error: String?
    /// `udp`, `tcp` (after TC) or `in-process`.
    var transport: String

    static func failed(_ error: String, transport: String) -> Exchange { Exchange(reply: nil, error: error, transport: transport) }
}

/// Which address families getaddrinfo asks for (`AF_INET`, `AF_INET6`, `AF_UNSPEC`).
public enum AddressFamily: String, Sendable, CaseIterable {
    case inet, inet6, any

    /// The query types the stub sends for each name, in the order it sends them.
    var types: [RRType] {
        switch self {
        case .inet: [.a]
        case .inet6: [.aaaa]
        case .any: [.a, .aaaa]
        }
    }
}

/// One query the stub sent, as `fedns resolve` reports it.
struct StubQuery: Codable, Equatable, Sendable {
    var index: Int
    var name: String
    var type: String
    /// The reply's rcode (`NOERROR`, `NXDOMAIN`, …), or `NOANSWER` when none came.
    var rcode: String
    /// The answer section, one record a line in short form (`A 10.0.0.20`, `CNAME x.example.`).
    var answer: [String]
    var transport: String
    var error: String?
}

/// How a lookup ended, as getaddrinfo would report it.
enum StubStatus: String, Codable, Sendable {
    /// Addresses found.
    case ok
    /// A name answered with no address of the asked families (EAI_NODATA).
    case nodata
    /// Every name NXDOMAIN (EAI_NONAME).
    case nxdomain
    /// A server failure ended the lookup or was the last word (EAI_AGAIN).
    case servfail
    /// No usable reply (timeout, REFUSED, FORMERR): the lookup failed (EAI_FAIL / EAI_AGAIN).
    case error
}

/// Every query a stub resolver sent for one lookup, and where it stopped.
struct StubTrace: Codable, Sendable {
    var queries: [StubQuery] = []
    var status: StubStatus = .nxdomain
    /// The name whose answer ended the walk.
    var answeredName: String?
    var addresses: [String] = []
}

/// Simulates the stub resolver's walk over `candidates` (from `NameExpansion.candidates`), asking
/// `ask` each query in the order the C library sends them, and stopping where it stops.
///
/// ```text
/// glibc __res_context_search: a name ends the walk when either reply is NOERROR with records;
///       otherwise NXDOMAIN, NODATA and SERVFAIL of its first reply move on, anything else stops.
/// musl  name_from_dns: replies read in order; NXDOMAIN moves on, SERVFAIL or no reply stops
///       (EAI_AGAIN), another error stops; all NOERROR stops, with addresses or NODATA.
/// ```
enum StubWalk {
    static func run(candidates: [DomainName], family: AddressFamily, flavor: StubFlavor,
                    ask: (DomainName, RRType) async -> Exchange) async -> StubTrace {
        var trace = StubTrace()
        var sawNodata = false, sawServfail = false
        for candidate in candidates {
            var exchanges: [Exchange] = []
            for type in family.types {
                let exchange = await ask(candidate, type)
                exchanges.append(exchange)
                trace.queries.append(report(exchange, name: candidate, type: type, index: trace.queries.count + 1))
            }
            let verdict = flavor == .glibc ? glibc(exchanges) : musl(exchanges)
            switch verdict {
            case .next(let why):
                if why == .noError { sawNodata = true }
                if why == .servFail { sawServfail = true }
                continue
            case .stop(let status):
                trace.status = status
                trace.answeredName = candidate.description
                trace.addresses = addresses(in: exchanges, family: family)
                if status == .ok && trace.addresses.isEmpty { trace.status = .nodata }
                return trace
            }
        }
        trace.status = sawNodata ? .nodata : sawServfail ? .servfail : .nxdomain
        return trace
    }

    enum Verdict: Equatable { case next(RCode), stop(StubStatus) }

    static func glibc(_ exchanges: [Exchange]) -> Verdict {
        if exchanges.contains(where: { $0.reply?.header.rcode == .noError && !($0.reply?.answer.isEmpty ?? true) }) {
            return .stop(.ok)
        }
        // h_errno comes from the first reply (glibc's `hp`).
        guard let first = exchanges.first?.reply else { return .stop(.error) }
        switch first.header.rcode {
        case .nxDomain, .noError, .servFail: return .next(first.header.rcode)
        default: return .stop(.error)
        }
    }

    static func musl(_ exchanges: [Exchange]) -> Verdict {
        for exchange in exchanges {
            guard let reply = exchange.reply else { return .stop(.servfail) }
            switch reply.header.rcode {
            case .servFail: return .stop(.servfail)
            case .nxDomain: return .next(.nxDomain)
            case .noError: continue
            default: return .stop(.error)
            }
        }
        return .stop(.ok)
    }

    /// The A/AAAA records of the asked families, in reply order, without repeats; owners may be
    /// CNAME targets (both C libraries follow the chain in the answer).
    static func addresses(in exchanges: [Exchange], family: AddressFamily) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for reply in exchanges.compactMap(\.reply) where reply.header.rcode == .noError {
            for rr in reply.answer where family.types.contains(rr.type) {
                if let text = IPAddress.text(rr.rdata), seen.insert(text).inserted { out.append(text) }
            }
        }
        return out
    }

    static func report(_ exchange: Exchange, name: DomainName, type: RRType, index: Int) -> StubQuery {
        StubQuery(index: index, name: name.description, type: type.description,
                  rcode: exchange.reply?.header.rcode.description ?? "NOANSWER",
                  answer: exchange.reply?.answer.map(short) ?? [], transport: exchange.transport, error: exchange.error)
    }

    /// `A 10.0.0.20`, `CNAME target.`, else the record's zone text without owner, TTL and class.
    static func short(_ rr: ResourceRecord) -> String {
        if rr.type == .a || rr.type == .aaaa, let text = IPAddress.text(rr.rdata) { return "\(rr.type) \(text)" }
        if let target = rr.targetName { return "\(rr.type) \(target)" }
        let text = rr.zoneText.replacingOccurrences(of: "\t", with: " ")
        let fields = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        return fields.count == 4 ? String(fields[3]).trimmingCharacters(in: .whitespacesAndNewlines) : text
    }
}
