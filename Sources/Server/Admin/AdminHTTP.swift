#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

/// What one admin endpoint answers: a status and a body.
public typealias AdminRoute = @Sendable () -> (status: HTTPResponseStatus, contentType: String, body: [UInt8])

/// A tiny HTTP/1.1 server for `/health`, `/ready` and `/metrics` (ports as in docs/operating.md, health and readiness; as CoreDNS).
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let routes: [String: AdminRoute]
    private var path: String?
    private var keepAlive = false

    init(routes: [String: AdminRoute]) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let route = path.flatMap { routes[$0] }
            let (status, type, body) = route?() ?? (.notFound, "text/plain", Array("not found\n".utf8))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.count))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let keep = keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                if !keep { channel.close(promise: nil) }
            }
            path = nil
        }
    }
}

/// Binds the admin HTTP server (also used by `fedns publish` for its metrics, health and readiness).
public enum AdminHTTPServer {
    public static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, routes: [String: AdminRoute]) async throws -> Channel {
        try await bind(address: address, group: group, routes: routes, sockets: ListenerSockets())
    }

    /// Binds `address`, or serves the socket a previous process handed over.
    static func bind(address: HostPort, group: MultiThreadedEventLoopGroup, routes: [String: AdminRoute],
                     sockets: ListenerSockets, reading: Bool = true) async throws -> Channel {
        let key = ListenerKey(kind: "http", host: address.host, port: address.port)
        let inherited = sockets.take(key)
        for extra in inherited.dropFirst() { close(extra) }
        let fd = try inherited.first ?? ListeningSocket.tcp(address, backlog: 128)
        try sockets.record(key, fd: fd)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.autoRead, value: reading)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
            .withBoundSocket(fd).get()
    }
}
