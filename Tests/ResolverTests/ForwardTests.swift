import Clocks
import DNSWire
import NameExpansion
import NIOCore
import NIOPosix
@testable import Resolver
import Synchronization
import Testing
import YAMLReader

/// Forwarder tests over real loopback sockets against scripted upstreams (STYLE §5, §11).
@Suite("Forward")
struct ForwardTests {
    typealias F = ForwardFixtures
    /// A loop of their own: in a full `swift test` other suites keep the shared singleton's loops busy, and a
    /// forwarder's channel work queued behind them missed these tests' short timeouts.
    static let ownGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let group = ForwardTests.ownGroup
    static let unused = Next { Response.error(.refused, to: $0) }
    static let good = "www.example.com. 300 IN A 192.0.2.1"

    /// Tests that count tries or transports must not see a retry caused by a slow, loaded machine: the default
    /// per-try timeout is far above any scheduling delay; tests about timeouts pass their own.
    /// A test that needs an answer and no timeout at all passes `never`: on the system clock the budget (at
    /// most 5 s) can run out while CPU-bound tests hold the cooperative threads (the test process has been
    /// seen to stall 6 s), before the query's task runs again to try the next upstream.
    func forwarder(_ upstreams: [Upstream], stubs: [DomainName: [Upstream]] = [:], tryTimeoutMs: UInt64 = 2500,
                   budgetMs: UInt64 = 4900, failuresBeforeDown: Int = 2, probeIntervalMs: UInt64 = 3000,
                   time: any TimeSource = SystemTimeSource()) throws -> ForwardHandler {
        try ForwardHandler(config: ForwardConfig(upstreams: upstreams, stubDomains: stubs,
                                                 tryTimeoutNanoseconds: tryTimeoutMs * 1_000_000,
                                                 budgetNanoseconds: budgetMs * 1_000_000,
                                                 failuresBeforeDown: failuresBeforeDown,
                                                 probeIntervalNanoseconds: probeIntervalMs * 1_000_000), group: group, time: time)
    }

    /// A clock that never moves: no try times out and the budget never runs out.
    static let never = ManualClock()

    func server(host: String = "127.0.0.1", _ script: @escaping ScriptedUpstream.Script) async throws -> ScriptedUpstream {
        try await ScriptedUpstream(host: host, group: group, script: script)
    }

    // MARK: RFC 5452 invariants

    @Test func randomIDs() async throws {
        let upstream = try await server(ScriptedUpstream.answering([Self.good]))
        let forward = try forwarder([upstream.upstream], time: Self.never)
        for _ in 0..<64 { _ = await forward.handle(F.request("www.example.com."), next: Self.unused) }
        let ids = upstream.received.map { Int($0.message.header.id) }
        #expect(ids.count == 64)
        #expect(Set(ids).count >= 60, "IDs repeat: \(ids)")
        let sequential = zip(ids, ids.dropFirst()).filter { abs($0.1 - $0.0) <= 1 }.count
        #expect(sequential <= 2, "IDs look sequential: \(ids)")
        #expect(!ids.contains(Int(F.request("www.example.com.").message.header.id)) || Set(ids).count > 1,
                "the client's ID is not reused upstream")
        await upstream.stop()
    }

    @Test func freshSourcePorts() async throws {
        let upstream = try await server(ScriptedUpstream.answering([Self.good]))
        let forward = try forwarder([upstream.upstream], time: Self.never)
        for _ in 0..<32 { _ = await forward.handle(F.request("www.example.com."), next: Self.unused) }
        let ports = upstream.received.map(\.sourcePort)
        #expect(ports.count == 32)
        #expect(Set(ports).count >= 28, "source ports repeat: \(ports)")
        let sequential = zip(ports, ports.dropFirst()).filter { abs($0.1 - $0.0) <= 1 }.count
        #expect(sequential <= 2, "source ports look sequential: \(ports)")
        await upstream.stop()
    }

    enum Mismatch: String, CaseIterable, Sendable {
        case wrongID, wrongName, wrongType, wrongClass, notAResponse, fromOtherPort, fromOtherAddress
    }

    /// Each mismatching reply (carrying a poisoned address) comes first; the right one follows and wins.
    @Test(arguments: Mismatch.allCases)
    func replyMustMatchSourceIDAndQuestion(_ mismatch: Mismatch) async throws {
        let upstream = try await server { query, _ in
            var bad = ScriptedUpstream.reply(to: query, ["www.example.com. 300 IN A 192.0.2.66"])
            let poisoned: ScriptedUpstream.Action
            switch mismatch {
            case .wrongID: bad.header.id ^= 0x0101; poisoned = .raw(WireCodec.encode(bad))
            case .wrongName: bad.questions = [Question(name: try! DomainName("evil.example.com."), type: .a)]; poisoned = .raw(WireCodec.encode(bad))
            case .wrongType: bad.questions = [Question(name: query.question!.name, type: .aaaa)]; poisoned = .raw(WireCodec.encode(bad))
            case .wrongClass: bad.questions = [Question(name: query.question!.name, type: .a, class: .chaos)]; poisoned = .raw(WireCodec.encode(bad))
            case .notAResponse: bad.header.isResponse = false; poisoned = .raw(WireCodec.encode(bad))
            case .fromOtherPort: poisoned = .fromOtherSocket(host: "127.0.0.1", WireCodec.encode(bad))
            case .fromOtherAddress: poisoned = .fromOtherSocket(host: "127.0.0.2", WireCodec.encode(bad))
            }
            return [poisoned, .delay(milliseconds: 50), .reply(ScriptedUpstream.reply(to: query, [Self.good]))]
        }
        let forward = try forwarder([upstream.upstream], time: Self.never)
        let response = await forward.handle(F.request("www.example.com."), next: Self.unused)
        #expect(response.rcode == .noError)
        F.expectSections(response.message, answer: [Self.good])
        #expect(upstream.queryCount == 1, "the right reply arrived within the same try")
        await upstream.stop()
    }

    @Test(arguments: [
        ("empty datagram", [UInt8]()),
        ("one byte", [0x42]),
        ("eleven bytes", [UInt8](repeating: 0xff, count: 11)),
        ("garbage", (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }),
    ])
    func junkDoesNotEndTheWait(_ name: String, _ junk: [UInt8]) async throws {
        let upstream = try await server { query, _ in
            // Also a header with the right ID and QR=1 whose body is cut short.
            let id = query.header.id
            let cut: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 0x77]
            return [.raw(junk), .raw(cut), .delay(milliseconds: 30), .reply(ScriptedUpstream.reply(to: query, [Self.good]))]
        }
        let forward = try forwarder([upstream.upstream], time: Self.never)
        let response = await forward.handle(F.request("www.example.com."), next: Self.unused)
        #expect(response.rcode == .noError)
        F.expectSections(response.message, answer: [Self.good])
        await upstream.stop()
    }

    // MARK: transport and failure

    @Test func truncatedReplyIsRetriedOverTCP() async throws {
        let many = (1...40).map { "big.example.com. 300 IN A 10.0.0.\($0)" }
        let upstream = try await server { query, proto in
            switch proto {
            case .udp:
                var tc = ScriptedUpstream.reply(to: query)
                tc.header.truncated = true
                return [.reply(tc)]
            case .tcp:
                return [.reply(ScriptedUpstream.reply(to: query, many))]
            }
        }
        let forward = try forwarder([upstream.upstream], time: Self.never)
        let response = await forward.handle(F.request("big.example.com."), next: Self.unused)
        #expect(response.rcode == .noError)
        #expect(!response.message.header.truncated)
        F.expectSections(response.message, answer: many)
        #expect(upstream.received.map(\.proto) == [.udp, .tcp])
        await upstream.stop()
    }

    /// On a manual clock, so a loaded machine cannot stretch the wait: tries go out at 0, 300, ..., 1800 ms
    /// (the last one cut to the 200 ms left), and the query ends exactly when the 2 s budget is spent.
    @Test func timeoutIsServfailWithEDE22WithinBudget() async throws {
        let upstream = try await server(ScriptedUpstream.drop)
        let clock = ManualClock()
        let budget: UInt64 = 2_000_000_000
        let forward = try forwarder([upstream.upstream], tryTimeoutMs: 300, budgetMs: budget / 1_000_000, time: clock)
        let start = clock.nowNanoseconds()
        // A try is cut short only once its query has reached the upstream.
        let (response, waits) = try await F.drive(clock, when: { upstream.queryCount > $0 }) {
            await forward.handle(F.request("www.example.com."), next: Self.unused)
        }
        #expect(response.rcode == .servFail)
        #expect(response.message.edns?.extendedError == .noReachableAuthority)
        #expect(waits.allSatisfy { $0 <= start + budget }, "no try outlives the budget")
        #expect(clock.nowNanoseconds() - start == budget, "the budget bounds the wait")
        #expect(waits.count == 7, "timed-out tries are retried while the budget lasts")
        #expect(upstream.queryCount == 7)
        await upstream.stop()
    }

    @Test func refusedPortIsServfailWithEDE23() async throws {
        let closed = try await ScriptedUpstream.closedPort(group: group)
        // A try that timed out would be EDE 22 (no reachable authority): EDE 23 shows the ICMP
        // port unreachable ended it: on a clock that never moves, no try can time out.
        let forward = try forwarder([closed], time: Self.never)
        let response = await forward.handle(F.request("www.example.com."), next: Self.unused)
        #expect(response.rcode == .servFail)
        #expect(response.message.edns?.extendedError == .networkError)
    }

    /// A try's socket is closed when the try ends, whatever ended it: a reply, a timeout kept by the reader
    /// thread (system clock), a timeout on another clock (the try is cancelled), ICMP port unreachable.
    /// A try closes its socket before the query returns; the bound only covers a copy of the descriptor that a
    /// process spawned meanwhile by another test holds until its exec (close-on-exec).
    func closesSoon(_ upstream: Upstream) async -> Bool {
        await SystemTimeSource.poll(within: 10) { F.socketsConnected(to: upstream) == 0 }
    }

    @Test func everyTrySocketIsClosedWhenTheTryEnds() async throws {
        let answering = try await server(ScriptedUpstream.answering([Self.good]))
        let answered = try await forwarder([answering.upstream]).handle(F.request("www.example.com."), next: Self.unused)
        #expect(answered.rcode == .noError)
        #expect(await closesSoon(answering.upstream), "after a reply")

        let silent = try await server(host: "127.0.0.7", ScriptedUpstream.drop)
        let timedOut = try await forwarder([silent.upstream], tryTimeoutMs: 50, budgetMs: 120).handle(F.request("www.example.com."), next: Self.unused)
        #expect(timedOut.message.edns?.extendedError == .noReachableAuthority)
        #expect(await closesSoon(silent.upstream), "after timeouts on the system clock")

        let clock = ManualClock()
        let forward = try forwarder([silent.upstream], tryTimeoutMs: 300, budgetMs: 600, time: clock)
        // Each try is cut short only once its socket is seen open: the count sees a live try.
        let (cancelled, waits) = try await F.drive(clock, when: { _ in F.socketsConnected(to: silent.upstream) == 1 }) {
            await forward.handle(F.request("www.example.com."), next: Self.unused)
        }
        #expect(cancelled.message.edns?.extendedError == .noReachableAuthority && waits.count == 2)
        #expect(await closesSoon(silent.upstream), "after tries cancelled by a manual clock's timeout")

        let closed = try await ScriptedUpstream.closedPort(group: group)
        let refused = try await forwarder([closed], tryTimeoutMs: 4000, budgetMs: 4900).handle(F.request("www.example.com."), next: Self.unused)
        #expect(refused.message.edns?.extendedError == .networkError)
        #expect(await closesSoon(closed), "after port unreachable")
        await answering.stop()
        await silent.stop()
    }

    @Test func failoverToTheNextUpstream() async throws {
        let silent = try await server(host: "127.0.0.3", ScriptedUpstream.drop)
        let closed = try await ScriptedUpstream.closedPort(host: "127.0.0.4", group: group)
        let answering = try await server(host: "127.0.0.5", ScriptedUpstream.answering([Self.good]))
        let clock = ManualClock()
        let forward = try forwarder([silent.upstream, closed, answering.upstream], tryTimeoutMs: 250, budgetMs: 2000, time: clock)
        // The silent upstream's try times out once it has the query; the others end on their own.
        let (response, _) = try await F.drive(clock, cutShort: 1, when: { _ in silent.queryCount == 1 }) {
            await forward.handle(F.request("www.example.com."), next: Self.unused)
        }
        #expect(response.rcode == .noError)
        F.expectSections(response.message, answer: [Self.good])
        #expect(silent.queryCount == 1)
        #expect(answering.queryCount == 1)
        await silent.stop(); await answering.stop()
    }

    @Test func servfailFromOneUpstreamTriesTheNext() async throws {
        let failing = try await server { q, _ in [.reply(ScriptedUpstream.reply(to: q, rcode: .servFail))] }
        let answering = try await server(ScriptedUpstream.answering([Self.good]))
        let both = try forwarder([failing.upstream, answering.upstream], time: Self.never)
        let response = await both.handle(F.request("www.example.com."), next: Self.unused)
        F.expectSections(response.message, answer: [Self.good])

        let only = try forwarder([failing.upstream])
        let passed = await only.handle(F.request("www.example.com."), next: Self.unused)
        #expect(passed.rcode == .servFail, "the upstream's own SERVFAIL goes through when no upstream does better")
        #expect(!only.isDown(failing.upstream), "an upstream that answers is not down")
        await failing.stop(); await answering.stop()
    }

    @Test func failingUpstreamIsMarkedDownAndProbedBack() async throws {
        let flaky = try await server(host: "127.0.0.6", ScriptedUpstream.drop)
        let steady = try await server(host: "127.0.0.7", ScriptedUpstream.answering([Self.good]))
        let clock = ManualClock()
        let forward = try forwarder([flaky.upstream, steady.upstream], tryTimeoutMs: 1000, budgetMs: 3000,
                                    failuresBeforeDown: 2, probeIntervalMs: 100, time: clock)
        for sent in 1...2 {
            // The silent upstream's try times out once it has the query; the steady one answers on its own.
            let (response, _) = try await F.drive(clock, cutShort: 1, when: { _ in flaky.queryCount == sent }) {
                await forward.handle(F.request("www.example.com."), next: Self.unused)
            }
            #expect(response.rcode == .noError)
        }
        #expect(forward.isDown(flaky.upstream))
        #expect(flaky.queryCount == 2)

        // No try may wait out the down upstream's timeout: the query has to end with the clock standing still.
        let (response, _) = try await F.drive(clock, cutShort: 0) { await forward.handle(F.request("www.example.com."), next: Self.unused) }
        #expect(response.rcode == .noError)
        #expect(flaky.queryCount == 2, "a down upstream is tried after the healthy ones")

        flaky.setScript(ScriptedUpstream.answering([Self.good]))
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await forward.runHealthProbes() }
            // A probe interval of virtual time every 20 ms: a probe's 1 s timeout takes 200 ms of real time
            // to run out, far longer than the loopback answer takes; one that does time out is tried again.
            for _ in 0..<1500 where forward.isDown(flaky.upstream) {
                clock.advance(nanoseconds: 100_000_000)
                try? await Task.sleep(for: .milliseconds(20))
            }
            tasks.cancelAll()
        }
        #expect(!forward.isDown(flaky.upstream), "a probe brought it back")
        #expect(flaky.received.last?.message.question == Question(name: .root, type: .ns), "the probe asks . NS")
        let before = flaky.queryCount
        _ = try await F.drive(clock, cutShort: 0) { await forward.handle(F.request("www.example.com."), next: Self.unused) }
        #expect(flaky.queryCount == before + 1, "it is first in line again")
        await flaky.stop(); await steady.stop()
    }

    // MARK: coalescing, routing, reply shape

    @Test func identicalInFlightQueriesAreCoalesced() async throws {
        // The upstream stays silent and the clock still until every query has joined or gone out.
        let upstream = try await server(ScriptedUpstream.drop)
        let clock = ManualClock()
        let forward = try forwarder([upstream.upstream], tryTimeoutMs: 4000, budgetMs: 4900, time: clock)
        let joined = { (sent: Int, followers: Int) in
            await SystemTimeSource.poll(within: 30) { upstream.queryCount == sent && forward.inFlight.followers == followers }
        }
        async let first = forward.handle(F.request("www.example.com.", id: 1), next: Self.unused)
        try #require(await joined(1, 0), "the first query goes out")
        async let second = forward.handle(F.request("WWW.example.COM.", id: 2), next: Self.unused)
        try #require(await joined(1, 1), "the second, the same question in other case, waits on the first")
        async let withDO = forward.handle(F.request("www.example.com.", id: 3, dnssecOK: true), next: Self.unused)
        try #require(await joined(2, 1), "DO=1 is another question upstream: it goes out on its own")
        // Both tries time out; the retries (budget left) are answered.
        upstream.setScript(ScriptedUpstream.answering([Self.good]))
        clock.advance(nanoseconds: 4_000_000_000)
        let (a, b, c) = await (first, second, withDO)
        #expect(a.message.header.id == 1 && b.message.header.id == 2 && c.message.header.id == 3)
        #expect(b.message.question?.name.labels == ["WWW", "example", "COM"], "each waiter gets its own question back")
        F.expectSections(a.message, answer: [Self.good]); F.expectSections(b.message, answer: [Self.good])
        F.expectSections(c.message, answer: [Self.good])
        let asked = upstream.received.compactMap { $0.message.question?.name.labels.first }
        #expect(!asked.contains("WWW"), "the follower asked nothing")
        #expect(upstream.queryCount == 4, "two tries for the two identical queries, two for DO=1")
        await upstream.stop()
    }

    /// STYLE §7: waiting queries are bounded; past `maxConcurrent` a query is refused at once.
    @Test func queriesBeyondMaxConcurrentAreRefusedAtOnce() async throws {
        // Two queries hold both slots, waiting on a silent upstream while the clock stands still.
        let upstream = try await server(ScriptedUpstream.drop)
        let clock = ManualClock()
        let forward = try ForwardHandler(config: ForwardConfig(upstreams: [upstream.upstream], tryTimeoutNanoseconds: 4_000_000_000,
                                                               budgetNanoseconds: 4_900_000_000, maxConcurrent: 2),
                                         group: group, time: clock)
        async let a = forward.handle(F.request("a.example.com.", id: 1), next: Self.unused)
        async let b = forward.handle(F.request("b.example.com.", id: 2), next: Self.unused)
        try #require(await SystemTimeSource.poll(within: 30) { clock.sleeperCount == 2 }, "both queries wait on the upstream")
        // A third query that waited for a slot would never end: the clock does not move until it has.
        let (c, _) = try await F.drive(clock, cutShort: 0) { await forward.handle(F.request("c.example.com.", id: 3), next: Self.unused) }
        #expect(c.rcode == .refused && c.message.edns?.extendedError == .other)
        clock.advance(seconds: 5)
        let (ra, rb) = await (a, b)
        #expect(ra.rcode == .servFail && rb.rcode == .servFail, "the holders ran out their budget")
        upstream.setScript(ScriptedUpstream.answering([Self.good]))
        let (d, _) = try await F.drive(clock, cutShort: 0) { await forward.handle(F.request("d.example.com.", id: 4), next: Self.unused) }
        #expect(d.rcode == .noError, "the slots are free again")
        await upstream.stop()
    }

    @Test func stubDomainLongestSuffixWins() async throws {
        let fallback = try await server { q, _ in [.reply(ScriptedUpstream.reply(to: q, ["\(q.question!.name) 60 IN A 192.0.2.10"]))] }
        let example = try await server { q, _ in [.reply(ScriptedUpstream.reply(to: q, ["\(q.question!.name) 60 IN A 192.0.2.20"]))] }
        let corp = try await server { q, _ in [.reply(ScriptedUpstream.reply(to: q, ["\(q.question!.name) 60 IN A 192.0.2.30"]))] }
        let forward = try forwarder([fallback.upstream], stubs: [
            try DomainName("example."): [example.upstream],
            try DomainName("corp.example."): [corp.upstream],
        ])
        for (name, address) in [("a.corp.example.", "192.0.2.30"), ("CORP.example.", "192.0.2.30"), ("b.example.", "192.0.2.20"),
                                ("xcorp.example.", "192.0.2.20"), ("other.org.", "192.0.2.10")] {
            let r = await forward.handle(F.request(name), next: Self.unused)
            #expect(r.message.answer.first.map { IPAddress.text($0.rdata) } == address, "\(name)")
        }
        await fallback.stop(); await example.stop(); await corp.stop()
    }

    @Test func queryUpstreamCarriesEDNSAndTheClientsDOAndCD() async throws {
        let upstream = try await server(ScriptedUpstream.answering([Self.good]))
        let forward = try forwarder([upstream.upstream], time: Self.never)
        _ = await forward.handle(F.request("www.example.com.", edns: false, dnssecOK: false, checkingDisabled: true), next: Self.unused)
        _ = await forward.handle(F.request("www.example.com.", dnssecOK: true), next: Self.unused)
        let sent = upstream.received.map(\.message)
        #expect(sent.map { $0.edns?.udpPayloadSize } == [1232, 1232])
        #expect(sent.map { $0.edns?.dnssecOK } == [false, true])
        #expect(sent.map(\.header.checkingDisabled) == [true, false])
        #expect(sent.allSatisfy { $0.header.recursionDesired })
        await upstream.stop()
    }

    @Test func replyIsShapedForTheClient() async throws {
        let upstream = try await server { q, _ in
            var m = ScriptedUpstream.reply(to: q, [Self.good])
            m.header.recursionAvailable = false
            m.edns?.options = [EDNSOption(code: 3, data: Array("nsid".utf8))]
            return [.reply(m)]
        }
        let forward = try forwarder([upstream.upstream], time: Self.never)
        let plain = await forward.handle(F.request("Www.Example.com.", id: 0x4242, edns: false), next: Self.unused)
        #expect(plain.message.header.id == 0x4242)
        #expect(plain.message.question?.name.labels == ["Www", "Example", "com"])
        #expect(plain.message.header.recursionAvailable)
        #expect(plain.message.edns == nil, "no OPT for a client that sent none")
        let withEDNS = await forward.handle(F.request("www.example.com.", dnssecOK: true), next: Self.unused)
        #expect(withEDNS.message.edns == EDNS(udpPayloadSize: 1232, dnssecOK: true), "the upstream's own options are not passed on")
        await upstream.stop()
    }

    // MARK: configuration

    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1:53"), ("10.0.0.1:5353", "10.0.0.1:5353"), ("fd00::1", "[fd00::1]:53"),
        ("[fd00::1]", "[fd00::1]:53"), ("[FD00:0::1]:5300", "[fd00::1]:5300"), (" 127.0.0.1:53 ", "127.0.0.1:53"),
    ])
    func upstreamParsing(_ text: String, _ expected: String) throws {
        #expect(try Upstream(parsing: text).description == expected)
    }

    @Test(arguments: ["dns.example", "10.0.0.1:0", "10.0.0.1:70000", "[fd00::1", "[fd00::1]53", "10.0.0.1:x", ""])
    func badUpstreamsAreRejected(_ text: String) {
        #expect(throws: ConfigError.self) { try Upstream(parsing: text) }
    }

    @Test func upstreamsFromResolvConf() throws {
        let text = "# cluster\nsearch svc.cluster.local\nnameserver 10.0.0.10\nnameserver fd00::10\n;nameserver 10.9.9.9\noptions ndots:5\n"
        #expect(try Upstream.fromResolvConf(text).map(\.description) == ["10.0.0.10:53", "[fd00::10]:53"])
    }

    @Test(arguments: [
        (["127.0.0.1:53"], ["127.0.0.1:53"], [:], "upstreams"),
        (["0.0.0.0:53"], ["127.0.0.53:53"], [:], "upstreams"),
        (["[::]:53"], ["[::1]:53"], [:], "upstreams"),
        (["169.254.20.10:53"], ["10.0.0.10:53"], ["corp.example.": ["169.254.20.10:53"]], "stubDomains.corp.example"),
    ] as [([String], [String], [String: [String]], String)])
    func refusesItsOwnListenAddress(_ listen: [String], _ upstreams: [String], _ stubs: [String: [String]], _ field: String) throws {
        var config = ForwardConfig(upstreams: try upstreams.map { try Upstream(parsing: $0) },
                                   listenAddresses: try listen.map { try Upstream(parsing: $0) })
        for (suffix, servers) in stubs { config.stubDomains[try DomainName(suffix)] = try servers.map { try Upstream(parsing: $0) } }
        let group = self.group
        #expect {
            _ = try ForwardHandler(config: config, group: group)
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            return e.field == field && e.problem.contains("listen address") && e.description.contains(":53")
        }
    }

    @Test func stubDomainRoutingTable() throws {
        let d = try Upstream(parsing: "10.0.0.1"), a = try Upstream(parsing: "10.0.0.2"), b = try Upstream(parsing: "10.0.0.3")
        let config = ForwardConfig(upstreams: [d], stubDomains: [try DomainName("example."): [a], try DomainName("x.corp.example."): [b]])
        #expect(config.upstreams(for: try DomainName("example.")) == [a])
        #expect(config.upstreams(for: try DomainName("y.x.corp.example.")) == [b])
        #expect(config.upstreams(for: try DomainName("corp.example.")) == [a])
        #expect(config.upstreams(for: try DomainName("example.org.")) == [d])
    }
}
