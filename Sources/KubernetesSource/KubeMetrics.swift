import Clocks
import ClusterState
import Metrics

/// The Kubernetes source's metrics, declared once per source with fixed labels (docs/operating.md).
public struct KubeMetrics: Sendable {
    /// Per resource (`services`, `endpointslices`, `namespaces`, `nodes`, `pods`).
    struct PerResource: Sendable {
        let watchRestarts: Counter
        let relists: Counter
        let skipped: Counter
        let lastContact: Gauge
    }
    private let perResource: [ObjectKind: PerResource]
    /// By HTTP status; `other` for any status not listed, `unreachable` when no HTTP answer came,
    /// `malformed` for a 200 whose body broke the protocol.
    private let errors: [String: Counter]
    static let errorCodes = ["400", "401", "403", "404", "410", "429", "500", "503", "other", "unreachable", "malformed"]
    /// The same series as the file source's: from an event's arrival to its snapshot serving.
    let eventToAnswer = Timer(label: "fedns_cluster_event_to_answer_seconds", preferredDisplayUnit: .seconds)

    public init() {
        var perResource: [ObjectKind: PerResource] = [:]
        for kind in ObjectKind.allCases {
            let dimensions = [("resource", KubeResource(kind: kind).label)]
            perResource[kind] = PerResource(
                watchRestarts: Counter(label: "fedns_kube_watch_restarts_total", dimensions: dimensions),
                relists: Counter(label: "fedns_kube_relists_total", dimensions: dimensions),
                skipped: Counter(label: "fedns_kube_objects_skipped_total", dimensions: dimensions),
                lastContact: Gauge(label: "fedns_kube_last_contact_timestamp_seconds", dimensions: dimensions))
        }
        self.perResource = perResource
        var errors: [String: Counter] = [:]
        for code in Self.errorCodes {
            errors[code] = Counter(label: "fedns_kube_api_errors_total", dimensions: [("code", code)])
        }
        self.errors = errors
    }

    func watchRestarted(_ kind: ObjectKind) { perResource[kind]?.watchRestarts.increment() }
    func relisted(_ kind: ObjectKind) { perResource[kind]?.relists.increment() }
    func skipped(_ kind: ObjectKind) { perResource[kind]?.skipped.increment() }
    /// The API server answered for `kind` (a list page, a watch event or bookmark).
    func contact(_ kind: ObjectKind) { perResource[kind]?.lastContact.record(WallClock.secondsSinceEpoch()) }

    func failed(_ problem: APIProblem) {
        let code: String
        switch problem {
        case .unreachable: code = "unreachable"
        case .malformed: code = "malformed"
        default:
            let status = String(problem.httpCode ?? 0)
            code = errors[status] == nil ? "other" : status
        }
        errors[code]?.increment()
    }
}
