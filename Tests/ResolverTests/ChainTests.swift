import DNSWire
import NameExpansion
@testable import Resolver
import Synchronization
import Testing

/// A handler that remembers which `Next` it was given, then passes the query on (or answers, at the end).
final class RecordingHandler: Handler {
    let name: String
    let answers: Bool
    private let seen = Mutex<(calls: Int, nexts: Set<ObjectIdentifier>)>((0, []))

    init(_ name: String, answers: Bool = false) { self.name = name; self.answers = answers }

    var calls: Int { seen.withLock { $0.calls } }
    /// How many different `Next` values this handler has been handed.
    var distinctNexts: Int { seen.withLock { $0.nexts.count } }

    func handle(_ request: Request, next: Next) async -> Response {
        seen.withLock { $0.calls += 1; $0.nexts.insert(ObjectIdentifier(next)) }
        guard answers else { return await next(request) }
        var m = Message.response(to: request.message)
        m.answer = [ResourceRecord(name: request.question.name, type: .txt, ttl: 60, rdata: RData.txt([name]))]
        return Response(message: m)
    }
}

@Suite("Chain")
struct ChainTests {
    typealias F = ForwardFixtures

    /// The handler that answered a query through `chain`.
    static func answeredBy(_ chain: Chain) async -> String? {
        let response = await chain.resolve(F.request("www.example.org.", .txt))
        // One TXT string: a length byte, then the handler's name.
        return response.message.answer.first.map { String(decoding: $0.rdata.dropFirst(), as: UTF8.self) }
    }

    @Test func suffixOfAMissingHandlerIsAnError() throws {
        let chain = Chain(handlers: [RecordingHandler("cluster-zone"), RecordingHandler("forward", answers: true)])
        let error = #expect(throws: ChainError.self) { try chain.suffix(from: "local-zones") }
        #expect(error?.missing == "local-zones")
        #expect(error?.description == "no handler 'local-zones' in the chain (cluster-zone → forward)")
        #expect(throws: ChainError.self) { try Chain(handlers: []).suffix(from: "forward") }
    }

    @Test func suffixStartsAtTheNamedHandler() async throws {
        let zone = RecordingHandler("cluster-zone"), cache = RecordingHandler("cache"), forward = RecordingHandler("forward", answers: true)
        let tail = try Chain(handlers: [zone, cache, forward]).suffix(from: "cache")
        #expect(tail.handlers.map(\.name) == ["cache", "forward"])
        #expect(await Self.answeredBy(tail) == "forward")
        #expect(zone.calls == 0 && cache.calls == 1 && forward.calls == 1)
    }

    /// Each handler is handed one `Next`, built with the chain: a thousand queries, one object.
    @Test func nextIsBuiltOnceNotPerQuery() async throws {
        let handlers = [RecordingHandler("search-path"), RecordingHandler("cluster-zone"), RecordingHandler("forward", answers: true)]
        let chain = Chain(handlers: handlers)
        for _ in 0..<1000 { #expect(await Self.answeredBy(chain) == "forward") }
        for handler in handlers {
            #expect(handler.calls == 1000)
            #expect(handler.distinctNexts == 1, "\(handler.name) was handed a new Next per query")
        }
    }

    /// The upstream path and the full chain in front of it share the path's steps: a handler of
    /// the path sees the same `Next` whichever way a query reaches it.
    @Test func prependingReusesTheTailsSteps() async throws {
        let local = RecordingHandler("local-zones"), cache = RecordingHandler("cache"), forward = RecordingHandler("forward", answers: true)
        let upstream = Chain(handlers: [local, cache, forward])
        let federation = RecordingHandler("federation"), zone = RecordingHandler("cluster-zone")
        let chain = upstream.prepending([federation, zone])
        #expect(chain.handlers.map(\.name) == ["federation", "cluster-zone", "local-zones", "cache", "forward"])
        #expect(upstream.handlers.map(\.name) == ["local-zones", "cache", "forward"], "the path itself is unchanged")

        for _ in 0..<10 {
            #expect(await Self.answeredBy(chain) == "forward")
            #expect(await Self.answeredBy(upstream) == "forward")
            #expect(await Self.answeredBy(try chain.suffix(from: "cache")) == "forward")
        }
        #expect(federation.calls == 10 && zone.calls == 10 && local.calls == 20 && cache.calls == 30)
        for handler in [federation, zone, local, cache, forward] {
            #expect(handler.distinctNexts == 1, "\(handler.name) was handed more than one Next")
        }
    }

    @Test func pastTheLastHandlerIsRefused() async {
        let response = await Chain(handlers: [RecordingHandler("cache")]).resolve(F.request("www.example.org."))
        #expect(response.rcode == .refused)
        #expect(response.message.edns?.extendedError == .notAuthoritative)
    }
}
