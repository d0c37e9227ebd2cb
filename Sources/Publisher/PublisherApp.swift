#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import Server
import YAMLReader

/// Runs `fedns publish`: logging and metrics set up, the API sources started, then `--dry-run`, `--once`
/// or the watching loop with `/metrics`, `/health` and `/ready` on `admin`.
public enum PublisherApp {
    /// The process's exit status and what to print (the plan for `--dry-run`, the reason for a failure).
    public struct Result: Sendable {
        public var status: Int32
        public var output: String
    }

    public static func run(config: PublisherConfig, once: Bool, dryRun: Bool) async throws -> Result {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "fedns.publish")
        let publisher = try Publisher(config: config, logger: logger)

        return await withTaskGroup(of: Void.self, returning: Result.self) { group in
            for feed in publisher.apiSources { group.addTask { try? await feed.kube!.run() } }
            defer { group.cancelAll() }
            if once || dryRun {
                do { try publisher.loadFiles() } catch { return Result(status: 2, output: "\(error)") }
                await publisher.waitForAPISources()
                if dryRun {
                    do { return Result(status: 0, output: try await publisher.dryRun()) } catch {
                        return Result(status: 1, output: "\(error)")
                    }
                }
                if let reason = await publisher.once() { return Result(status: 1, output: reason) }
                return Result(status: 0, output: "")
            }
            var channel: Channel?
            if let admin = config.admin {
                let routes: [String: AdminRoute] = [
                    "/metrics": { (.ok, "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer()) },
                    "/health": { (.ok, "text/plain", Array("OK\n".utf8)) },
                    "/ready": { publisher.isReady ? (.ok, "text/plain", Array("OK\n".utf8))
                                                  : (.serviceUnavailable, "text/plain", Array("not ready: no reconcile yet\n".utf8)) },
                ]
                do {
                    channel = try await AdminHTTPServer.bind(address: admin, group: .singleton, routes: routes)
                    logger.info("publish: admin HTTP listening", metadata: ["publish.admin": "\(admin)"])
                } catch {
                    return Result(status: 2, output: "admin: cannot listen on \(admin): \(error)")
                }
            }
            // SIGTERM or SIGINT ends the loop between reconciles; an UPDATE in flight is finished first.
            let loop = Task { await publisher.watch() }
            let signals = [SIGTERM, SIGINT].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { loop.cancel() }
                source.resume()
                return source
            }
            await loop.value
            signals.forEach { $0.cancel() }
            logger.info("publish: stopped")
            try? await channel?.close()
            return Result(status: 0, output: "")
        }
    }
}
