import AsyncHTTPClient
import Clocks
import ClusterState
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Lists then watches one resource, feeding ``ClusterSync``: the thin driver of ``ReflectorMachine``
/// (it does the HTTP; the machine decides what to do next). Runs until graceful shutdown.
public final class Reflector: ServiceLifecycle.Service, Sendable {
    public let resource: KubeResource
    let client: APIClient
    let sync: ClusterSync
    let interner: Interner
    let timing: ReflectorTiming
    let time: any TimeSource
    let metrics: KubeMetrics
    let logger: Logger
    let random: @Sendable () -> Double

    public init(resource: KubeResource, client: APIClient, sync: ClusterSync, interner: Interner, timing: ReflectorTiming,
                time: any TimeSource, metrics: KubeMetrics, logger: Logger,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.resource = resource; self.client = client; self.sync = sync; self.interner = interner; self.timing = timing
        self.time = time; self.metrics = metrics; self.logger = logger; self.random = random
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private var kind: ObjectKind { resource.kind }

    func loop() async {
        var machine = ReflectorMachine(timing: timing)
        var step = machine.start()
        var pages: [ClusterObject] = []
        // A relist after the first sync is applied page by page; what it saw, to delete the rest at its end.
        var relistSeen: Set<ObjectRef>?
        while !Task.isCancelled {
            note(step)
            switch step.action {
            case .list(let token):
                if token == nil { pages = []; relistSeen = nil }
                do throws(APIProblem) {
                    let metadata = try await listPage(continueToken: token, into: &pages)
                    metrics.contact(kind); sync.reachability.contact(kind)
                    if token == nil || relistSeen != nil {
                        var seen = relistSeen ?? []
                        relistSeen = nil  // leaves `seen` the only reference: no copy per page
                        if sync.relistPage(pages, seen: &seen) { relistSeen = seen; pages = [] }
                    }
                    step = machine.listPage(continueToken: metadata.continueToken, resourceVersion: metadata.resourceVersion)
                } catch {
                    step = failed(error, &machine)
                }
            case .install(_, _):
                if let seen = relistSeen {
                    sync.relisted(kind, seen: seen)
                    logger.debug("kubernetes: relisted", metadata: ["kube.resource": "\(resource)", "kube.objects": "\(seen.count)"])
                } else {
                    sync.listed(kind, pages)
                    logger.debug("kubernetes: listed", metadata: ["kube.resource": "\(resource)", "kube.objects": "\(pages.count)"])
                }
                pages = []
                relistSeen = nil
                step = machine.installed(now: time.nowNanoseconds())
            case .watch(let rv):
                step = await watch(from: rv, &machine)
            case .wait(let nanoseconds):
                do { try await time.sleep(nanoseconds: nanoseconds) } catch { return }
                step = machine.backoffElapsed(now: time.nowNanoseconds())
            case .none:
                // Only a confused driver gets here; start over rather than spin.
                step = machine.failed(.malformed("no next step"), now: time.nowNanoseconds(), random: random())
            }
        }
    }

    private func failed(_ problem: APIProblem, _ machine: inout ReflectorMachine) -> ReflectorMachine.Step {
        metrics.failed(problem)
        sync.reachability.lost(kind)
        if case .unauthorized = problem { client.tokens.reloadNow() }
        return machine.failed(problem, now: time.nowNanoseconds(), random: random())
    }

    /// Counts and logs what a step says; a log line per change of state, never one per retry, and
    /// one per outage of the whole server, not one per resource.
    private func note(_ step: ReflectorMachine.Step) {
        if step.relist { metrics.relisted(kind) }
        if step.watchRestart { metrics.watchRestarted(kind) }
        switch step.report {
        case .failing(let problem)?:
            guard sync.reachability.isNews(problem) else { break }
            var metadata: Logger.Metadata = ["kube.resource": "\(resource)", "kube.server": "\(client.endpoint.server)",
                                             "kube.problem": "\(problem)"]
            let message: Logger.Message
            switch problem {
            case .forbidden(let verb, _):
                message = "kubernetes: RBAC forbids it: \(resource.forbiddenAdvice(verb: verb))"
            case .unauthorized:
                if case .tokenFile = client.endpoint.auth {
                    message = "kubernetes: credentials rejected (401); the token file is re-read, retrying"
                } else {
                    message = "kubernetes: credentials rejected (401); retrying"
                }
                metadata["kube.credentials"] = "\(client.endpoint.origin)"
            case .unreachable:
                message = "kubernetes: API server unreachable; the last snapshot keeps serving, retrying"
            case .gone:
                // Routine after compaction or a long outage: the relist is the cure, nothing to act on.
                logger.info("kubernetes: resourceVersion expired (410); relisting", metadata: metadata)
                return
            default:
                message = "kubernetes: request failed; retrying with backoff"
            }
            logger.error(message, metadata: metadata)
        case .recovered(let problem)?:
            guard sync.reachability.isRecoveryNews(problem) else { break }
            logger.info("kubernetes: API server answering again", metadata: ["kube.resource": "\(resource)", "kube.after": "\(problem)"])
        case nil:
            break
        }
    }

    // MARK: list

    private func listPage(continueToken: String?, into objects: inout [ClusterObject]) async throws(APIProblem) -> ListMetadata {
        let response = try await client.get(resource.path, query: resource.listQuery(limit: timing.pageSize, continueToken: continueToken),
                                            verb: "list")
        var decoder = ListDecoder(kind: kind, interner: interner)
        do {
            for try await chunk in response.body {
                let items = try chunk.withUnsafeReadableBytes { bytes throws(KubeDecodeError) in try decoder.feed(bytes) }
                for item in items {
                    switch item {
                    case .object(let object, _): objects.append(object)
                    case .skipped(let error): skip(error)
                    }
                }
            }
        } catch let error as KubeDecodeError {
            throw .malformed("\(resource.qualifiedName) list: \(error)")
        } catch {
            throw .unreachable("\(resource.qualifiedName) list cut short: \(APIClient.describe(error))")
        }
        do {
            return try decoder.finish()
        } catch {
            throw .malformed("\(resource.qualifiedName) list: \(error)")
        }
    }

    private func skip(_ error: ObjectError) {
        metrics.skipped(kind)
        logger.warning("kubernetes: object skipped", metadata: ["kube.resource": "\(resource)", "kube.object": "\(error)"])
    }

    // MARK: watch

    /// How one watch request ended.
    enum WatchOutcome: Sendable {
        case ended
        case silent
        case gone
        case failed(APIProblem)
    }

    /// What the reader saw, shared with the watchdog.
    struct WatchProgress: Sendable {
        var lastActivity: UInt64
        var newestResourceVersion: String?
        var delivered = false
    }

    final class SharedProgress: Sendable {
        let state: Mutex<WatchProgress>
        init(_ progress: WatchProgress) { state = Mutex(progress) }
    }

    private func watch(from resourceVersion: String, _ machine: inout ReflectorMachine) async -> ReflectorMachine.Step {
        let response: HTTPClientResponse
        do throws(APIProblem) {
            response = try await client.get(resource.path,
                                            query: resource.watchQuery(resourceVersion: resourceVersion, timeoutSeconds: watchTimeout()),
                                            verb: "watch")
        } catch {
            return failed(error, &machine)
        }
        note(machine.watchOpened(now: time.nowNanoseconds()))
        sync.reachability.contact(kind)
        let progress = SharedProgress(WatchProgress(lastActivity: time.nowNanoseconds()))
        let outcome = await withTaskGroup(of: WatchOutcome?.self) { group in
            group.addTask { await self.read(response.body, progress: progress) }
            group.addTask { await self.watchdog(progress) }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .ended
        }
        let seen = progress.state.withLock { $0 }
        if seen.delivered {
            note(machine.watchDelivered(resourceVersion: seen.newestResourceVersion, now: seen.lastActivity))
        }
        let now = time.nowNanoseconds()
        switch outcome {
        case .ended:
            return machine.watchEnded(now: now, random: random())
        case .silent:
            logger.info("kubernetes: watch silent past twice the bookmark interval; restarting it",
                        metadata: ["kube.resource": "\(resource)"])
            return machine.watchSilent(now: now)
        case .gone:
            return machine.watchGone()
        case .failed(let problem):
            return failed(problem, &machine)
        }
    }

    /// `timeoutSeconds` of the next watch: between once and twice the setting, as client-go spreads its
    /// watches, so that reflectors started together do not all reconnect together.
    private func watchTimeout() -> Int {
        timing.watchTimeoutSeconds + Int(random() * Double(timing.watchTimeoutSeconds))
    }

    /// Reads the event stream chunk by chunk; the events of one chunk are applied together.
    private func read(_ body: HTTPClientResponse.Body, progress: SharedProgress) async -> WatchOutcome? {
        var decoder = WatchEventDecoder(kind: kind, interner: interner)
        do {
            for try await chunk in body {
                let arrivedAt = WallClock.nanosecondsSinceEpoch()
                let events = chunk.withUnsafeReadableBytes { decoder.feed($0) }
                var changes: [ClusterChange] = []
                var newest: String?
                var stop: WatchOutcome?
                for event in events {
                    switch event {
                    case .added(let object, let rv), .modified(let object, let rv):
                        changes.append(.upsert(object)); newest = rv
                    case .deleted(let ref, let rv):
                        changes.append(.delete(ref)); newest = rv
                    case .bookmark(let rv):
                        newest = rv
                    case .skipped(let error):
                        skip(error)
                    case .error(let code, let reason, let message):
                        stop = code == 410 ? .gone : .failed(.status(code, "\(reason): \(message)"))
                    }
                    if stop != nil { break }
                }
                sync.apply(changes, arrivedAt: arrivedAt)
                let now = time.nowNanoseconds()
                progress.state.withLock { p in
                    p.lastActivity = now
                    if let newest, !newest.isEmpty { p.newestResourceVersion = newest }
                    if !events.isEmpty { p.delivered = true }
                }
                if !events.isEmpty { metrics.contact(kind); sync.reachability.contact(kind) }
                if let stop { return stop }
            }
        } catch {
            if Task.isCancelled { return nil }
            return .failed(.unreachable("watch cut short: \(APIClient.describe(error))"))
        }
        return Task.isCancelled ? nil : .ended
    }

    /// Returns `.silent` once nothing has arrived for twice the bookmark interval; nil when cancelled.
    private func watchdog(_ progress: SharedProgress) async -> WatchOutcome? {
        let limit = timing.silenceLimitNanoseconds
        while !Task.isCancelled {
            let deadline = progress.state.withLock { $0.lastActivity } &+ limit
            let now = time.nowNanoseconds()
            if now >= deadline { return .silent }
            do { try await time.sleep(nanoseconds: deadline - now) } catch { return nil }
        }
        return nil
    }
}
