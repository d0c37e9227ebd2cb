import Clocks
import ClusterState
import DNSWire
import Logging
import NameExpansion
import Synchronization
import YAMLReader

/// `fedns publish` (docs/publishing.md): watches every member cluster and keeps the federation's public
/// records in the zone's primary — one TSIG-signed UPDATE per service change, with prerequisites, minimal
/// diffs, and never a name fedns does not own.
public final class Publisher: Sendable {
    public let config: PublisherConfig
    let feeds: [ClusterFeed]
    let diff: ZoneDiff
    let primary: Primary
    let logger: Logger
    let metrics = PublisherMetrics()
    let time: any TimeSource

    /// A service is sent at most one UPDATE per this interval; a change within it waits for the rest of it.
    public static let perServiceInterval: Double = 0.5
    /// How often the watching loop looks at the clusters (state files are polled at this rate).
    static let tick: Duration = .milliseconds(100)
    /// A full re-read of the zone at least this often, to repair changes made behind fedns's back.
    static let resyncSeconds: Double = 30

    private struct State {
        var ready = false
        var lastReconcile: Double?
        var knownConflicts: Set<DomainName> = []
        var problem: String?
        var lastSent: [ServiceKey: Double] = [:]
        var healthy: [String: Bool] = [:]
    }
    private let state = Mutex(State())

    public init(config: PublisherConfig, logger: Logger, time: any TimeSource = SystemTimeSource()) throws(ConfigError) {
        self.config = config
        self.logger = logger
        self.time = time
        var feeds: [ClusterFeed] = []
        for c in config.clusters {
            feeds.append(try ClusterFeed(c, logger: logger))
        }
        self.feeds = feeds
        diff = ZoneDiff(planner: RecordPlanner(federation: config.federation, domain: config.domain, format: config.zonalNameFormat),
                        ttl: config.ttl, ownershipText: config.ownershipText)
        primary = Primary(server: config.server, zone: config.zone, key: config.key)
        metrics.clustersTotal.record(feeds.count)
    }

    /// True once a reconcile has completed (`/ready`).
    public var isReady: Bool { state.withLock { $0.ready } }

    /// The API sources, to run beside the loop.
    var apiSources: [ClusterFeed] { feeds.filter { $0.kube != nil } }

    // MARK: planning

    /// The member clusters as the planner sees them now.
    func members(now: Double) -> [MemberCluster] {
        let members = feeds.map { feed in
            let readable = feed.readableUntil.map { now - $0 <= config.clusterUnhealthyAfter } ?? false
            let snapshot = feed.store.current
            let labels = feed.cluster.zone == nil || feed.cluster.region == nil ? snapshot?.sharedTopology : nil
            return MemberCluster(name: feed.cluster.name, zone: feed.cluster.zone ?? labels?.zone, region: feed.cluster.region ?? labels?.region,
                                 readable: readable, snapshot: snapshot)
        }
        noteHealth(members)
        return members
    }

    /// Logs a member cluster going unreadable or coming back, once per change.
    private func noteHealth(_ members: [MemberCluster]) {
        let changes: [(String, Bool)] = state.withLock { s in
            var out: [(String, Bool)] = []
            for m in members where s.healthy[m.name] != m.readable {
                if s.healthy[m.name] != nil || !m.readable { out.append((m.name, m.readable)) }
                s.healthy[m.name] = m.readable
            }
            return out
        }
        metrics.clustersHealthy.record(members.filter(\.readable).count)
        for (name, readable) in changes {
            if readable {
                logger.info("publish: cluster readable again; its shards count", metadata: ["publish.cluster": "\(name)"])
            } else {
                logger.warning("publish: cluster unreadable for longer than clusterUnhealthyAfter (or never read); its shards are out",
                               metadata: ["publish.cluster": "\(name)", "publish.unhealthy_after": "\(config.clusterUnhealthyAfter)s"])
            }
        }
    }

    /// Reads the zone and plans every service's update.
    public func plan(now: Double) async throws(PrimaryError) -> [ServiceUpdate] {
        let records: [ResourceRecord]
        do {
            records = try await primary.transfer()
            metrics.zoneRead("success")
        } catch {
            metrics.zoneRead(error.label)
            throw error
        }
        let desired = diff.planner.plan(members(now: now))
        return diff.updates(desired: desired, zone: ZoneContents(records))
    }

    /// Logs and counts conflicts not seen before; forgets those that went away.
    private func noteConflicts(_ updates: [ServiceUpdate]) {
        let current = Set(updates.flatMap(\.conflicts))
        let new = state.withLock { s in
            let new = current.subtracting(s.knownConflicts)
            s.knownConflicts = current
            return new
        }
        for name in new.sorted() {
            metrics.conflicts.increment()
            logger.warning("publish: conflict: the name holds records without fedns's ownership record; left alone",
                           metadata: ["publish.name": "\(name)", "publish.ownership_record": "\(ZoneDiff.ownershipName(name))"])
        }
    }

    /// Logs a problem with the primary once per change of state, and its end.
    private func noteProblem(_ problem: PrimaryError?) {
        let text = problem?.description
        let previous = state.withLock { s in
            let p = s.problem
            s.problem = text
            return p
        }
        guard previous != text else { return }
        if let problem {
            logger.error("publish: \(problem); retrying with backoff",
                         metadata: ["publish.server": "\(config.server)", "publish.zone": "\(config.zone)", "publish.key": "\(config.key.name)"])
        } else if let previous {
            logger.info("publish: the primary accepts updates again", metadata: ["publish.after": "\(previous)"])
        }
    }

    // MARK: reconciling

    public enum Outcome: Equatable, Sendable {
        /// The zone matches the clusters (conflicts aside).
        case done
        /// Updates remain: rate-limited, or a prerequisite failed (re-read and re-plan).
        case pending
    }

    /// Reads the zone, plans, and sends each service's UPDATE (at most one per service per
    /// `perServiceInterval` when `rateLimited`). Throws the primary's error (refused, unreachable…).
    @discardableResult
    public func reconcile(rateLimited: Bool) async throws(PrimaryError) -> Outcome {
        let now = WallClock.secondsSinceEpoch()
        let updates = try await plan(now: now)
        noteConflicts(updates)
        var outcome = Outcome.done
        var managed = 0
        for u in updates {
            managed += u.managedRecords
            guard !u.isEmpty else { continue }
            if rateLimited, let last = state.withLock({ $0.lastSent[u.service] }), now - last < Self.perServiceInterval {
                outcome = .pending
                continue
            }
            do {
                try await primary.update(prerequisites: u.prerequisites, updates: u.updates)
                metrics.update("success")
                state.withLock { $0.lastSent[u.service] = WallClock.secondsSinceEpoch() }
                logger.info("publish: updated", metadata: [
                    "publish.service": "\(u.service)", "publish.removed": "\(u.removed.count)", "publish.added": "\(u.added.count)",
                ])
            } catch {
                metrics.update(error.label)
                if error.label == "prerequisite_failed" {
                    // Someone changed the zone since it was read: re-read and re-plan, never clobber.
                    logger.info("publish: the zone changed under the update; re-reading",
                                metadata: ["publish.service": "\(u.service)", "publish.rcode": "\(error)"])
                    outcome = .pending
                    continue
                }
                throw error
            }
        }
        metrics.recordsManaged.record(managed)
        noteProblem(nil)
        if outcome == .done {
            state.withLock { $0.ready = true; $0.lastReconcile = now }
            metrics.lastReconcile.record(now)
        }
        return outcome
    }

    /// `--dry-run`: the plan as zone text (what would be deleted and added), nothing changed.
    public func dryRun() async throws(PrimaryError) -> String {
        let updates = try await plan(now: WallClock.secondsSinceEpoch())
        var out = ""
        for u in updates where !u.isEmpty || !u.conflicts.isEmpty {
            out += "; \(u.service)\n"
            for name in u.conflicts {
                out += "; conflict: \(name) holds records without \(ZoneDiff.ownershipName(name)) TXT \"\(config.ownershipText)\"; left alone\n"
            }
            if !u.removed.isEmpty { out += "; delete\n" + u.removed.map { $0.zoneText + "\n" }.joined() }
            if !u.added.isEmpty { out += "; add\n" + u.added.map { $0.zoneText + "\n" }.joined() }
        }
        return out.isEmpty ? "; the zone matches the clusters: nothing to change\n" : out
    }

    /// `--once`: the state files loaded (the API sources already synced by the caller), then reconciles
    /// until the zone matches. Returns why it does not, nil when it does.
    public func once() async -> String? {
        for attempt in 1...5 {
            do {
                if try await reconcile(rateLimited: false) == .done {
                    let left = try await plan(now: WallClock.secondsSinceEpoch())
                    let conflicts = left.flatMap(\.conflicts)
                    if !conflicts.isEmpty {
                        return "conflict: \(conflicts.map(\.description).joined(separator: ", ")) hold records without fedns's ownership record"
                    }
                    if left.allSatisfy(\.isEmpty) { return nil }
                }
            } catch {
                return error.description
            }
            try? await time.sleep(for: .milliseconds(100 * attempt))
        }
        return "the zone kept changing under the updates (prerequisites failed 5 times)"
    }

    /// Loads every state file once; the first error names the cluster, file and field.
    public func loadFiles() throws(ConfigError) {
        for feed in feeds {
            do throws(ObjectError) { try feed.loadOnce() } catch {
                throw ConfigError(field: "clusters[\(feed.cluster.name)].source.file", problem: "\(error)")
            }
        }
    }

    /// The watching loop: every tick the state files are polled; a reconcile runs when a cluster changed, a
    /// cluster's readability changed, updates are pending, or the resync interval passed — with backoff
    /// while the primary refuses or cannot be reached. Runs until cancelled.
    public func watch() async {
        let start = WallClock.secondsSinceEpoch()
        var lastSeen: [String]? = nil
        var pending = true
        var nextAttempt = 0.0
        var backoff = 0.5
        var lastFull = 0.0
        while !Task.isCancelled {
            for feed in feeds { feed.poll() }
            let now = WallClock.secondsSinceEpoch()
            if let last = state.withLock({ $0.lastReconcile }) { metrics.sinceReconcile.record(now - last) }
            let members = self.members(now: now)
            // Wait for every cluster's first state, or clusterUnhealthyAfter: never publish from a half-read federation.
            let started = members.allSatisfy { $0.snapshot != nil } || now - start > config.clusterUnhealthyAfter
            let seen = members.map { "\($0.name):\($0.snapshot?.generation ?? 0):\($0.readable)" }
            if seen != lastSeen { pending = true }
            if now - lastFull > Self.resyncSeconds { pending = true }
            if started, pending, now >= nextAttempt {
                lastSeen = seen
                lastFull = now
                do {
                    pending = try await reconcile(rateLimited: true) == .pending
                    backoff = 0.5
                    nextAttempt = pending ? now + 0.1 : 0
                } catch {
                    noteProblem(error)
                    nextAttempt = now + backoff * Double.random(in: 0.5...1)
                    backoff = min(backoff * 2, 30)
                }
            }
            do { try await time.sleep(for: Self.tick) } catch { return }
        }
    }
}

extension Publisher {
    /// Waits until every API source has its first snapshot, or `clusterUnhealthyAfter` has passed.
    func waitForAPISources() async {
        let deadline = WallClock.secondsSinceEpoch() + config.clusterUnhealthyAfter
        while apiSources.contains(where: { $0.store.current == nil }), WallClock.secondsSinceEpoch() < deadline {
            try? await time.sleep(for: .milliseconds(50))
        }
    }
}
