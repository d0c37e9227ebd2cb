#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Node set-up as NodeLocal DNSCache's node-cache does it: a dummy interface holding the listen
/// addresses the host does not already have, and iptables rules that exempt DNS to and from them from
/// connection tracking. `ensure` is idempotent: it adds only what is missing and reports what it put back.
public struct NodeSetup: Sendable {
    public let settings: NodeSetupSettings
    public let addresses: [ListenAddress]
    let iptables: IPTables
    let netlink: RTNetlink
    /// The IPs that live on the dummy interface, decided at the first `ensure` (the others were already on the host).
    private let ownedIPs: [IPAddress]

    /// What one `ensure` changed: empty on a healthy node.
    public struct Repairs: Sendable, Equatable {
        public var interfaceCreated = false
        /// "dummy", or "bridge" on a kernel without the dummy driver (an empty bridge holds addresses the same way).
        public var interfaceKind: String?
        public var addressesAdded: [IPAddress] = []
        public var rulesAdded: [IPTablesRule] = []
        public var isEmpty: Bool { !interfaceCreated && addressesAdded.isEmpty && rulesAdded.isEmpty }
    }

    public init(settings: NodeSetupSettings, addresses: [ListenAddress], runner: any CommandRunner = ProcessRunner(),
                host: HostInterfaces = .read()) {
        self.settings = settings
        self.addresses = NodeSetupPlan.uniqueSpecific(addresses)
        self.iptables = IPTables(iptables: settings.iptables, ip6tables: settings.ip6tables, runner: runner)
        self.netlink = RTNetlink()
        self.ownedIPs = NodeSetupPlan.interfaceAddresses(for: addresses, elsewhere: host.addresses(except: settings.interface))
    }

    public var rules: [IPTablesRule] { NodeSetupPlan.rules(for: addresses) }
    public var interfaceAddresses: [IPAddress] { ownedIPs }

    /// Creates what is missing: the interface (when some address needs it), its addresses, then the rules.
    @discardableResult
    public func ensure() throws(NodeSetupError) -> Repairs {
        var repairs = Repairs()
        if !ownedIPs.isEmpty {
            let name = settings.interface
            if HostInterfaces.index(of: name) == nil {
                do {
                    try netlink.createLink(name, kind: "dummy")
                    repairs.interfaceKind = "dummy"
                } catch where error.errno == EOPNOTSUPP {
                    try netlink.createLink(name, kind: "bridge")
                    repairs.interfaceKind = "bridge"
                }
                repairs.interfaceCreated = true
            }
            guard let index = HostInterfaces.index(of: name) else {
                throw NodeSetupError(operation: "if_nametoindex(\(name))", problem: "the interface is missing right after it was created")
            }
            try netlink.setUp(index: index, name: name)
            let present = HostInterfaces.read().addresses[name] ?? []
            for ip in ownedIPs where !present.contains(ip) {
                try netlink.addAddress(ip, index: index, name: name)
                repairs.addressesAdded.append(ip)
            }
        }
        for rule in rules where try iptables.ensure(rule) {
            repairs.rulesAdded.append(rule)
        }
        return repairs
    }

    /// Removes the rules and the interface (its addresses go with it). Every step is tried; the first failure is thrown.
    public func remove() throws(NodeSetupError) {
        var first: NodeSetupError?
        for rule in rules {
            do { try iptables.remove(rule) } catch { first = first ?? error }
        }
        if !ownedIPs.isEmpty, let index = HostInterfaces.index(of: settings.interface) {
            do { try netlink.deleteLink(index: index, name: settings.interface) } catch { first = first ?? error }
        }
        if let first { throw first }
    }
}
