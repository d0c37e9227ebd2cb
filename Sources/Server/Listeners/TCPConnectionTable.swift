/// The open TCP connections, who holds them and how long each has been idle: the decisions that keep
/// a connection flood from locking new clients out (RFC 7766 §6.2.3 lets a server under pressure
/// close idle connections early). Pure state; `TCPConnections` acts on it for the listener.
///
/// - A client address holds at most `clientShare` of the table; past that its new connections are refused.
/// - When the table is full, the longest-idle connection is closed to admit the new one; a
///   connection with a query in flight or an answer still being written is never chosen.
/// - The idle timeout is the configured one while the table is at most half full, and shrinks
///   linearly as it fills, to 1% of it when full (as Unbound's `tcp-idle-timeout` does).
/// - A busy connection that finishes nothing for `stallTimeout` (a client that sends queries but
///   never reads its answers) is closed: pending work must not pin a place in the table forever.
struct TCPConnectionTable<ID: Hashable & Sendable>: Sendable {
    enum Admission: Equatable, Sendable {
        case admit
        /// Admit, after closing this idle connection.
        case admitClosing(ID)
        case reject(TCPRejectReason)
    }

    struct Entry: Sendable {
        var client: String
        /// When the connection opened, last finished work, or became busy, in nanoseconds.
        var idleSince: UInt64
        /// Queries in flight plus answers being written.
        var busy = 0
        /// Answers written (a draining process closes only connections that have had one).
        var answered = 0
    }

    let maxConnections: Int
    let perClient: Int
    let idleTimeout: UInt64
    /// Longer than any query may take (the forwarding budget stays below 5 s).
    var stallTimeout: UInt64 { max(idleTimeout, 30_000_000_000) }
    private(set) var entries: [ID: Entry] = [:]
    private var byClient: [String: Int] = [:]

    /// - Parameter idleTimeout: nanoseconds, while the table is at most half full.
    init(maxConnections: Int, clientShare: Double, idleTimeout: UInt64) {
        self.maxConnections = maxConnections
        self.perClient = max(1, Int((Double(maxConnections) * clientShare).rounded(.down)))
        self.idleTimeout = idleTimeout
    }

    var count: Int { entries.count }

    func connections(of client: String) -> Int { byClient[client] ?? 0 }

    /// A new connection from `client`: admit it, admit it after closing an idle one, or refuse it.
    /// A connection closed this way leaves the table at once.
    mutating func admit(_ id: ID, client: String, now: UInt64) -> Admission {
        guard connections(of: client) < perClient else { return .reject(.clientShare) }
        var decision = Admission.admit
        if entries.count >= maxConnections {
            guard let victim = longestIdle() else { return .reject(.full) }
            remove(victim)
            decision = .admitClosing(victim)
        }
        entries[id] = Entry(client: client, idleSince: now)
        byClient[client, default: 0] += 1
        return decision
    }

    /// Work starts on `id` (a query read, an answer queued). False when the connection has left the
    /// table (closed to admit another): its query is not answered, since the connection is closing.
    mutating func beginWork(_ id: ID, now: UInt64) -> Bool {
        guard var e = entries[id] else { return false }
        if e.busy == 0 { e.idleSince = now }
        e.busy += 1
        entries[id] = e
        return true
    }

    /// Work on `id` is done; its idle time starts again when nothing else is pending.
    mutating func endWork(_ id: ID, now: UInt64) {
        guard var e = entries[id] else { return }
        e.busy = max(0, e.busy - 1)
        e.answered += 1
        e.idleSince = now
        entries[id] = e
    }

    /// The connection closed.
    mutating func remove(_ id: ID) {
        guard let e = entries.removeValue(forKey: id) else { return }
        let left = (byClient[e.client] ?? 1) - 1
        byClient[e.client] = left > 0 ? left : nil
    }

    /// The idle timeout now, in nanoseconds: shorter as the table fills.
    var currentIdleTimeout: UInt64 {
        let occupancy = Double(entries.count) / Double(maxConnections)
        guard occupancy > 0.5 else { return idleTimeout }
        let scale = max(0.01, (1 - occupancy) * 2)
        return UInt64(Double(idleTimeout) * scale)
    }

    /// Whether `id` has been idle (or, busy, stalled) too long now; otherwise how many nanoseconds
    /// until it would be. nil when `id` has left the table.
    func idleCheck(_ id: ID, now: UInt64) -> (close: Bool, recheckIn: UInt64)? {
        guard let e = entries[id] else { return nil }
        let timeout = e.busy == 0 ? currentIdleTimeout : stallTimeout
        let idle = now >= e.idleSince ? now - e.idleSince : 0
        return idle >= timeout ? (true, 0) : (false, timeout - idle)
    }

    /// How long a connection that has had answers must be quiet before a draining process closes it:
    /// its client may send another query.
    static var drainQuiet: UInt64 { 2_000_000_000 }

    /// `idleCheck` for a process that handed its listening sockets over: a connection that has had its
    /// answers closes once they are out and it has been quiet for `drainQuiet`. One that has had no
    /// query yet keeps the ordinary idle timeout: its client may be about to send one (a starved client
    /// was seen taking over 2 s), and closing over a query that has arrived unread resets the connection.
    func drainCheck(_ id: ID, now: UInt64) -> (close: Bool, recheckIn: UInt64)? {
        guard let e = entries[id], e.busy == 0, e.answered > 0 else { return idleCheck(id, now: now) }
        let quiet = now >= e.idleSince ? now - e.idleSince : 0
        return quiet >= Self.drainQuiet ? (true, 0) : (false, Self.drainQuiet - quiet)
    }

    private func longestIdle() -> ID? {
        var best: (id: ID, since: UInt64)?
        for (id, e) in entries where e.busy == 0 {
            if best == nil || e.idleSince < best!.since { best = (id, e.idleSince) }
        }
        return best?.id
    }
}

/// Why a new TCP connection was refused (the `reason` label of `fedns_dns_tcp_connections_rejected_total`).
enum TCPRejectReason: String, CaseIterable, Sendable {
    /// The client address already holds its share of the table.
    case clientShare = "client_share"
    /// The table is full and every connection is busy.
    case full
}
