#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What node set-up does, as values: the addresses the dummy interface holds and the iptables rules that
/// let DNS to and from them skip connection tracking. Planning is pure; `NodeSetup` carries it out.

/// The settings of node set-up (`nodeSetup` in the configuration file, `--node-setup`).
public struct NodeSetupSettings: Sendable, Equatable {
    public var enabled = false
    /// The dummy interface holding the listen addresses (NodeLocal DNSCache's name by default).
    public var interface = "nodelocaldns"
    /// Leave the interface and the rules in place on exit (a hand-over to a new process always does).
    public var keepOnExit = false
    /// How often the interface, its addresses and the rules are checked and put back.
    public var checkIntervalSeconds: Double = 60
    public var iptables = "iptables"
    public var ip6tables = "ip6tables"
    public init() {}
}

/// An address fedns listens on, with the DNS port.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: Int
    public init(ip: IPAddress, port: Int) { self.ip = ip; self.port = port }
    public var description: String { ip.isV6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}

/// An IPv4 or IPv6 address in its canonical text and bytes.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let text: String
    public var isV6: Bool { bytes.count == 16 }
    public var description: String { text }

    public init?(_ text: String) {
        if let b = Self.parse(text, family: AF_INET, size: 4) {
            bytes = b
        } else if let b = Self.parse(text, family: AF_INET6, size: 16) {
            bytes = b
        } else {
            return nil
        }
        self.text = Self.format(bytes)
    }

    init(bytes: [UInt8]) { self.bytes = bytes; self.text = Self.format(bytes) }

    /// 0.0.0.0 / :: (every address) and loopback: nothing to put on an interface or to exempt from conntrack.
    public var isWildcardOrLoopback: Bool {
        if isV6 { return bytes.allSatisfy { $0 == 0 } || bytes == [UInt8](repeating: 0, count: 15) + [1] }
        return bytes == [0, 0, 0, 0] || bytes[0] == 127
    }

    private static func parse(_ text: String, family: Int32, size: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
        return ok == 1 ? out : nil
    }

    private static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 16 ? AF_INET6 : AF_INET
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One iptables rule: which binary (IPv4 or IPv6), table, chain and match.
public struct IPTablesRule: Hashable, Sendable, CustomStringConvertible {
    public var ipv6: Bool
    public var table: String
    public var chain: String
    public var spec: [String]

    /// The comment every fedns rule carries, so an operator sees whose rules they are.
    public static let comment = "fedns: skip conntrack for node-local DNS"

    /// `-t TABLE -C CHAIN SPEC…` (exists), `-I` (insert first: before rules that would track or drop), `-D` (delete).
    public func arguments(_ operation: String) -> [String] { ["-w", "-t", table, operation, chain] + spec }
    public var description: String { "-t \(table) -A \(chain) " + spec.joined(separator: " ") }
}

public enum NodeSetupPlan {
    /// The rules for each specific listen address: queries to it and answers from it skip connection
    /// tracking (raw NOTRACK, arriving in PREROUTING or sent from this node in OUTPUT), and since the filter
    /// table's "accept established" rules no longer see them, filter ACCEPT rules let them through.
    public static func rules(for addresses: [ListenAddress]) -> [IPTablesRule] {
        var out: [IPTablesRule] = []
        for address in uniqueSpecific(addresses) {
            for proto in ["udp", "tcp"] {
                let ip = address.ip.text, port = String(address.port)
                let to = ["-p", proto, "-d", ip, "--dport", port]
                let from = ["-p", proto, "-s", ip, "--sport", port]
                let tag = ["-m", "comment", "--comment", IPTablesRule.comment]
                func rule(_ table: String, _ chain: String, _ match: [String], _ target: String) -> IPTablesRule {
                    IPTablesRule(ipv6: address.ip.isV6, table: table, chain: chain, spec: match + tag + ["-j", target])
                }
                out += [
                    rule("raw", "PREROUTING", to, "NOTRACK"),   // queries from pods
                    rule("raw", "OUTPUT", to, "NOTRACK"),       // queries from the node itself (hostNetwork pods)
                    rule("raw", "OUTPUT", from, "NOTRACK"),     // answers
                    rule("filter", "INPUT", to, "ACCEPT"),
                    rule("filter", "OUTPUT", from, "ACCEPT"),
                ]
            }
        }
        return out
    }

    /// The addresses node set-up looks after: every specific listen address, once, in order.
    public static func uniqueSpecific(_ addresses: [ListenAddress]) -> [ListenAddress] {
        var seen = Set<ListenAddress>()
        return addresses.filter { !$0.ip.isWildcardOrLoopback && seen.insert($0).inserted }
    }

    /// The IPs the dummy interface must hold: the specific listen IPs no other interface has.
    public static func interfaceAddresses(for addresses: [ListenAddress], elsewhere: Set<IPAddress>) -> [IPAddress] {
        var seen = Set<IPAddress>()
        return uniqueSpecific(addresses).map(\.ip).filter { !elsewhere.contains($0) && seen.insert($0).inserted }
    }
}
