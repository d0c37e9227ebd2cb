import NIOCore

/// Runs a task's jobs on one event loop. A query that must wait (forwarding, chasing, a cache hit
/// the synchronous table cannot serve) is resolved in a task that prefers the loop that read the
/// packet, so its work and the reply stay on that thread instead of hopping to the cooperative pool
/// and back — on a one-CPU node-local pod those hops cost more than the lookup itself.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        loop.execute { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

extension EventLoop {
    /// Runs `body` now when already on this loop (a task preferring it), else on its next tick.
    func runOnLoop(_ body: @escaping @Sendable () -> Void) {
        if inEventLoop { body() } else { execute(body) }
    }
}
