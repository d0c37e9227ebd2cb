import ClusterState
import Foundation
import NameExpansion
import Testing

/// Feeds `text` to a list decoder, cut at `cuts` (byte offsets, ascending).
func decodeList(_ text: String, kind: ObjectKind, cuts: [Int] = [], maxItemBytes: Int = 4 << 20,
                interner: Interner = Interner()) throws(KubeDecodeError) -> (items: [DecodedItem], metadata: ListMetadata) {
    var decoder = ListDecoder(kind: kind, interner: interner, maxItemBytes: maxItemBytes)
    var items: [DecodedItem] = []
    for chunk in chunks(Array(text.utf8), cuts) {
        items += try feed(&decoder, chunk)
    }
    return (items, try decoder.finish())
}

func decodeWatch(_ text: String, kind: ObjectKind, cuts: [Int] = [], maxEventBytes: Int = 4 << 20) -> [WatchEvent] {
    var decoder = WatchEventDecoder(kind: kind, interner: Interner(), maxEventBytes: maxEventBytes)
    var events: [WatchEvent] = []
    for chunk in chunks(Array(text.utf8), cuts) { events += chunk.withUnsafeBytes { decoder.feed($0) } }
    return events
}

func feed(_ decoder: inout ListDecoder, _ chunk: [UInt8]) throws(KubeDecodeError) -> [DecodedItem] {
    try chunk.withUnsafeBytes { b in Result { () throws(KubeDecodeError) in try decoder.feed(b) } }.get()
}

func chunks(_ bytes: [UInt8], _ cuts: [Int]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var start = 0
    for cut in cuts + [bytes.count] { out.append(Array(bytes[start..<cut])); start = cut }
    return out
}

func skipped(_ item: DecodedItem) -> ObjectError? { if case .skipped(let e) = item { e } else { nil } }
func skipped(_ event: WatchEvent) -> ObjectError? { if case .skipped(let e) = event { e } else { nil } }

/// The five API objects as one `kind: List` file, as `kubectl get … -o json` writes it.
let apiObjectsFile = #"{"apiVersion":"v1","items":["# + [apiService, apiEndpointSlice, apiNamespace, apiNode, apiPod]
    .map { $0.trimmingCharacters(in: .newlines) }.joined(separator: ",") + #"],"kind":"List","metadata":{"resourceVersion":""}}"#

@Suite struct JSONFileTests {
    /// The same documents read through Yams and through the streaming decoder give the same objects
    /// and warnings, whatever the order of keys.
    @Test(arguments: [("kubectl -o yaml", kubectlList), ("multi-document", multiDocument), ("typed list", serviceListJSON),
                      ("API objects", apiObjectsFile)])
    func jsonReadsLikeYAML(_ name: String, _ text: String) throws {
        let viaYAML = try ObjectLoader.read(yaml: text)
        #expect(!viaYAML.objects.all.isEmpty)
        for reversing in [false, true] {
            let json = text.hasPrefix("{") && !reversing ? text : try yamlToJSON(text, reversingKeys: reversing)
            let viaJSON = try ObjectLoader.read(bytes: Array(json.utf8))
            #expect(viaJSON == viaYAML, "\(name), keys reversed: \(reversing)")
        }
    }

    /// Every malformed object of the YAML error table, as JSON: the same kind, object, field and problem, with a line.
    @Test(arguments: badObjects)
    func jsonErrorsMatchYAML(_ bad: BadObject) throws {
        guard bad.yaml.first != "-" else { return }  // a top-level list is not a JSON state file
        let json = try yamlToJSON(bad.yaml)
        var yamlError: ObjectError?
        do { _ = try ObjectLoader.read(yaml: bad.yaml) } catch { yamlError = error }
        var jsonError: ObjectError?
        do { _ = try ObjectLoader.read(bytes: Array(json.utf8)) } catch { jsonError = error }
        let y = try #require(yamlError), j = try #require(jsonError, "\(json)")
        #expect([j.kind, j.namespace, j.name, j.field, j.problem] == [y.kind, y.namespace, y.name, y.field, y.problem])
        let line = try #require(j.line)
        #expect(line >= 1)
    }

    @Test func jsonErrorsNameFileAndLine() throws {
        let json = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": \"web\", \"namespace\": \"ns\"},\n"
            + "  \"spec\": {\n    \"clusterIP\": \"10.0.0.1\",\n    \"ports\": [{\"port\": \"80\"}]\n  }\n}\n"
        #expect {
            _ = try ObjectLoader.read(bytes: Array(json.utf8), file: "cluster.json")
        } throws: { error in
            "\(error)" == "cluster.json:7: Service ns/web: spec.ports[0].port: '80' is not an integer 1…65535"
        }
        // a line in a pretty-printed List, past skipped fields
        let bad = try yamlToJSON(kubectlList).replacingOccurrences(of: "\"10.244.3.7\"", with: "\"10.244.3.x\"")
        do {
            _ = try ObjectLoader.read(bytes: Array(bad.utf8))
            Issue.record("loaded a bad address")
        } catch {
            #expect(error.field == "endpoints[2].addresses[0]")
            let lines = bad.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines[try #require(error.line) - 1].contains("10.244.3.x"))
        }
    }

    @Test(arguments: [
        ("{\"kind\": \"List\", \"items\": [{\"kind\": \"Service\",}]}", 1),
        ("{\n\"kind\": \"List\",\n\"items\": [\n{\"kind\": \"Service\"\n", 5),
        ("{\"kind\": \"Service\"} trailing", 1),
        ("{\"a\": \"\u{1}\"}", 1),
        ("{\n\"kind\": \"List\", \"items\": {}}", 2),
    ])
    func jsonSyntaxErrorsNameTheLine(_ text: String, _ line: Int) {
        do {
            _ = try ObjectLoader.read(bytes: Array(text.utf8))
            Issue.record("loaded malformed JSON")
        } catch {
            #expect(error.kind == "JSON" || error.field == "items")
            #expect(error.line == line)
        }
    }

    @Test func emptyJSONIsAnEmptyCluster() throws {
        #expect(try ObjectLoader.read(bytes: Array(#"{"kind":"List","apiVersion":"v1","items":[]}"#.utf8)).objects == ClusterObjects())
        #expect(try ObjectLoader.read(bytes: Array(#"{"kind":"ServiceList","items":null}"#.utf8)).objects == ClusterObjects())
    }

    /// Strings shared across objects are stored once.
    @Test func namespacesAreInterned() throws {
        let interner = Interner()
        let text = try yamlToJSON("""
            kind: Service
            metadata: {name: a, namespace: production-payments}
            spec: {clusterIP: 10.0.0.1}
            ---
            kind: Service
            metadata: {name: b, namespace: production-payments}
            spec: {clusterIP: 10.0.0.2}
            """)
        let services = try ObjectLoader.read(bytes: Array(text.utf8), interner: interner).objects.services
        var a = services[0].key.namespace, b = services[1].key.namespace
        let pa = a.withUTF8 { UInt(bitPattern: $0.baseAddress) }, pb = b.withUTF8 { UInt(bitPattern: $0.baseAddress) }
        #expect(pa == pb)
        #expect(interner.count == 1)
    }

    @Test func theInternerIsBounded() {
        let interner = Interner(capacity: 2)
        for i in 0..<10 { _ = interner.intern("a-namespace-longer-than-15-bytes-\(i)") }
        #expect(interner.count == 2)
        #expect(interner.intern("a-namespace-longer-than-15-bytes-7") == "a-namespace-longer-than-15-bytes-7")
    }
}

@Suite struct ListDecoderTests {
    /// Each API object, read from a typed list, is what the YAML reader makes of it.
    @Test(arguments: [(ObjectKind.service, apiService), (.endpointSlice, apiEndpointSlice), (.namespace, apiNamespace),
                      (.node, apiNode), (.pod, apiPod)])
    func apiObjectsReadLikeYAML(_ kind: ObjectKind, _ object: String) throws {
        let expected = try #require(try ObjectLoader.load(yaml: object).all.first)
        let (items, metadata) = try decodeList(apiList("\(kind)", [object]), kind: kind)
        #expect(items.count == 1)
        guard case .object(let decoded, let rv)? = items.first else { Issue.record("\(items)"); return }
        #expect(decoded == expected)
        #expect(!rv.isEmpty)
        #expect(metadata == ListMetadata(resourceVersion: "1300", continueToken: nil))
    }

    /// Every split point of a list, with its metadata first or last, gives the same items and metadata.
    @Test(arguments: [true, false])
    func everySplitPointGivesTheSameItems(_ metadataFirst: Bool) throws {
        let slice2 = apiEndpointSlice.replacingOccurrences(of: "nginx-x7k2p", with: "nginx-second")
        let text = apiList("EndpointSlice", [apiEndpointSlice, slice2], continueToken: "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", metadataFirst: metadataFirst)
        let whole = try decodeList(text, kind: .endpointSlice)
        #expect(whole.items.count == 2)
        #expect(whole.items.allSatisfy { skipped($0) == nil })
        #expect(whole.metadata == ListMetadata(resourceVersion: "1300", continueToken: "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"))
        for cut in 0...text.utf8.count {
            let split = try decodeList(text, kind: .endpointSlice, cuts: [cut])
            #expect(split.items == whole.items && split.metadata == whole.metadata, "cut at \(cut)")
        }
        let bytewise = try decodeList(text, kind: .endpointSlice, cuts: Array(1..<text.utf8.count))
        #expect(bytewise.items == whole.items && bytewise.metadata == whole.metadata)
    }

    @Test func malformedItemIsSkippedAndTheRestRead() throws {
        let bad = apiService.replacingOccurrences(of: #""name":"nginx","namespace""#, with: #""name":"broken","namespace""#)
            .replacingOccurrences(of: #""port":80,"#, with: #""port":"80","#)
        let other = apiService.replacingOccurrences(of: #""name":"nginx","namespace""#, with: #""name":"web","namespace""#)
        let (items, _) = try decodeList(apiList("Service", [apiService, bad, "42", other]), kind: .service)
        #expect(items.count == 4)
        let error = try #require(skipped(items[1]))
        #expect(error.kind == "Service" && error.namespace == "mynamespace" && error.name == "broken")
        #expect(error.field == "spec.ports[0].port" && error.problem == "'80' is not an integer 1…65535")
        #expect(skipped(items[2])?.problem == "expected a Kubernetes object (a mapping)")
        #expect(skipped(items[0]) == nil && skipped(items[3]) == nil)
    }

    @Test func truncatedListThrows() throws {
        let text = apiList("Service", [apiService])
        for cut in stride(from: 0, to: text.utf8.count, by: 7) {
            var decoder = ListDecoder(kind: .service, interner: Interner())
            let prefix = Array(text.utf8.prefix(cut))
            _ = try feed(&decoder, prefix)
            #expect(throws: KubeDecodeError.self, "cut at \(cut)") { _ = try decoder.finish() }
        }
    }

    @Test(arguments: ["[1,2]", "{\"kind\":\"ServiceList\",\"items\":[{}] garbage", "{\"items\": 5}", "nope"])
    func notAListThrows(_ text: String) {
        #expect(throws: KubeDecodeError.self) { _ = try decodeList(text, kind: .service) }
    }

    @Test func statusBodyNamesItsCode() {
        let status = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","code":410}"#
        do {
            _ = try decodeList(status, kind: .service)
            Issue.record("a Status read as a list")
        } catch {
            #expect(error.statusCode == 410 && error.statusReason == "Expired")
        }
    }

    /// An item over the limit is skipped, named, and never held whole; the next one is read.
    @Test func oversizedItemIsSkippedWithBoundedBuffering() throws {
        let endpoints = (0..<2000).map { #"{"addresses":["10.1.\#($0 / 250).\#($0 % 250)"],"conditions":{"ready":true}}"# }
        let huge = apiEndpointSlice.replacingOccurrences(of: "nginx-x7k2p", with: "huge")
            .replacingOccurrences(of: #""endpoints":["#, with: #""endpoints":["# + endpoints.joined(separator: ",") + ",")
        let text = Array(apiList("EndpointSlice", [huge, apiEndpointSlice]).utf8)
        let limit = 16 * 1024
        var decoder = ListDecoder(kind: .endpointSlice, interner: Interner(), maxItemBytes: limit)
        var items: [DecodedItem] = []
        for start in stride(from: 0, to: text.count, by: 1000) {
            let chunk = Array(text[start..<min(start + 1000, text.count)])
            items += try feed(&decoder, chunk)
            #expect(decoder.bufferedBytes <= limit + 1000)
        }
        _ = try decoder.finish()
        #expect(items.count == 2)
        let error = try #require(skipped(items[0]))
        #expect(error.name == "huge" && error.namespace == "mynamespace" && error.problem.contains("larger than"))
        #expect(skipped(items[1]) == nil)
    }

    @Test func deepNestingIsSkippedNotFollowed() throws {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let object = apiService.replacingOccurrences(of: #""status":{"loadBalancer":{}}"#, with: #""status":{"x":\#(deep)}"#)
        let (items, _) = try decodeList(apiList("Service", [object, apiService]), kind: .service)
        #expect(skipped(items[0])?.problem.contains("nested deeper") == true)
        #expect(skipped(items[1]) == nil)
        // far deeper than any stack: framed by counting, never by recursion
        let abyss = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let (more, _) = try decodeList(#"{"items":[\#(abyss)],"metadata":{"resourceVersion":"1"}}"#, kind: .service)
        #expect(more.count == 1 && skipped(more[0]) != nil)
    }
}

@Suite struct WatchEventDecoderTests {
    static let readyFlipped = apiEndpointSlice.replacingOccurrences(of: #""ready":true"#, with: #""ready":false"#)
        .replacingOccurrences(of: #""resourceVersion":"1207""#, with: #""resourceVersion":"1208""#)
    static let stream = watchEvent("ADDED", apiEndpointSlice) + watchEvent("MODIFIED", readyFlipped)
        + watchEvent("DELETED", readyFlipped.replacingOccurrences(of: #""resourceVersion":"1208""#, with: #""resourceVersion":"1209""#))

    @Test func threeEventsDecode() throws {
        let events = decodeWatch(Self.stream, kind: .endpointSlice)
        let slice = try #require(try ObjectLoader.load(yaml: apiEndpointSlice).all.first)
        let flipped = try #require(try ObjectLoader.load(yaml: Self.readyFlipped).all.first)
        #expect(events == [
            .added(slice, resourceVersion: "1207"),
            .modified(flipped, resourceVersion: "1208"),
            .deleted(ObjectRef(kind: .endpointSlice, namespace: "mynamespace", name: "nginx-x7k2p"), resourceVersion: "1209"),
        ])
    }

    @Test func everySplitPointGivesTheSameEvents() {
        let whole = decodeWatch(Self.stream, kind: .endpointSlice)
        #expect(whole.count == 3)
        let n = Self.stream.utf8.count
        for cut in 0...n {
            #expect(decodeWatch(Self.stream, kind: .endpointSlice, cuts: [cut]) == whole, "cut at \(cut)")
        }
        #expect(decodeWatch(Self.stream, kind: .endpointSlice, cuts: Array(1..<n)) == whole)
        // several events in one chunk, one spread over three
        #expect(decodeWatch(Self.stream, kind: .endpointSlice, cuts: [n / 3, n / 3 + 5, 2 * n / 3]) == whole)
    }

    @Test func bookmarkAndGone() {
        let bookmark = #"{"type":"BOOKMARK","object":{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"12746","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}},"addressType":"","endpoints":null}}"#
        let gone = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (12746)","reason":"Expired","code":410}}"#
        #expect(decodeWatch(bookmark + "\n" + gone + "\n", kind: .endpointSlice) == [
            .bookmark(resourceVersion: "12746"),
            .error(code: 410, reason: "Expired", message: "too old resource version: 1 (12746)"),
        ])
    }

    @Test func deletedRefsMatchTheObjectIdentity() throws {
        for (kind, object) in [(ObjectKind.service, apiService), (.namespace, apiNamespace), (.node, apiNode), (.pod, apiPod)] {
            let id = try #require(try ObjectLoader.load(yaml: object).all.first?.id)
            let deleted = decodeWatch(watchEvent("DELETED", object), kind: kind)
            guard case .deleted(let ref, _)? = deleted.first else { Issue.record("\(deleted)"); continue }
            #expect(ref == id)
        }
        // a deleted object needs only its name
        #expect(decodeWatch(#"{"type":"DELETED","object":{"metadata":{"name":"Web","namespace":"NS"}}}"#, kind: .service)
            == [.deleted(ObjectRef(kind: .service, namespace: "ns", name: "web"), resourceVersion: "")])
    }

    @Test func badEventsAreSkippedAndTheStreamGoesOn() throws {
        let badAddress = apiEndpointSlice.replacingOccurrences(of: "10.244.2.6", with: "10.244.2.x")
        let text = watchEvent("ADDED", badAddress)
            + "this is not json\n"
            + watchEvent("ADDED", apiEndpointSlice)
            + #"{"type":"SOMETHING","object":{"metadata":{"name":"x"}}}"# + "\n"
            + #"{"type":"ADDED","object":{"metadata":{"name":"y","namespace":"mynamespace"} "oops": 1}}"# + "\n"
            + watchEvent("MODIFIED", apiEndpointSlice)
        let events = decodeWatch(text, kind: .endpointSlice)
        #expect(events.count == 6)
        let first = try #require(skipped(events[0]))
        #expect(first.kind == "EndpointSlice" && first.namespace == "mynamespace" && first.name == "nginx-x7k2p")
        #expect(first.field == "endpoints[1].addresses[0]" && first.problem == "'10.244.2.x' is not an IPv4 address")
        #expect(skipped(events[1])?.field == "(stream)")
        #expect(skipped(events[2]) == nil)
        #expect(skipped(events[3])?.problem == "unknown watch event type 'SOMETHING'")
        #expect(skipped(events[4])?.name == "y")
        #expect(skipped(events[5]) == nil)
    }

    @Test func oversizedEventIsSkippedWithBoundedBuffering() throws {
        let endpoints = (0..<2000).map { #"{"addresses":["10.1.\#($0 / 250).\#($0 % 250)"]}"# }
        let huge = apiEndpointSlice.replacingOccurrences(of: "nginx-x7k2p", with: "huge")
            .replacingOccurrences(of: #""endpoints":["#, with: #""endpoints":["# + endpoints.joined(separator: ",") + ",")
        let text = Array((watchEvent("ADDED", huge) + watchEvent("ADDED", apiEndpointSlice)).utf8)
        let limit = 16 * 1024
        var decoder = WatchEventDecoder(kind: .endpointSlice, interner: Interner(), maxEventBytes: limit)
        var events: [WatchEvent] = []
        for start in stride(from: 0, to: text.count, by: 1000) {
            events += Array(text[start..<min(start + 1000, text.count)]).withUnsafeBytes { decoder.feed($0) }
            #expect(decoder.bufferedBytes <= limit + 1000)
        }
        #expect(events.count == 2)
        let error = try #require(skipped(events[0]))
        #expect(error.name == "huge" && error.problem.contains("larger than \(limit) bytes"))
        #expect(skipped(events[1]) == nil)
        // the same event in one chunk is refused too
        #expect(skipped(decodeWatch(String(decoding: text, as: UTF8.self), kind: .endpointSlice, maxEventBytes: limit)[0]) != nil)
    }

    @Test func finishedAndHostNetworkPodsComeWithoutIPs() {
        let finished = apiPod.replacingOccurrences(of: #""phase":"Running""#, with: #""phase":"Succeeded""#)
        guard case .modified(.pod(let pod), _)? = decodeWatch(watchEvent("MODIFIED", finished), kind: .pod).first else {
            Issue.record("not a pod"); return
        }
        #expect(pod.ips.isEmpty && pod.name == "nginx-7c5ddbdf54-2xkqz")
    }

    @Test func unicodeEscapesAreDecoded() throws {
        let node = #"{"type":"ADDED","object":{"metadata":{"name":"n\u00e9","labels":{"topology.kubernetes.io\/zone":"z\ud83d\ude00\u0041","topology.kubernetes.io/region":"\ud800x"}}}}"#
        guard case .added(.node(let n), _)? = decodeWatch(node, kind: .node).first else { Issue.record("not a node"); return }
        #expect(n.name == "né" && n.zone == "z😀a" && n.region == "\u{FFFD}x")
    }
}
