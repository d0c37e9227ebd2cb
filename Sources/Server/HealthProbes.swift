import Resolver
import ServiceLifecycle
import Synchronization

/// The upstream health probes of the installed chain's forwarder, as one service. A reload hands it
/// the new chain's forwarder (`replace(with:)`): the old forwarder's probes stop, and have stopped,
/// before the new ones start, so a reload leaves nothing of the old chain running.
public final class HealthProbes: ServiceLifecycle.Service, Sendable {
    private let forwarders: AsyncStream<ForwardHandler>
    private let handOver: AsyncStream<ForwardHandler>.Continuation
    private let running = Mutex<Int>(0)

    init(forward: ForwardHandler) {
        // Only the newest forwarder matters: one replaced before its probes started is never probed.
        (forwarders, handOver) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        handOver.yield(forward)
    }

    /// Probes `forward`'s upstreams from now on instead of the previous forwarder's.
    func replace(with forward: ForwardHandler) {
        handOver.yield(forward)
    }

    /// How many forwarders are being probed now: 1 while running, 0 before and after.
    var activeProbeLoops: Int { running.withLock { $0 } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var current: Task<Void, Never>?
            for await forward in self.forwarders {
                // A task of its own, so that it alone can be cancelled (a task group cancels all or nothing).
                await Self.stop(current)
                current = Task {
                    self.running.withLock { $0 += 1 }
                    await forward.runHealthProbes()
                    self.running.withLock { $0 -= 1 }
                }
            }
            await Self.stop(current)
        }
    }

    private static func stop(_ task: Task<Void, Never>?) async {
        guard let task else { return }
        task.cancel()
        await task.value
    }
}
