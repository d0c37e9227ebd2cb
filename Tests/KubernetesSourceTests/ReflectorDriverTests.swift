import Clocks
import ClusterState
import KubernetesSource
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// A plain-HTTP API server on loopback whose answers the test scripts: the driver's real sockets, with
/// virtual time deciding when a silent watch is dropped and when a retry goes out.
final class ScriptedAPIServer: Sendable {
    enum Reply: Sendable {
        case body(HTTPResponseStatus, String)
        /// A 200 chunked watch that never sends anything.
        case silentWatch
    }
    let requests = Mutex<[String]>([])
    let script: @Sendable (String) -> Reply
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    init(_ script: @escaping @Sendable (String) -> Reply) { self.script = script }

    func start() async throws -> Int {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(Handler(server: self))
                }
            }
        let bound = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? 0
    }

    func stop() async { try? await channel.withLock { $0 }?.close() }

    func count(_ fragment: String) -> Int { requests.withLock { $0.filter { $0.contains(fragment) }.count } }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: ScriptedAPIServer
        init(server: ScriptedAPIServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            server.requests.withLock { $0.append(head.uri) }
            let reply = server.script(head.uri)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            switch reply {
            case .body(let status, let text):
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .silentWatch:
                headers.add(name: "Transfer-Encoding", value: "chunked")
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            }
        }
    }
}

private let namespaceList = #"""
{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"default","resourceVersion":"4"}}]}
"""#

@Suite(.serialized) struct ReflectorDriverTests {
    /// A silent watch is dropped at twice the bookmark interval of virtual time and reopened; a failed
    /// reopen waits out its backoff (0.5 s with the jitter drawn at 0) before the next try.
    @Test func silenceAndBackoffFollowTheClock() async throws {
        let watchFailsRef = WatchFlag(watchFails: false)
        let api = ScriptedAPIServer { uri in
            if uri.contains("watch=1") {
                return watchFailsRef.failing ? .body(.internalServerError, #"{"kind":"Status","message":"etcd is sad"}"#) : .silentWatch
            }
            return .body(.ok, namespaceList)
        }
        let port = try await api.start()
        defer { Task { await api.stop() } }
        let clock = ManualClock()
        let store = SnapshotStore(nodeName: nil)
        var timing = ReflectorTiming()
        timing.bookmarkInterval = .seconds(5)
        let endpoint = APIEndpoint(server: "http://127.0.0.1:\(port)", tls: TLSMaterial(), auth: .token("t"), origin: "test")
        let source = try KubernetesSource(endpoint: endpoint, resources: [KubeResource(kind: .namespace)], store: store, timing: timing,
                                          time: clock, logger: Logger(label: "test"), random: { 0 })
        let running = Task { try await source.run() }
        defer { running.cancel() }

        try await waitUntil { store.current != nil && api.count("watch=1") == 1 && clock.sleeperCount == 1 }
        #expect(store.current?.namespaces.contains("default") == true)
        #expect(api.requests.withLock { $0 }.first == "/api/v1/namespaces?limit=500")
        #expect(api.count("resourceVersion=5") == 1)

        clock.advance(seconds: 9.9)   // not yet twice the bookmark interval
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(api.count("watch=1") == 1)
        clock.advance(seconds: 0.1)
        try await waitUntil { api.count("watch=1") == 2 && clock.sleeperCount == 1 }
        #expect(api.count("resourceVersion=5") == 2)  // resumed, not relisted
        #expect(api.count("limit=500") == 1)

        // The next reopen fails: it waits out the backoff on the clock.
        watchFailsRef.failing = true
        clock.advance(seconds: 10)
        try await waitUntil { api.count("watch=1") == 3 && clock.sleeperCount == 1 }
        clock.advance(seconds: 0.49)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(api.count("watch=1") == 3)
        clock.advance(seconds: 0.01)
        try await waitUntil { api.count("watch=1") == 4 && clock.sleeperCount == 1 }
        // The second failure in a row waits twice as long.
        clock.advance(seconds: 0.99)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(api.count("watch=1") == 4)
        watchFailsRef.failing = false
        clock.advance(seconds: 0.01)
        try await waitUntil { api.count("watch=1") == 5 }
        #expect(store.current?.namespaces.contains("default") == true)  // served throughout
    }
}

final class WatchFlag: Sendable {
    private let state: Mutex<Bool>
    init(watchFails: Bool) { state = Mutex(watchFails) }
    var failing: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
