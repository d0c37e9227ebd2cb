import Foundation
import Metrics
import Synchronization

/// Queries the kernel dropped before fedns could read them: a listener's receive queue was full.
/// Linux counts them per socket in the `drops` column of /proc/net/udp and udp6; fedns adds those of
/// its own listener sockets (matched by inode) to `fedns_dns_socket_drops_total` when it is scraped.
final class KernelSocketDrops: Sendable {
    let counter: Counter
    private let ports: Set<Int>
    private let counted = Mutex<Int>(0)

    /// - Parameter ports: the UDP listen ports (every socket on them that fedns owns is a listener).
    init(counter: Counter, ports: Set<Int>) {
        self.counter = counter
        self.ports = ports
    }

    /// Brings the counter up to what the kernel reports now.
    func refresh() {
        let inodes = Self.ownSocketInodes()
        var total = 0
        for table in ["/proc/self/net/udp", "/proc/self/net/udp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            total += Self.drops(inTable: text, inodes: inodes, ports: ports)
        }
        let increase = counted.withLock { seen in
            defer { seen = max(seen, total) }
            return max(0, total - seen)
        }
        if increase > 0 { counter.increment(by: increase) }
    }

    /// The inodes of this process's sockets (`/proc/self/fd/N -> socket:[INODE]`).
    static func ownSocketInodes() -> Set<UInt64> {
        var out = Set<UInt64>()
        let fm = FileManager.default
        for fd in (try? fm.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let target = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
                  target.hasPrefix("socket:["), target.hasSuffix("]"),
                  let inode = UInt64(target.dropFirst("socket:[".count).dropLast()) else { continue }
            out.insert(inode)
        }
        return out
    }

    /// Sums the `drops` column of the rows whose inode is in `inodes` and whose local port is in `ports`.
    ///
    /// ```text
    ///   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
    ///  12: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41250 2 000000009c3 17
    /// ```
    static func drops(inTable text: String, inodes: Set<UInt64>, ports: Set<Int>) -> Int {
        var total = 0
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 13, let inode = UInt64(f[9]), inodes.contains(inode),
                  let portHex = f[1].split(separator: ":").last, let port = Int(portHex, radix: 16), ports.contains(port),
                  let drops = Int(f[12]) else { continue }
            total += drops
        }
        return total
    }
}
