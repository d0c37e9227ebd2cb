import Conformance
import DNSWire
import Testing

/// The runner reports failures usefully, and the parser names what is wrong.
struct RunnerTests {
    static let cluster = """
    config:
      clusterDomain: cluster.local
    cluster:
      - apiVersion: v1
        kind: Service
        metadata: {name: nginx, namespace: mynamespace}
        spec: {type: ClusterIP, clusterIP: 10.96.10.10, clusterIPs: [10.96.10.10], ports: [{name: http, port: 80, protocol: TCP}]}

    """

    func run(_ yaml: String) async throws -> ScenarioResult {
        let scenario = try ScenarioParser.parse(yaml, path: "inline.yaml")
        return await Suite(mode: .inProcess).run(scenario)
    }

    @Test func wrongAnswerIsReportedWithADiff() async throws {
        let result = try await run(Self.cluster + """
        steps:
          - query: {name: nginx.mynamespace.svc.cluster.local., type: A}
            expect:
              answer: nginx.mynamespace.svc.cluster.local. 5 IN A 10.96.10.99
        """)
        #expect(result.status == .fail)
        let report = Suite.line(result)
        #expect(report.hasPrefix("FAIL "))
        #expect(report.contains("step 1 (query nginx.mynamespace.svc.cluster.local. A over udp)"))
        #expect(report.contains("- nginx.mynamespace.svc.cluster.local.\t5\tIN\tA\t10.96.10.99"))
        #expect(report.contains("+ nginx.mynamespace.svc.cluster.local.\t5\tIN\tA\t10.96.10.10"))
        #expect(report.contains(";; ANSWER SECTION:"), "the received message is shown")
    }

    @Test func wrongRcodeTTLAndEDEAreEachReported() async throws {
        let result = try await run(Self.cluster + """
        steps:
          - query: {name: nginx.mynamespace.svc.cluster.local., type: A}
            expect:
              rcode: NXDOMAIN
              ede: 22
              answer: nginx.mynamespace.svc.cluster.local. 300 IN A 10.96.10.10
        """)
        let report = Suite.line(result)
        #expect(report.contains("rcode: expected NXDOMAIN, got NOERROR"))
        #expect(report.contains("ede: expected 22, got none"))
        #expect(report.contains("- nginx.mynamespace.svc.cluster.local.\t300\tIN\tA\t10.96.10.10"))
    }

    @Test func ignoredTTLPasses() async throws {
        let result = try await run(Self.cluster + """
        steps:
          - query: {name: nginx.mynamespace.svc.cluster.local., type: A}
            expect:
              ttl: ignore
              answer: nginx.mynamespace.svc.cluster.local. 300 IN A 10.96.10.10
        """)
        #expect(result.status == .ok, "\(Suite.line(result))")
    }

    @Test func cnameOrderIsChecked() async throws {
        let result = try await run("""
        config:
          clusterDomain: cluster.local
          upstreams: ["127.0.0.53:53"]
        upstreams:
          - address: 127.0.0.53:53
            entries:
              - reply:
                  answer: |
                    www.example.org. 60 IN CNAME a.example.org.
                    a.example.org. 60 IN CNAME b.example.org.
                    b.example.org. 60 IN A 192.0.2.1
        steps:
          - query: {name: www.example.org., type: A}
            expect:
              answer: |
                a.example.org. 60 IN CNAME b.example.org.
                www.example.org. 60 IN CNAME a.example.org.
                b.example.org. 60 IN A 192.0.2.1
        """)
        #expect(result.status == .fail)
        #expect(Suite.line(result).contains("CNAMEs out of order"))
    }

    @Test func unexpectedUpstreamTrafficListsWhatWasAsked() async throws {
        let result = try await run("""
        config:
          clusterDomain: cluster.local
          upstreams: ["127.0.0.53:53"]
        upstreams:
          - name: public
            address: 127.0.0.53:53
            entries:
              - reply:
                  answer: www.example.org. 60 IN A 192.0.2.1
        steps:
          - query: {name: www.example.org., type: A}
            expect:
              answer: www.example.org. 60 IN A 192.0.2.1
          - expectUpstream: {upstream: public, count: 0}
        """)
        let report = Suite.line(result)
        #expect(result.status == .fail)
        #expect(report.contains("expected 0, got 1"))
        #expect(report.contains("public got www.example.org. A over udp at step 1"))
    }

    @Test func anAnswerWhereNoneWasExpectedFails() async throws {
        let result = try await run(Self.cluster + """
        steps:
          - query: {name: nginx.mynamespace.svc.cluster.local., type: A}
            expect: noResponse
        """)
        #expect(result.status == .fail)
        #expect(Suite.line(result).contains("expected no response"))
    }

    /// A parse error names the file, the line and the key.
    @Test(arguments: [
        ("steps: []", "bad.yaml:1: steps: at least one step is required"),
        ("steps:\n  - query: {name: a., type: A}\n    expect: {rcode: NOPE}", "bad.yaml:3: steps[0].expect.rcode: unknown rcode 'NOPE'"),
        ("steps:\n  - query: {name: a., type: A}\n    expect: {answr: ''}", "bad.yaml:3: steps[0].expect.answr: unknown key"),
        ("steps:\n  - query: {name: a., type: A}\n    expect: {answer: 'a. 5 IN A 300.1.1.1'}", "bad.yaml:3: steps[0].expect.answer: zone text"),
        ("tags: [static]\nupstreams: [{address: '127.0.0.53:53'}]\nsteps:\n  - timePasses: 1", "bad.yaml:1: tags: a static scenario has no upstreams"),
        ("steps:\n  - expectUpstream: {upstream: nobody}", "bad.yaml:2: steps[0].expectUpstream.upstream: no upstream named 'nobody'"),
        ("config:\n  clusterDomain: cluster.local\n  cache: {maxEntries: -1}\nsteps:\n  - timePasses: 1", "bad.yaml:3: config.cache.maxEntries: must not be negative"),
        ("config:\n  clusterDomain: cluster.local\n  ttl: 99999\nsteps:\n  - timePasses: 1", "bad.yaml:3: config.ttl: 99999 is outside"),
        ("name: x\nsteps:\n  - timePasses: 1\n  - query: 'a. A'\n    expect:\n      rcode: NOERROR\n      answr: x", "bad.yaml:7: steps[1].expect.answr: unknown key"),
    ])
    func parseErrorsNameTheField(_ yaml: String, _ message: String) {
        #expect {
            _ = try ScenarioParser.parse(yaml, path: "bad.yaml")
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test func summaryAndJUnit() {
        let results = [
            ScenarioResult(name: "a", path: "a.yaml", status: .ok, messages: [], seconds: 0.1),
            ScenarioResult(name: "b <x>", path: "b.yaml", status: .fail, messages: ["step 1: rcode: expected A, got B"], seconds: 0.2),
            ScenarioResult(name: "c", path: "c.yaml", status: .skip, messages: ["not static"], seconds: 0),
        ]
        #expect(Suite.summary(results) == "1 passed, 1 failed, 1 skipped")
        #expect(Suite.summary(Array(results.prefix(2))) == "1 passed, 1 failed")
        let xml = Suite.junit(results)
        #expect(xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""))
        #expect(xml.contains("name=\"b &lt;x&gt;\""))
        #expect(xml.contains("<failure message=\"step 1: rcode: expected A, got B\">"))
        #expect(xml.contains("<skipped message=\"not static\"/>"))
    }
}
