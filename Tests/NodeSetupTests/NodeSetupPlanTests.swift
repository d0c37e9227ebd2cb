@testable import NodeSetup
import Synchronization
import Testing

/// iptables as a rule list: `-C` answers 0 or 1, `-I` prepends, `-D` deletes one copy. `failing` makes
/// every call exit with that status and message (no permission, a broken binary).
final class FakeIPTables: CommandRunner {
    let state = Mutex<(rules: [String], calls: [String])>(([], []))
    let failing: (Int32, String)?
    init(failing: (Int32, String)? = nil) { self.failing = failing }

    func run(_ program: String, _ arguments: [String]) throws(NodeSetupError) -> (status: Int32, stderr: String) {
        if let failing { return failing }
        // ["-w", "-t", TABLE, OP, CHAIN, spec…]
        let op = arguments[3]
        let rule = ([program, arguments[2], arguments[4]] + arguments.dropFirst(5)).joined(separator: " ")
        return state.withLock { s in
            s.calls.append("\(program) \(op)")
            switch op {
            case "-C": return (s.rules.contains(rule) ? 0 : 1, s.rules.contains(rule) ? "" : "iptables: Bad rule (does a matching rule exist in that chain?).")
            case "-I": s.rules.insert(rule, at: 0); return (0, "")
            case "-D":
                guard let i = s.rules.firstIndex(of: rule) else { return (1, "Bad rule") }
                s.rules.remove(at: i); return (0, "")
            default: return (2, "unknown option \(op)")
            }
        }
    }
    var rules: [String] { state.withLock { $0.rules } }
}

func address(_ text: String, _ port: Int = 53) -> ListenAddress { ListenAddress(ip: IPAddress(text)!, port: port) }

@Suite struct NodeSetupPlanTests {
    /// node-cache's set for one address: NOTRACK both ways in raw, ACCEPT in filter, UDP and TCP.
    @Test func oneAddressGetsTheConntrackSkippingRulesOfNodeLocalDNSCache() {
        let rules = NodeSetupPlan.rules(for: [address("169.254.20.10")]).map(\.description)
        let c = "-m comment --comment \(IPTablesRule.comment)"
        var expected: [String] = []
        for p in ["udp", "tcp"] {
            expected += [
                "-t raw -A PREROUTING -p \(p) -d 169.254.20.10 --dport 53 \(c) -j NOTRACK",
                "-t raw -A OUTPUT -p \(p) -d 169.254.20.10 --dport 53 \(c) -j NOTRACK",
                "-t raw -A OUTPUT -p \(p) -s 169.254.20.10 --sport 53 \(c) -j NOTRACK",
                "-t filter -A INPUT -p \(p) -d 169.254.20.10 --dport 53 \(c) -j ACCEPT",
                "-t filter -A OUTPUT -p \(p) -s 169.254.20.10 --sport 53 \(c) -j ACCEPT",
            ]
        }
        #expect(rules == expected)
    }

    @Test(arguments: [
        // (listen addresses, addresses node set-up looks after)
        (["169.254.20.10:53", "10.96.0.10:53"], ["169.254.20.10:53", "10.96.0.10:53"]),
        (["169.254.20.10:53", "169.254.20.10:53"], ["169.254.20.10:53"]),
        (["0.0.0.0:53", "127.0.0.1:53", "::1:53", ":::53", "169.254.20.10:5353"], ["169.254.20.10:5353"]),
        (["fd00::10:53"], ["[fd00::10]:53"]),
    ])
    func wildcardLoopbackAndRepeatedAddressesAreLeftOut(listen: [String], kept: [String]) {
        let parsed = listen.map { text -> ListenAddress in
            let cut = text.lastIndex(of: ":")!
            return address(String(text[..<cut]), Int(text[text.index(after: cut)...])!)
        }
        #expect(NodeSetupPlan.uniqueSpecific(parsed).map(\.description) == kept)
    }

    @Test func ipv6AddressesUseIp6tables() {
        let rules = NodeSetupPlan.rules(for: [address("fd00::10"), address("169.254.20.10")])
        #expect(rules.filter(\.ipv6).count == 10)
        #expect(rules.filter(\.ipv6).allSatisfy { $0.spec.contains("fd00::10") })
        let tables = IPTables(iptables: "/sbin/iptables", ip6tables: "/sbin/ip6tables", runner: FakeIPTables())
        #expect(tables.command(rules[0], "-C").0 == "/sbin/ip6tables")
        #expect(tables.command(rules[10], "-C").0 == "/sbin/iptables")
    }

    @Test func theInterfaceHoldsOnlyAddressesNoOtherInterfaceHas() {
        let listen = [address("169.254.20.10"), address("10.96.0.10"), address("192.168.1.5")]
        let elsewhere: Set<IPAddress> = [IPAddress("192.168.1.5")!]
        #expect(NodeSetupPlan.interfaceAddresses(for: listen, elsewhere: elsewhere).map(\.text) == ["169.254.20.10", "10.96.0.10"])
    }

    @Test func twoStartsLeaveEachRuleExactlyOnce() throws {
        let fake = FakeIPTables()
        let tables = IPTables(iptables: "iptables", ip6tables: "ip6tables", runner: fake)
        let rules = NodeSetupPlan.rules(for: [address("169.254.20.10"), address("10.96.0.10")])
        let added = try rules.filter { try tables.ensure($0) }
        #expect(added.count == 20)
        let again = try rules.filter { try tables.ensure($0) }
        #expect(again.isEmpty)
        #expect(fake.rules.count == 20)
        #expect(Set(fake.rules).count == 20)
    }

    @Test func aRemovedRuleIsPutBackAndOnlyIt() throws {
        let fake = FakeIPTables()
        let tables = IPTables(iptables: "iptables", ip6tables: "ip6tables", runner: fake)
        let rules = NodeSetupPlan.rules(for: [address("169.254.20.10")])
        for r in rules { try tables.ensure(r) }
        fake.state.withLock { $0.rules.removeAll { $0.contains("PREROUTING") && $0.contains("udp") } }
        let added = try rules.filter { try tables.ensure($0) }
        #expect(added.map(\.description) == [rules[0].description])
        #expect(fake.rules.count == 10)
    }

    @Test func removeDeletesEveryCopy() throws {
        let fake = FakeIPTables()
        let tables = IPTables(iptables: "iptables", ip6tables: "ip6tables", runner: fake)
        let rule = NodeSetupPlan.rules(for: [address("169.254.20.10")])[0]
        fake.state.withLock { s in
            let text = (["iptables", rule.table, rule.chain] + rule.spec).joined(separator: " ")
            s.rules = [text, "iptables filter INPUT -j other", text]
        }
        try tables.remove(rule)
        #expect(fake.rules == ["iptables filter INPUT -j other"])
    }

    @Test func aFailingCommandIsNamedWithItsMessage() {
        let fake = FakeIPTables(failing: (4, "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)"))
        let tables = IPTables(iptables: "iptables", ip6tables: "ip6tables", runner: fake)
        let rule = NodeSetupPlan.rules(for: [address("169.254.20.10")])[0]
        #expect {
            try tables.ensure(rule)
        } throws: { error in
            let text = "\(error)"
            return text.contains("iptables -w -t raw -C PREROUTING -p udp -d 169.254.20.10") && text.contains("exit status 4")
                && text.contains("CAP_NET_ADMIN")
        }
    }

    @Test func aMissingBinaryIsNamed() {
        #expect {
            _ = try ProcessRunner().run("/nonexistent/iptables", ["-w", "-t", "raw", "-S"])
        } throws: { error in
            "\(error)".contains("/nonexistent/iptables not found") && "\(error)".contains("iptables (nft backend)")
        }
    }

    /// rtattr payloads are padded to four bytes and the length counts the header but not the padding.
    @Test func netlinkAttributesArePaddedToFourBytes() {
        #expect(RTNetlink.attribute(3, Array("nodelocaldns".utf8) + [0]) == [17, 0, 3, 0] + Array("nodelocaldns".utf8) + [0, 0, 0, 0])
        #expect(RTNetlink.attribute(1, Array("dummy".utf8)) == [9, 0, 1, 0] + Array("dummy".utf8) + [0, 0, 0])
    }
}
