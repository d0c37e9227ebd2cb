#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few rtnetlink requests node set-up makes (rtnetlink(7)): create a dummy link, bring it up, add an
/// address, delete the link. Each request asks for an acknowledgement and a failure names the call.
///
/// ```text
/// nlmsghdr  { u32 len; u16 type; u16 flags; u32 seq; u32 pid }      16 bytes
/// ifinfomsg { u8 family; u8 pad; u16 type; i32 index; u32 flags; u32 change }  16 bytes
/// ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index }          8 bytes
/// rtattr    { u16 len; u16 type; payload, padded to 4 bytes }
/// ```
public struct RTNetlink: Sendable {
    static let RTM_NEWLINK: UInt16 = 16, RTM_DELLINK: UInt16 = 17, RTM_NEWADDR: UInt16 = 20
    static let NLM_F_REQUEST: UInt16 = 0x1, NLM_F_ACK: UInt16 = 0x4, NLM_F_EXCL: UInt16 = 0x200, NLM_F_CREATE: UInt16 = 0x400
    static let NLMSG_ERROR: UInt16 = 2
    static let IFLA_IFNAME: UInt16 = 3, IFLA_LINKINFO: UInt16 = 18, IFLA_INFO_KIND: UInt16 = 1
    static let IFA_ADDRESS: UInt16 = 1, IFA_LOCAL: UInt16 = 2
    static let IFF_UP: UInt32 = 1

    public init() {}

    /// RTM_NEWLINK with IFLA_LINKINFO/IFLA_INFO_KIND `kind` ("dummy").
    public func createLink(_ name: String, kind: String = "dummy") throws(NodeSetupError) {
        var body = Self.ifinfomsg(index: 0, flags: 0, change: 0)
        body += Self.attribute(Self.IFLA_IFNAME, Array(name.utf8) + [0])
        body += Self.attribute(Self.IFLA_LINKINFO, Self.attribute(Self.IFLA_INFO_KIND, Array(kind.utf8)))
        try request(Self.RTM_NEWLINK, flags: Self.NLM_F_CREATE | Self.NLM_F_EXCL, body: body,
                    call: "rtnetlink RTM_NEWLINK (create \(kind) interface \(name))")
    }

    /// RTM_NEWLINK setting IFF_UP on an existing link.
    public func setUp(index: Int32, name: String) throws(NodeSetupError) {
        try request(Self.RTM_NEWLINK, flags: 0, body: Self.ifinfomsg(index: index, flags: Self.IFF_UP, change: Self.IFF_UP),
                    call: "rtnetlink RTM_NEWLINK (set \(name) up)")
    }

    /// RTM_NEWADDR: the address as a host address (/32, /128) on the link.
    public func addAddress(_ ip: IPAddress, index: Int32, name: String) throws(NodeSetupError) {
        var body: [UInt8] = [ip.isV6 ? UInt8(AF_INET6) : UInt8(AF_INET), ip.isV6 ? 128 : 32, 0, 0 /* RT_SCOPE_UNIVERSE */]
        body += Self.little(UInt32(bitPattern: index))
        body += Self.attribute(Self.IFA_LOCAL, ip.bytes)
        body += Self.attribute(Self.IFA_ADDRESS, ip.bytes)
        try request(Self.RTM_NEWADDR, flags: Self.NLM_F_CREATE | Self.NLM_F_EXCL, body: body,
                    call: "rtnetlink RTM_NEWADDR (add \(ip) to \(name))")
    }

    /// RTM_DELLINK: the link and its addresses go.
    public func deleteLink(index: Int32, name: String) throws(NodeSetupError) {
        try request(Self.RTM_DELLINK, flags: 0, body: Self.ifinfomsg(index: index, flags: 0, change: 0),
                    call: "rtnetlink RTM_DELLINK (delete \(name))")
    }

    private func request(_ type: UInt16, flags: UInt16, body: [UInt8], call: String) throws(NodeSetupError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else { throw Self.failure(call, "socket(AF_NETLINK)", errno) }
        defer { close(fd) }
        var message = Self.little(UInt32(16 + body.count)) + Self.little(type)
            + Self.little(flags | Self.NLM_F_REQUEST | Self.NLM_F_ACK) + Self.little(UInt32(1)) + Self.little(UInt32(0))
        message += body
        // Unaddressed, a netlink message goes to the kernel (port 0).
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { throw Self.failure(call, "send", errno) }
        var reply = [UInt8](repeating: 0, count: 8192)
        let received = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard received >= 20 else { throw Self.failure(call, "recv", received < 0 ? errno : EPROTO) }
        // The acknowledgement is an NLMSG_ERROR whose error is 0; otherwise it is the negated errno.
        let replyType = UInt16(reply[4]) | UInt16(reply[5]) << 8
        guard replyType == Self.NLMSG_ERROR else { throw Self.failure(call, "reply type \(replyType)", EPROTO) }
        let code = Int32(bitPattern: UInt32(reply[16]) | UInt32(reply[17]) << 8 | UInt32(reply[18]) << 16 | UInt32(reply[19]) << 24)
        if code != 0 { throw Self.failure(call, nil, -code) }
    }

    static func failure(_ call: String, _ step: String?, _ code: Int32) -> NodeSetupError {
        let text = String(cString: strerror(code))
        let hint = code == EPERM || code == EACCES ? " (fedns needs CAP_NET_ADMIN for node set-up)" : ""
        var error = NodeSetupError(operation: call, problem: (step.map { "\($0): " } ?? "") + text + hint)
        error.errno = code
        return error
    }

    static func ifinfomsg(index: Int32, flags: UInt32, change: UInt32) -> [UInt8] {
        [UInt8(AF_UNSPEC), 0, 0, 0] + little(UInt32(bitPattern: index)) + little(flags) + little(change)
    }

    static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var out = little(UInt16(4 + payload.count)) + little(type) + payload
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    static func little<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

/// The host's interfaces and addresses, read with getifaddrs(3).
public struct HostInterfaces: Sendable {
    /// Each interface's IPv4 and IPv6 addresses.
    public var addresses: [String: Set<IPAddress>] = [:]

    public static func read() -> HostInterfaces {
        var out = HostInterfaces()
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return out }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            let name = String(cString: entry.pointee.ifa_name)
            out.addresses[name, default: []].formUnion([])
            if let sa = entry.pointee.ifa_addr {
                switch Int32(sa.pointee.sa_family) {
                case AF_INET:
                    _ = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        out.addresses[name, default: []].insert(IPAddress(bytes: withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) }))
                    }
                case AF_INET6:
                    _ = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        out.addresses[name, default: []].insert(IPAddress(bytes: withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }))
                    }
                default:
                    break
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return out
    }

    public func addresses(except interface: String) -> Set<IPAddress> {
        addresses.filter { $0.key != interface }.values.reduce(into: Set()) { $0.formUnion($1) }
    }

    public static func index(of name: String) -> Int32? {
        let i = if_nametoindex(name)
        return i == 0 ? nil : Int32(i)
    }
}
