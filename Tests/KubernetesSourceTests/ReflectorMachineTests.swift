import ClusterState
@testable import KubernetesSource
import Logging
import Testing

private typealias Machine = ReflectorMachine
private let second: UInt64 = 1_000_000_000

/// A machine that has listed once (at resourceVersion 100) and is watching.
private func watching(timing: ReflectorTiming = ReflectorTiming()) -> Machine {
    var m = Machine(timing: timing)
    _ = m.start()
    _ = m.listPage(continueToken: nil, resourceVersion: "100")
    _ = m.installed(now: 10 * second)
    return m
}

@Suite struct ReflectorMachineTests {
    @Test func listsEveryPageThenInstallsThenWatchesFromTheListsVersion() {
        var m = Machine()
        #expect(m.start().action == .list(continueToken: nil))
        #expect(m.listPage(continueToken: "page2", resourceVersion: "7").action == .list(continueToken: "page2"))
        #expect(m.listPage(continueToken: "page3", resourceVersion: "7").action == .list(continueToken: "page3"))
        #expect(m.listPage(continueToken: "", resourceVersion: "7").action == .install(resourceVersion: "7", relist: false))
        #expect(!m.synced)
        #expect(m.installed(now: 0).action == .watch(resourceVersion: "7"))
        #expect(m.synced)
    }

    @Test func eventsAndBookmarksMoveTheResumeVersion() {
        var m = watching()
        _ = m.watchOpened(now: 11 * second)
        #expect(m.watchDelivered(resourceVersion: "105", now: 12 * second).action == Machine.Action.none)
        #expect(m.watchDelivered(resourceVersion: "140", now: 13 * second).action == Machine.Action.none)  // a bookmark
        let step = m.watchEnded(now: 400 * second, random: 0)
        #expect(step.action == .watch(resourceVersion: "140"))
        #expect(step.watchRestart)
        #expect(!step.relist)
    }

    @Test func goneDuringWatchRelistsAndTheRelistReplacesTheKind() {
        var m = watching()
        _ = m.watchDelivered(resourceVersion: "120", now: 11 * second)
        let gone = m.watchGone()
        #expect(gone.action == .list(continueToken: nil))
        #expect(gone.relist)
        #expect(m.listPage(continueToken: nil, resourceVersion: "900").action == .install(resourceVersion: "900", relist: true))
        #expect(m.installed(now: 20 * second).action == .watch(resourceVersion: "900"))
    }

    @Test func http410OnTheWatchIsTheSameAsAnErrorEvent() {
        var m = watching()
        let step = m.failed(.gone("too old resource version"), now: 11 * second, random: 0.3)
        #expect(step.action == .list(continueToken: nil))
        #expect(step.relist)
        #expect(m.failures == 0)  // no backoff: a relist is the cure
    }

    @Test func anExpiredContinueTokenRestartsTheListFromTheFirstPage() {
        var m = Machine()
        _ = m.start()
        _ = m.listPage(continueToken: "c1", resourceVersion: "5")
        let step = m.failed(.gone("continue token expired"), now: 0, random: 0)
        #expect(step.action == .list(continueToken: nil))
        #expect(step.relist)
        #expect(m.listPage(continueToken: nil, resourceVersion: "9").action == .install(resourceVersion: "9", relist: false))
    }

    @Test func aSilentWatchIsRestartedAfterTwiceTheBookmarkInterval() {
        var timing = ReflectorTiming()
        timing.bookmarkInterval = .seconds(5)
        var m = watching(timing: timing)
        _ = m.watchOpened(now: 100 * second)
        #expect(!m.isSilent(now: 109 * second))
        #expect(m.silenceDeadline == 110 * second)
        #expect(m.isSilent(now: 110 * second))
        _ = m.watchDelivered(resourceVersion: "101", now: 108 * second)  // a bookmark pushes the deadline
        #expect(!m.isSilent(now: 110 * second))
        #expect(m.isSilent(now: 118 * second))
        let step = m.watchSilent(now: 118 * second)
        #expect(step.action == .watch(resourceVersion: "101"))
        #expect(step.watchRestart)
    }

    @Test func aWatchThatEndsAsSoonAsItOpensBacksOff() {
        var m = watching()
        _ = m.watchOpened(now: 50 * second)
        let step = m.watchEnded(now: 50 * second + 1000, random: 0)
        guard case .wait = step.action else { Issue.record("expected a backoff, got \(step.action)"); return }
        #expect(m.backoffElapsed(now: 51 * second).action == .watch(resourceVersion: "100"))
    }

    @Test(arguments: [1, 2, 3, 6, 7, 20])
    func backoffDoublesUpToTheCapWithinTheJitterBounds(attempt: Int) {
        let timing = ReflectorTiming()  // 0.5 s base, 30 s cap, jitter 0.5
        let full = min(30.0, 0.5 * Double(1 << min(attempt - 1, 30)))
        for r in [0.0, 0.25, 0.5, 0.999] {
            let seconds = Double(timing.backoffNanoseconds(attempt: attempt, random: r)) / 1e9
            #expect(seconds <= full + 1e-9)
            #expect(seconds >= full * 0.5 - 1e-9)
        }
        #expect(Double(timing.backoffNanoseconds(attempt: attempt, random: 0)) / 1e9 == full)
    }

    @Test func failuresInARowBackOffLongerAndASuccessResetsThem() {
        var m = watching()
        var delays: [UInt64] = []
        for _ in 0..<4 {
            guard case .wait(let ns) = m.failed(.unreachable("connection refused"), now: 0, random: 0).action else {
                Issue.record("no backoff"); return
            }
            delays.append(ns)
            #expect(m.backoffElapsed(now: 0).action == .watch(resourceVersion: "100"))
        }
        #expect(delays == [500_000_000, 1_000_000_000, 2_000_000_000, 4_000_000_000])
        _ = m.watchDelivered(resourceVersion: "101", now: 1)
        #expect(m.failures == 0)
    }

    @Test func aListThatFailsIsRetriedFromItsFirstPage() {
        var m = Machine()
        _ = m.start()
        _ = m.listPage(continueToken: "c1", resourceVersion: "5")
        guard case .wait = m.failed(.status(500, "etcd"), now: 0, random: 0).action else { Issue.record("no backoff"); return }
        #expect(m.backoffElapsed(now: 0).action == .list(continueToken: nil))
    }

    @Test func aProblemIsReportedOncePerChangeOfStateNotPerRetry() {
        var m = watching()
        let forbidden = APIProblem.forbidden(verb: "watch", message: "endpointslices.discovery.k8s.io is forbidden")
        var reports: [Machine.Report] = []
        for _ in 0..<5 {
            if let r = m.failed(forbidden, now: 0, random: 0).report { reports.append(r) }
            _ = m.backoffElapsed(now: 0)
        }
        #expect(reports == [.failing(forbidden)])
        // Another kind of failure is a change of state: reported once.
        if let r = m.failed(.unreachable("refused"), now: 0, random: 0).report { reports.append(r) }
        _ = m.backoffElapsed(now: 0)
        if let r = m.failed(.unreachable("reset by peer"), now: 0, random: 0).report { reports.append(r) }
        _ = m.backoffElapsed(now: 0)
        // Working again is reported once too.
        if let r = m.watchOpened(now: 1).report { reports.append(r) }
        if let r = m.watchDelivered(resourceVersion: "101", now: 2).report { reports.append(r) }
        #expect(reports == [.failing(forbidden), .failing(.unreachable("refused")), .recovered(after: .unreachable("reset by peer"))])
    }

    @Test func forbiddenAdviceNamesTheVerbTheResourceAndTheGrant() {
        let slices = KubeResource(kind: .endpointSlice)
        #expect(slices.forbiddenAdvice(verb: "list").hasPrefix(
            "cannot list endpointslices.discovery.k8s.io at the cluster scope: grant list and watch on endpointslices"))
        #expect(KubeResource(kind: .service).qualifiedName == "services")
    }

    @Test func resourcesFollowTheFeaturesThatNeedThem() {
        let base = KubeResource.needed(nodeName: nil, ownNodePods: true, allPods: false)
        #expect(base.map(\.kind) == [.service, .endpointSlice, .namespace])
        let local = KubeResource.needed(nodeName: "node-1", ownNodePods: true, allPods: false)
        #expect(local.map(\.fieldSelector) == [nil, nil, nil, "metadata.name=node-1", "spec.nodeName=node-1"])
        let verified = KubeResource.needed(nodeName: "node-1", ownNodePods: false, allPods: true)
        #expect(verified.last == KubeResource(kind: .pod))
        #expect(local[3].listQuery(limit: 500, continueToken: "a b") == "limit=500&continue=a%20b&fieldSelector=metadata.name%3Dnode-1")
        #expect(local[1].watchQuery(resourceVersion: "42", timeoutSeconds: 300)
                    == "watch=1&allowWatchBookmarks=true&resourceVersion=42&timeoutSeconds=300")
    }
}

@Suite struct ClusterSyncTests {
    private func service(_ name: String, _ ip: String) -> ClusterObject {
        .service(Service(key: ServiceKey(namespace: "default", name: name), kind: .clusterIP([ip]), ports: []))
    }

    @Test func theFirstSyncWaitsForEveryKindThenEventsAndRelistsChangeTheStore() {
        let store = SnapshotStore(nodeName: nil)
        let sync = ClusterSync(store: store, needed: [.service, .namespace], metrics: KubeMetrics(), logger: Logger(label: "test"))
        sync.listed(.service, [service("a", "10.96.0.1"), service("b", "10.96.0.2")])
        #expect(store.current == nil)  // namespaces not listed yet: nothing is served
        // An event on a listed kind before the first sync changes what will be installed.
        sync.apply([.delete(ObjectRef(kind: .service, namespace: "default", name: "b"))], arrivedAt: 0)
        #expect(store.current == nil)
        sync.listed(.namespace, [.namespace("default")])
        #expect(sync.hasSynced)
        #expect(store.current?.service("a", namespace: "default") != nil)
        #expect(store.current?.service("b", namespace: "default") == nil)
        #expect(store.current?.generation == 1)
        // After it, events that arrived together are one generation.
        sync.apply([.upsert(service("c", "10.96.0.3")), .upsert(service("d", "10.96.0.4"))], arrivedAt: 0)
        #expect(store.current?.generation == 2)
        #expect(store.current?.service("d", namespace: "default") != nil)
        // A relist replaces the kind: what it lacks was deleted while away.
        sync.listed(.service, [service("c", "10.96.0.3")])
        #expect(store.current?.service("a", namespace: "default") == nil)
        #expect(store.current?.service("c", namespace: "default") != nil)
        #expect(store.current?.namespaces.contains("default") == true)
    }
}

/// One outage of the whole API server is logged once, not once per watched resource; problems of one
/// resource are each its own.
@Suite struct OutageLogTests {
    @Test func aServerWideProblemIsNewsOnceAndSoIsItsEnd() {
        let r = Reachability()
        #expect(r.isNews(.unreachable("refused")), "the first resource to meet it says it")
        #expect(!r.isNews(.unreachable("reset")), "the others do not")
        #expect(r.isNews(.forbidden(verb: "list", message: "")), "a resource's own problem is always news")
        #expect(r.isRecoveryNews(.unreachable("refused")), "the first resource answered again says so")
        #expect(!r.isRecoveryNews(.unreachable("refused")), "the others do not")
        #expect(r.isNews(.unreachable("refused")), "the next outage is news again")
        #expect(r.isNews(.unauthorized("401")), "so is another server-wide problem")
        #expect(r.isRecoveryNews(.status(500, "")), "any answer ends the server-wide problem")
        #expect(r.isNews(.unauthorized("401")))
    }
}
