import DNSWire
import Foundation
import NameExpansion
import Server
import Yams
import YAMLReader

/// Reads scenario files (conformance/README.md). Every error names the file and the field.
public enum ScenarioParser {
    static let topKeys: Set<String> = ["name", "description", "tags", "config", "world", "cluster", "upstreams", "steps"]

    public static func parse(file path: String) throws(ScenarioError) -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else { throw ScenarioError("\(path): cannot read") }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(ScenarioError) -> Scenario {
        do {
            let root = try YAMLField.document(text, file: path)
            let top = try Field(root).mapping(known: topKeys)
            let fallback = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let name = try top["name"].stringOrNil() ?? fallback
            let tags = Set(try top["tags"].listOrNil()?.map { try $0.string() } ?? [])
            var configYAML = ""
            if top["config"].isPresent {
                guard top["config"].yaml.isMapping, let node = top["config"].yaml.node else {
                    throw top["config"].fail("must be a mapping of fedns settings")
                }
                configYAML = try Yams.serialize(node: node)
                // Read by fedns's own loader now, so a bad setting names this file and its line.
                _ = try ConfigLoader.apply(top["config"].yaml, to: FednsConfig())
            }
            let world = try parseWorld(top["world"], scenarioPath: path)
            var cluster = try parseCluster(top["cluster"])
            if let world {
                guard let own = cluster else { throw top["cluster"].fail("a scenario with a world has a synced cluster") }
                for object in own where world.contains(where: { $0.key == object.key }) {
                    throw top["cluster"].fail("\(object.key) is already in the world")
                }
                cluster = world + own
            }
            let upstreams = try top["upstreams"].listOrNil()?.enumerated().map { i, u in try parseUpstream(u, index: i) } ?? []
            guard let stepList = try top["steps"].listOrNil(), !stepList.isEmpty else { throw top["steps"].fail("at least one step is required") }
            let steps = try stepList.enumerated().map { i, s in try parseStep(s, index: i + 1) }
            for (s, f) in zip(steps, stepList) {
                if case .expectUpstream(let e) = s.action, let u = e.upstream, !upstreams.contains(where: { $0.name == u }) {
                    throw f["expectUpstream"]["upstream"].fail("no upstream named '\(u)'")
                }
            }
            let scenario = Scenario(name: name, path: path, tags: tags, configYAML: configYAML, cluster: cluster, upstreams: upstreams, steps: steps)
            if scenario.isStatic && (!upstreams.isEmpty || scenario.hasClusterChanges || cluster == nil) {
                throw top["tags"].fail("a static scenario has no upstreams, no cluster changes and a synced cluster")
            }
            return scenario
        } catch let error as ScenarioError {
            throw error
        } catch let error as ConfigError {
            throw ScenarioError(error.description)
        } catch {
            throw ScenarioError("\(path): \(error)")
        }
    }

    // MARK: cluster

    /// `world: PATH`: a shared cluster, a file of Kubernetes objects (as a state file holds them),
    /// relative to the scenario file.
    static func parseWorld(_ f: Field, scenarioPath: String) throws -> [ClusterObject]? {
        guard let relative = try f.stringOrNil() else { return nil }
        let file = relative.hasPrefix("/") ? relative
            : ((scenarioPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: file) else { throw f.fail("cannot read the world file '\(file)'") }
        var out: [ClusterObject] = []
        for document in try YAMLField.documents(String(decoding: data, as: UTF8.self), file: file) where !document.isAbsent {
            let object = try clusterObject(Field(document))
            if out.contains(where: { $0.key == object.key }) { throw Field(document).fail("\(object.key) appears twice in the world") }
            out.append(object)
        }
        return out
    }

    static func parseCluster(_ f: Field) throws -> [ClusterObject]? {
        guard f.isPresent else { return [] }
        if let s = f.text {
            if s == "unsynced" { return nil }
            // Multi-document YAML text, as `kubectl get -o yaml` or a state file holds it; its
            // lines are counted from the scenario's `cluster` key.
            var out: [ClusterObject] = []
            for (i, doc) in try YAMLField.documents(s, file: f.yaml.file).enumerated() where !doc.isAbsent {
                let shifted = YAMLField(node: doc.node, path: "\(f.yaml.path)[\(i)]", file: doc.file,
                                        line: doc.line.flatMap { line in f.yaml.line.map { $0 + line } })
                out.append(try clusterObject(Field(shifted)))
            }
            return out
        }
        return try f.list().map(clusterObject)
    }

    static func clusterObject(_ f: Field) throws -> ClusterObject {
        guard let node = f.yaml.node else { throw f.fail("must be a Kubernetes object") }
        return ClusterObject(key: try objectKey(f), yaml: try Yams.serialize(node: node))
    }

    static func objectKey(_ f: Field) throws -> ObjectKey {
        let m = try f.mapping(known: nil)
        let meta = m["metadata"]
        let metaMap = meta.isPresent ? try meta.mapping(known: nil) : nil
        guard let name = try metaMap?["name"].stringOrNil() ?? m["name"].stringOrNil() else { throw f.fail("metadata.name is required") }
        let namespace = try metaMap?["namespace"].stringOrNil() ?? m["namespace"].stringOrNil() ?? ""
        return ObjectKey(kind: try m["kind"].string(), namespace: namespace, name: name)
    }

    // MARK: upstreams

    static func parseUpstream(_ f: Field, index: Int) throws -> ScriptedUpstream {
        let m = try f.mapping(known: ["name", "address", "steps", "entries"])
        let address = try m["address"].string()
        if case .failure(let error) = AddressAndPort.parse(address) { throw m["address"].fail("\(error); expected IP:PORT") }
        let entries = try m["entries"].listOrNil()?.map(parseEntry) ?? []
        return ScriptedUpstream(name: try m["name"].stringOrNil() ?? address, address: address,
                                steps: try m["steps"].rangeOrNil(), entries: entries)
    }

    static func parseEntry(_ f: Field) throws -> ScriptedEntry {
        let m = try f.mapping(known: ["match", "steps", "delay", "before", "reply", "action", "raw"])
        var match = ScriptedEntry.Match()
        if m["match"].isPresent {
            let mm = try m["match"].mapping(known: ["qname", "subdomain", "qtype", "opcode", "transport"])
            match.qname = try mm["qname"].stringOrNil().map { try domain($0, mm["qname"]) }
            match.subdomain = try mm["subdomain"].stringOrNil().map { try domain($0, mm["subdomain"]) }
            match.qtype = try mm["qtype"].stringOrNil().map { try rrType($0, mm["qtype"]) }
            match.opcode = try mm["opcode"].stringOrNil().map { try opcode($0, mm["opcode"]) }
            match.transport = try mm["transport"].stringOrNil().map { try transport($0, mm["transport"]) }
        }
        let before: [ScriptedEntry.Extra] = try m["before"].listOrNil()?.map { e in
            if let s = e.text {
                switch s {
                case "junk": return .junk
                case "wrongId": return .wrongID
                case "wrongQuestion": return .wrongQuestion
                default: throw e.fail("must be junk, wrongId, wrongQuestion or {raw: HEX}")
                }
            }
            let em = try e.mapping(known: ["raw"])
            return .raw(try hex(em["raw"]))
        } ?? []
        let action: ScriptedEntry.Action
        if m["raw"].isPresent {
            action = .raw(try hex(m["raw"]))
        } else if let a = try m["action"].stringOrNil() {
            switch a {
            case "drop": action = .drop
            case "close": action = .close
            case "servfail": action = .reply(ReplySpec(rcode: .servFail, flags: ["rd", "ra"]))
            case "refused": action = .reply(ReplySpec(rcode: .refused, flags: ["rd", "ra"]))
            case "tc": action = .reply(ReplySpec(rcode: .noError, flags: ["aa", "tc", "rd", "ra"]))
            case "reply": action = .reply(try parseReply(m["reply"]))
            default: throw m["action"].fail("must be reply, drop, close, servfail, refused or tc")
            }
        } else {
            action = .reply(try parseReply(m["reply"]))
        }
        return ScriptedEntry(match: match, steps: try m["steps"].rangeOrNil(), delay: try m["delay"].doubleOrNil() ?? 0,
                             before: before, action: action)
    }

    static func parseReply(_ f: Field) throws -> ReplySpec {
        guard f.isPresent else { return ReplySpec() }
        let m = try f.mapping(known: ["rcode", "flags", "answer", "authority", "additional", "ede"])
        var r = ReplySpec()
        if let s = try m["rcode"].stringOrNil() { r.rcode = try rcode(s, m["rcode"]) }
        if let l = try m["flags"].listOrNil() { r.flags = Set(try l.map { try flag($0) }) }
        r.answer = try records(m["answer"]) ?? []
        r.authority = try records(m["authority"]) ?? []
        r.additional = try records(m["additional"]) ?? []
        r.ede = try m["ede"].intOrNil().map { UInt16($0) }
        return r
    }

    // MARK: steps

    static func parseStep(_ f: Field, index: Int) throws -> Step {
        let m = try f.mapping(known: ["query", "expect", "expectUpstream", "clusterChange", "timePasses", "comment"])
        let kinds = ["query", "expectUpstream", "clusterChange", "timePasses"].filter { m[$0].isPresent }
        guard kinds.count == 1 else { throw f.fail("a step has exactly one of query, expectUpstream, clusterChange, timePasses") }
        switch kinds[0] {
        case "query":
            guard m["expect"].isPresent else { throw f.fail("a query step needs expect") }
            return Step(action: .query(try parseQuery(m["query"]), try parseExpect(m["expect"])), index: index)
        case "expectUpstream":
            let e = try m["expectUpstream"].mapping(known: ["upstream", "name", "type", "transport", "count", "atLeast"])
            var x = UpstreamExpectation()
            x.upstream = try e["upstream"].stringOrNil()
            x.name = try e["name"].stringOrNil().map { try domain($0, e["name"]) }
            x.type = try e["type"].stringOrNil().map { try rrType($0, e["type"]) }
            x.transport = try e["transport"].stringOrNil().map { try transport($0, e["transport"]) }
            x.count = try e["count"].intOrNil()
            x.atLeast = try e["atLeast"].intOrNil()
            if x.count == nil && x.atLeast == nil { x.count = 1 }
            return Step(action: .expectUpstream(x), index: index)
        case "clusterChange":
            let c = try m["clusterChange"].mapping(known: ["add", "modify", "delete"])
            var change = ClusterChange()
            change.add = try c["add"].listOrNil()?.map(clusterObject) ?? []
            change.modify = try c["modify"].listOrNil()?.map(clusterObject) ?? []
            change.delete = try c["delete"].listOrNil()?.map(objectKey) ?? []
            return Step(action: .clusterChange(change), index: index)
        default:
            guard let s = try m["timePasses"].doubleOrNil(), s >= 0 else { throw m["timePasses"].fail("must be a number of seconds") }
            return Step(action: .timePasses(seconds: s), index: index)
        }
    }

    static func parseQuery(_ f: Field) throws -> QuerySpec {
        var q = QuerySpec()
        if let s = f.text {
            // Short form: `name TYPE`.
            let parts = s.split(separator: " ")
            guard parts.count == 2 else { throw f.fail("short form is 'NAME TYPE'") }
            q.name = try domain(String(parts[0]), f)
            q.type = try rrType(String(parts[1]), f)
            return q
        }
        let m = try f.mapping(known: ["name", "type", "class", "opcode", "transport", "flags", "edns", "raw"])
        if m["raw"].isPresent {
            q.raw = try hex(m["raw"])
            q.transport = try m["transport"].stringOrNil().map { try transport($0, m["transport"]) } ?? .udp
            return q
        }
        q.name = try domain(try m["name"].string(), m["name"])
        if let t = try m["type"].stringOrNil() { q.type = try rrType(t, m["type"]) }
        if let c = try m["class"].stringOrNil() {
            switch c.uppercased() {
            case "IN": q.class = .in
            case "CH": q.class = .chaos
            case "HS": q.class = .hesiod
            case "ANY": q.class = .any
            default:
                guard c.uppercased().hasPrefix("CLASS"), let n = UInt16(c.dropFirst(5)) else { throw m["class"].fail("unknown class '\(c)'") }
                q.class = RRClass(n)
            }
        }
        if let o = try m["opcode"].stringOrNil() { q.opcode = try opcode(o, m["opcode"]) }
        if let t = try m["transport"].stringOrNil() { q.transport = try transport(t, m["transport"]) }
        if let l = try m["flags"].listOrNil() { q.flags = Set(try l.map { try flag($0) }) }
        if m["edns"].isPresent {
            if let b = m["edns"].bool {
                q.edns = b ? .on(EDNS(udpPayloadSize: 1232)) : .off
            } else if let s = m["edns"].text, s == "off" || s == "on" {
                q.edns = s == "on" ? .on(EDNS(udpPayloadSize: 1232)) : .off
            } else {
                let em = try m["edns"].mapping(known: ["payload", "do", "version"])
                q.edns = .on(EDNS(udpPayloadSize: UInt16(try em["payload"].intOrNil() ?? 1232),
                                  version: UInt8(try em["version"].intOrNil() ?? 0), dnssecOK: try em["do"].boolOrNil() ?? false))
            }
        }
        return q
    }

    static func parseExpect(_ f: Field) throws -> Expectation {
        var x = Expectation()
        if let s = f.text, s == "noResponse" { x.noResponse = true; x.rcode = nil; return x }
        let m = try f.mapping(known: ["noResponse", "rcode", "flags", "answer", "authority", "additional", "ttl", "ede",
                                      "question", "edns", "do", "maxSize", "counts"])
        if try m["noResponse"].boolOrNil() == true { x.noResponse = true; x.rcode = nil; return x }
        if let r = try m["rcode"].stringOrNil() { x.rcode = r == "any" ? nil : try rcode(r, m["rcode"]) }
        if let l = try m["flags"].listOrNil() { x.flags = Set(try l.map { try flag($0) }) }
        x.answer = try records(m["answer"])
        x.authority = try records(m["authority"])
        x.additional = try records(m["additional"])
        if let t = try m["ttl"].stringOrNil() {
            guard t == "exact" || t == "ignore" else { throw m["ttl"].fail("must be exact or ignore") }
            x.ttlExact = t == "exact"
        }
        if m["ede"].isPresent {
            if let s = m["ede"].text, s == "none" { x.ede = -1 } else { x.ede = try m["ede"].int() }
        }
        x.question = try m["question"].stringOrNil()
        if m["edns"].isPresent {
            guard let b = m["edns"].bool else { throw m["edns"].fail("must be true (OPT present) or false") }
            x.ednsPresent = b
        }
        x.dnssecOK = try m["do"].boolOrNil()
        x.maxSize = try m["maxSize"].intOrNil()
        if m["counts"].isPresent {
            let c = try m["counts"].mapping(known: ["answer", "authority", "additional"])
            for section in ["answer", "authority", "additional"] {
                if let n = try c[section].intOrNil() { x.counts[section] = n }
            }
        }
        return x
    }

    // MARK: values

    static let flagNames: Set<String> = ["qr", "aa", "tc", "rd", "ra", "ad", "cd"]

    static func flag(_ f: Field) throws -> String {
        let s = try f.string().lowercased()
        guard flagNames.contains(s) else { throw f.fail("unknown flag '\(s)' (qr aa tc rd ra ad cd)") }
        return s
    }

    static func records(_ f: Field) throws -> [ResourceRecord]? {
        guard f.isPresent else { return nil }
        let text: String
        if let s = f.text { text = s } else if f.yaml.isSequence {
            text = try f.list().map { e in
                guard let s = e.text else { throw e.fail("must be a record in zone text") }
                return s
            }.joined(separator: "\n")
        } else { throw f.fail("must be records in zone text (a block or a list)") }
        do { return try ResourceRecord.parseAll(text) } catch { throw f.fail("zone text: \(error.message)") }
    }

    static func domain(_ s: String, _ f: Field) throws -> DomainName {
        do { return try DomainName(s) } catch { throw f.fail("'\(s)': \(error)") }
    }
    static func rrType(_ s: String, _ f: Field) throws -> RRType {
        guard let t = RRType(name: s) else { throw f.fail("unknown type '\(s)'") }
        return t
    }
    static func rcode(_ s: String, _ f: Field) throws -> RCode {
        if let r = RCode(name: s) { return r }
        if let n = UInt16(s) { return RCode(n) }
        throw f.fail("unknown rcode '\(s)'")
    }
    static func opcode(_ s: String, _ f: Field) throws -> Opcode {
        for o in [Opcode.query, .iquery, .status, .notify, .update] where o.description == s.uppercased() { return o }
        if let n = UInt8(s) { return Opcode(n) }
        throw f.fail("unknown opcode '\(s)'")
    }
    static func transport(_ s: String, _ f: Field) throws -> QuerySpec.Transport {
        guard let t = QuerySpec.Transport(rawValue: s) else { throw f.fail("must be udp or tcp") }
        return t
    }
    static func hex(_ f: Field) throws -> [UInt8] {
        let s = try f.string()
        let digits = s.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else { throw f.fail("hex has an odd number of digits") }
        var out: [UInt8] = []
        var i = digits.startIndex
        while i < digits.endIndex {
            let j = digits.index(i, offsetBy: 2)
            guard let b = UInt8(digits[i..<j], radix: 16) else { throw f.fail("'\(digits[i..<j])' is not hex") }
            out.append(b)
            i = j
        }
        return out
    }
}

/// A scenario value: the shared reader's field, with the parser's own wording. Errors name the
/// file, the line and the key (`bad.yaml:4: steps[0].expect.answr: unknown key`).
struct Field {
    let yaml: YAMLField
    init(_ yaml: YAMLField) { self.yaml = yaml }

    var path: String { yaml.path }
    var isPresent: Bool { !yaml.isAbsent }
    /// The text of a scalar that is written as a string (not a number or boolean).
    var text: String? { yaml.isScalar && yaml.node?.tag == Tag(.str) ? yaml.node?.scalar?.string : nil }
    /// A YAML boolean, else nil.
    var bool: Bool? { try? yaml.bool() }

    func fail(_ problem: String) -> ScenarioError {
        ScenarioError(ConfigError(field: path.isEmpty ? "<top>" : path, problem: problem, file: yaml.file, line: yaml.line).description)
    }

    subscript(key: String) -> Field { Field(yaml[key]) }

    func mapping(known: Set<String>?) throws -> Field {
        guard yaml.isMapping else { throw fail("must be a mapping") }
        for (k, value) in try yaml.entries() where known.map({ !$0.contains(k) }) ?? false {
            throw Field(value).fail("unknown key (known: \(known!.sorted().joined(separator: ", ")))")
        }
        return self
    }
    func list() throws -> [Field] {
        guard yaml.isSequence else { throw fail("must be a list") }
        return try yaml.items().map(Field.init)
    }
    func listOrNil() throws -> [Field]? { isPresent ? try list() : nil }
    func string() throws -> String {
        guard isPresent else { throw fail("is required") }
        guard yaml.isScalar, let s = yaml.node?.scalar?.string, yaml.node?.tag != Tag(.bool) else { throw fail("must be a string") }
        return s
    }
    func stringOrNil() throws -> String? { isPresent ? try string() : nil }
    func int() throws -> Int {
        guard let i = try? yaml.int() else { throw fail("must be an integer") }
        return i
    }
    func intOrNil() throws -> Int? { isPresent ? try int() : nil }
    func doubleOrNil() throws -> Double? {
        guard isPresent else { return nil }
        guard let d = try? yaml.double() else { throw fail("must be a number") }
        return d
    }
    func boolOrNil() throws -> Bool? {
        guard isPresent else { return nil }
        guard let b = bool else { throw fail("must be true or false") }
        return b
    }
    /// `N` or `[FROM, TO]` (inclusive, 1-based step numbers).
    func rangeOrNil() throws -> ClosedRange<Int>? {
        guard isPresent else { return nil }
        if let i = try? yaml.int() { return i...i }
        guard yaml.isSequence, let l = try? yaml.items(), l.count == 2, let a = try? l[0].int(), let b = try? l[1].int(), a <= b else {
            throw fail("must be a step number or [FROM, TO]")
        }
        return a...b
    }
}
