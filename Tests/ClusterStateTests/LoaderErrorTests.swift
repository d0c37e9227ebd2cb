import Foundation
import ClusterState
import Testing

/// One malformed input and where the error must point.
struct BadObject: CustomTestStringConvertible, Sendable {
    var label: String
    var yaml: String
    var kind: String
    var namespace: String?
    var name: String?
    var field: String
    var testDescription: String { label }
}

private func service(_ spec: String, name: String = "nginx") -> String {
    """
    apiVersion: v1
    kind: Service
    metadata: {name: \(name), namespace: mynamespace}
    spec:
    \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    """
}

private func slice(_ body: String, labels: String = "{kubernetes.io/service-name: nginx}") -> String {
    """
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: nginx-abc, namespace: mynamespace, labels: \(labels)}
    \(body)
    """
}

let badObjects: [BadObject] = [
    BadObject(label: "invalid ClusterIP", yaml: service("clusterIP: 10.0.0.300"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.clusterIP"),
    BadObject(label: "invalid second ClusterIP", yaml: service("clusterIP: 10.0.0.1\nclusterIPs: [10.0.0.1, 'fd00::zz']"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.clusterIPs[1]"),
    BadObject(label: "two ClusterIPs of one family", yaml: service("clusterIPs: [10.0.0.1, 10.0.0.2]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.clusterIPs[1]"),
    BadObject(label: "clusterIPs[0] differs from clusterIP", yaml: service("clusterIP: 10.0.0.1\nclusterIPs: [10.0.0.2]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.clusterIPs[0]"),
    BadObject(label: "ipFamilies disagree", yaml: service("clusterIPs: [10.0.0.1]\nipFamilies: [IPv6]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.clusterIPs[0]"),
    BadObject(label: "unknown IP family", yaml: service("clusterIPs: [10.0.0.1]\nipFamilies: [IPv5]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ipFamilies[0]"),
    BadObject(label: "no ClusterIP", yaml: service("type: ClusterIP"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.clusterIP"),
    BadObject(label: "port not an integer", yaml: service("clusterIP: 10.0.0.1\nports: [{name: http, port: http}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].port"),
    BadObject(label: "port quoted", yaml: service("clusterIP: 10.0.0.1\nports: [{port: 80}, {port: '81'}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[1].port"),
    BadObject(label: "port 0", yaml: service("clusterIP: 10.0.0.1\nports: [{port: 0}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].port"),
    BadObject(label: "port 65536", yaml: service("clusterIP: 10.0.0.1\nports: [{port: 65536}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].port"),
    BadObject(label: "port missing", yaml: service("clusterIP: 10.0.0.1\nports: [{name: http}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].port"),
    BadObject(label: "unknown protocol", yaml: service("clusterIP: 10.0.0.1\nports: [{port: 80, protocol: QUIC}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].protocol"),
    BadObject(label: "port name not a label", yaml: service("clusterIP: 10.0.0.1\nports: [{port: 80, name: my_port}]"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].name"),
    BadObject(label: "ports not a list", yaml: service("clusterIP: 10.0.0.1\nports: 80"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports"),
    BadObject(label: "unknown type", yaml: service("type: Magic\nclusterIP: 10.0.0.1"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.type"),
    BadObject(label: "ExternalName without a name", yaml: service("type: ExternalName"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.externalName"),
    BadObject(label: "ExternalName not a DNS name", yaml: service("type: ExternalName\nexternalName: 'bad name..com'"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.externalName"),
    BadObject(label: "publishNotReadyAddresses not a bool", yaml: service("clusterIP: None\npublishNotReadyAddresses: 'true'"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.publishNotReadyAddresses"),
    BadObject(label: "Service name not a label", yaml: service("clusterIP: 10.0.0.1", name: "my.svc"),
              kind: "Service", namespace: "mynamespace", name: "my.svc", field: "metadata.name"),
    BadObject(label: "missing metadata.name", yaml: "apiVersion: v1\nkind: Service\nmetadata: {namespace: ns1}\nspec: {clusterIP: None}",
              kind: "Service", namespace: "ns1", name: nil, field: "metadata.name"),
    BadObject(label: "missing kind", yaml: "apiVersion: v1\nmetadata: {name: x}",
              kind: "Object", namespace: nil, name: nil, field: "kind"),
    BadObject(label: "document is not a mapping", yaml: "- just\n- a list",
              kind: "Object", namespace: nil, name: nil, field: "(object)"),
    BadObject(label: "duplicate Service", yaml: service("clusterIP: None") + "\n---\n" + service("clusterIP: None"),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "metadata.name"),
    BadObject(label: "EndpointSlice without service-name label", yaml: slice("addressType: IPv4", labels: "{app: nginx}"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "metadata.labels[\"kubernetes.io/service-name\"]"),
    BadObject(label: "unknown addressType", yaml: slice("addressType: IPv7"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "addressType"),
    BadObject(label: "missing addressType", yaml: slice("endpoints: []"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "addressType"),
    BadObject(label: "invalid endpoint address", yaml: slice("addressType: IPv4\nendpoints: [{addresses: [10.1.1.1, 10.1.1]}]"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "endpoints[0].addresses[1]"),
    BadObject(label: "IPv6 address in an IPv4 slice", yaml: slice("addressType: IPv4\nendpoints: [{addresses: ['fd00::1']}]"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "endpoints[0].addresses[0]"),
    BadObject(label: "endpoint without addresses", yaml: slice("addressType: IPv4\nendpoints: [{addresses: [10.1.1.1]}, {hostname: a}]"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "endpoints[1].addresses"),
    BadObject(label: "ready not a bool", yaml: slice("addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], conditions: {ready: maybe}}]"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "endpoints[0].conditions.ready"),
    BadObject(label: "hostname not a label", yaml: slice("addressType: IPv4\nendpoints: [{addresses: [10.1.1.1], hostname: a.b}]"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "endpoints[0].hostname"),
    BadObject(label: "slice port out of range", yaml: slice("addressType: IPv4\nports: [{name: http, port: 70000}]"),
              kind: "EndpointSlice", namespace: "mynamespace", name: "nginx-abc", field: "ports[0].port"),
    BadObject(label: "Pod IP invalid", yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nstatus: {podIPs: [{ip: 10.0.0.1}, {ip: nope}]}",
              kind: "Pod", namespace: "ns1", name: "p", field: "status.podIPs[1].ip"),
    BadObject(label: "Node without a name", yaml: "apiVersion: v1\nkind: Node\nmetadata: {labels: {a: b}}",
              kind: "Node", namespace: nil, name: nil, field: "metadata.name"),
    BadObject(label: "Namespace name not a label", yaml: "apiVersion: v1\nkind: Namespace\nmetadata: {name: My_NS}",
              kind: "Namespace", namespace: nil, name: "My_NS", field: "metadata.name"),
    BadObject(label: "error inside a List item", yaml: "apiVersion: v1\nkind: List\nitems:\n- " + service("clusterIP: 10.0.0.1\nports: [{port: -1}]").split(separator: "\n").joined(separator: "\n  "),
              kind: "Service", namespace: "mynamespace", name: "nginx", field: "spec.ports[0].port"),
]

@Test(arguments: badObjects)
func errorNamesKindObjectAndField(_ bad: BadObject) {
    #expect(throws: ObjectError.self) { try ObjectLoader.load(yaml: bad.yaml) }
    do {
        _ = try ObjectLoader.load(yaml: bad.yaml)
    } catch {
        #expect(error.kind == bad.kind)
        #expect(error.namespace == bad.namespace)
        #expect(error.name == bad.name)
        #expect(error.field == bad.field)
        #expect(!error.problem.isEmpty)
        #expect(error.line != nil)
        // the message an operator reads carries all of it
        let id = [bad.namespace, bad.name].compactMap { $0 }.joined(separator: "/")
        #expect(error.description.contains("\(bad.kind) \(id.isEmpty ? "<unnamed>" : id): \(bad.field): "))
    }
}

@Test(arguments: [
    ("apiVersion: v1\nkind: Service\nmetadata: {name: x\n", 4),
    ("apiVersion: v1\nkind: Service\n  metadata: bad indent\n", 3),
    ("kind: List\nitems:\n- kind: Service\n\t- tab\n", 4),
])
func yamlSyntaxErrorNamesTheLine(_ text: String, _ line: Int) {
    do {
        _ = try ObjectLoader.load(yaml: text)
        Issue.record("loaded malformed YAML")
    } catch {
        #expect(error.kind == "YAML")
        #expect(error.field == "line \(line)")
        #expect(error.line == line)
    }
}

@Test func errorLineLocatesTheObjectInAList() throws {
    let bad = kubectlList.replacingOccurrences(of: "    - 10.244.3.7\n", with: "    - 10.244.3.x\n")
    do {
        _ = try ObjectLoader.load(yaml: bad)
        Issue.record("loaded a bad address")
    } catch {
        #expect(error.field == "endpoints[2].addresses[0]")
        let lines = bad.split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(error.line)
        #expect(lines[line - 1].contains("10.244.3.x"))
    }
}

/// The message an operator reads names the file, the line, the object and the key.
@Test func errorNamesFileLineObjectAndKey() throws {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\nspec:\n  clusterIP: 10.0.0.x\n"
    #expect {
        _ = try ObjectLoader.load(yaml: text, file: "cluster.yaml")
    } throws: { error in
        "\(error)".hasPrefix("cluster.yaml:5: Service ns/web: spec.clusterIP: '10.0.0.x' is not an IP address")
    }
    #expect {
        _ = try ObjectLoader.load(yaml: "kind: Service\n  metadata: bad indent\n", file: "cluster.yaml")
    } throws: { error in
        "\(error)".hasPrefix("cluster.yaml:2: YAML")
    }
}

/// JSON (what `kubectl get -o json` prints) goes through the same reader, with lines.
@Test func jsonErrorsNameTheLineToo() throws {
    let json = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": \"web\", \"namespace\": \"ns\"},\n"
        + "  \"spec\": {\n    \"clusterIP\": \"10.0.0.1\",\n    \"ports\": [{\"port\": \"80\"}]\n  }\n}\n"
    #expect {
        _ = try ObjectLoader.load(yaml: json, file: "cluster.json")
    } throws: { error in
        "\(error)".hasPrefix("cluster.json:7: Service ns/web: spec.ports[0].port: ")
    }
}
