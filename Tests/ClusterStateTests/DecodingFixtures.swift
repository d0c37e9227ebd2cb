import Foundation
import YAMLReader

/// A Service, an EndpointSlice, a Namespace, a Node and a Pod exactly as the API server returns them
/// in a watch or a list: managedFields, annotations (with kubectl's last-applied-configuration, a
/// JSON document inside a string), uid, ownerReferences, status — everything fedns must skip.
let apiService = #"""
{"kind":"Service","apiVersion":"v1","metadata":{"name":"nginx","namespace":"mynamespace","uid":"5b0c7f8e-8f7d-4a43-9c44-0d9b1f0e4a01","resourceVersion":"1201","creationTimestamp":"2024-05-01T10:00:00Z","labels":{"app":"nginx","app.kubernetes.io/name":"nginx"},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{},\"name\":\"nginx\",\"namespace\":\"mynamespace\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"nginx\"}}}\n"},"managedFields":[{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"v1","time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}},"f:spec":{"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}},"f:selector":{},"f:sessionAffinity":{},"f:type":{}}}}]},"spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080},{"name":"DNS","protocol":"UDP","port":53,"targetPort":53}],"selector":{"app":"nginx"},"clusterIP":"10.96.0.20","clusterIPs":["10.96.0.20","fd00:10:96::20"],"type":"ClusterIP","sessionAffinity":"None","ipFamilies":["IPv4","IPv6"],"ipFamilyPolicy":"PreferDualStack","internalTrafficPolicy":"Cluster"},"status":{"loadBalancer":{}}}
"""#

let apiEndpointSlice = #"""
{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"nginx-x7k2p","generateName":"nginx-","namespace":"mynamespace","uid":"d3f1c2a0-1111-4a43-9c44-0d9b1f0e4a02","resourceVersion":"1207","generation":3,"creationTimestamp":"2024-05-01T10:00:01Z","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":"nginx"},"annotations":{"endpoints.kubernetes.io/last-change-trigger-time":"2024-05-01T10:00:01Z"},"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"nginx","uid":"5b0c7f8e-8f7d-4a43-9c44-0d9b1f0e4a01","controller":true,"blockOwnerDeletion":true}],"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"discovery.k8s.io/v1","time":"2024-05-01T10:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:addressType":{},"f:endpoints":{},"f:metadata":{"f:labels":{".":{},"f:kubernetes.io/service-name":{}}},"f:ports":{}}}]},"addressType":"IPv4","endpoints":[{"addresses":["10.244.1.5"],"conditions":{"ready":true,"serving":true,"terminating":false},"targetRef":{"kind":"Pod","namespace":"mynamespace","name":"nginx-7c5ddbdf54-2xkqz","uid":"aa"},"nodeName":"node-a","zone":"us-central1-a"},{"addresses":["10.244.2.6"],"conditions":{"ready":false,"serving":false,"terminating":true},"targetRef":{"kind":"Pod","namespace":"mynamespace","name":"nginx-7c5ddbdf54-b","uid":"bb"},"nodeName":"node-b"},{"addresses":["10.244.3.7"],"hostname":"nginx-2","conditions":{}}],"ports":[{"name":"http","protocol":"TCP","port":8080},{"name":"dns","protocol":"UDP","port":53},{"name":"all","protocol":"TCP"}]}
"""#

let apiNamespace = #"""
{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"MyNamespace","uid":"ns-1","resourceVersion":"17","creationTimestamp":"2024-05-01T09:00:00Z","labels":{"kubernetes.io/metadata.name":"mynamespace"},"managedFields":[{"manager":"kubectl-create","operation":"Update","apiVersion":"v1","time":"2024-05-01T09:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:kubernetes.io/metadata.name":{}}}}}]},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}
"""#

let apiNode = #"""
{"kind":"Node","apiVersion":"v1","metadata":{"name":"node-b","uid":"node-2","resourceVersion":"990","labels":{"beta.kubernetes.io/arch":"amd64","failure-domain.beta.kubernetes.io/region":"legacy-region","failure-domain.beta.kubernetes.io/zone":"europe-west1-b","kubernetes.io/hostname":"node-b","topology.kubernetes.io/region":"europe-west1","topology.kubernetes.io/zone":""},"annotations":{"node.alpha.kubernetes.io/ttl":"0","volumes.kubernetes.io/controller-managed-attach-detach":"true"}},"spec":{"podCIDR":"10.244.2.0/24","podCIDRs":["10.244.2.0/24","fd00:10:244:2::/64"],"providerID":"gce://p/europe-west1-b/node-b","taints":[{"key":"node.kubernetes.io/unschedulable","effect":"NoSchedule"}]},"status":{"capacity":{"cpu":"4","memory":"16393852Ki","pods":"110"},"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"2024-05-01T10:05:00Z","reason":"KubeletReady","message":"kubelet is posting ready status"}],"addresses":[{"type":"InternalIP","address":"10.128.0.3"},{"type":"Hostname","address":"node-b"}],"nodeInfo":{"kubeletVersion":"v1.30.1","osImage":"Ubuntu 22.04.4 LTS \u00e9"},"images":[{"names":["registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097","registry.k8s.io/pause:3.9"],"sizeBytes":321520}]}}
"""#

let apiPod = #"""
{"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx-7c5ddbdf54-2xkqz","generateName":"nginx-7c5ddbdf54-","namespace":"mynamespace","uid":"aa","resourceVersion":"1190","labels":{"app":"nginx","pod-template-hash":"7c5ddbdf54"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"nginx-7c5ddbdf54","uid":"rs","controller":true,"blockOwnerDeletion":true}]},"spec":{"volumes":[{"name":"kube-api-access","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}}],"defaultMode":420}}],"containers":[{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{}}],"restartPolicy":"Always","nodeName":"node-a","hostNetwork":false},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"hostIP":"10.128.0.2","podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"},{"ip":"fd00:10:244:1::5"}],"startTime":"2024-05-01T10:00:00Z","containerStatuses":[{"name":"nginx","ready":true,"restartCount":0,"image":"nginx:1.27","imageID":"docker.io/library/nginx@sha256:abc","containerID":"containerd://abc","started":true,"state":{"running":{"startedAt":"2024-05-01T10:00:02Z"}}}]}}
"""#

/// A typed list as the API serves a page of it: items without kind or apiVersion.
func apiList(_ kind: String, _ items: [String], resourceVersion: String = "1300", continueToken: String? = nil,
             metadataFirst: Bool = true) -> String {
    let bare = items.map { item in
        item.replacing(#/"kind":"[A-Za-z]+","apiVersion":"[a-z0-9./]+",/#, with: "")
    }
    let token = continueToken.map { #","continue":"\#($0)""# } ?? ""
    let metadata = #""metadata":{"resourceVersion":"\#(resourceVersion)"\#(token)}"#
    let itemsText = #""items":[\#(bare.joined(separator: ","))]"#
    let head = #"{"kind":"\#(kind)List","apiVersion":"v1","#
    return head + (metadataFirst ? metadata + "," + itemsText : itemsText + "," + metadata) + "}"
}

/// One watch event line as the API writes it.
func watchEvent(_ type: String, _ object: String) -> String {
    #"{"type":"\#(type)","object":\#(object.trimmingCharacters(in: .whitespacesAndNewlines))}"# + "\n"
}

/// The same documents as JSON, through the shared YAML reader (mappings in order, or reversed to show
/// that key order does not matter): one document as itself, several as the items of a `List`.
func yamlToJSON(_ text: String, reversingKeys: Bool = false) throws -> String {
    let documents = try YAMLField.documents(text, file: nil).filter { !$0.isAbsent }
    func json(_ f: YAMLField, indent: String) throws -> String {
        if f.isAbsent { return "null" }
        if f.isMapping {
            var entries = try f.entries()
            if reversingKeys { entries.reverse() }
            if entries.isEmpty { return "{}" }
            let inner = indent + "  "
            let members = try entries.map { "\(inner)\(quoted($0.key)): \(try json($0.value, indent: inner))" }
            return "{\n" + members.joined(separator: ",\n") + "\n\(indent)}"
        }
        if f.isSequence {
            let inner = indent + "  "
            let items = try f.items().map { "\(inner)\(try json($0, indent: inner))" }
            return items.isEmpty ? "[]" : "[\n" + items.joined(separator: ",\n") + "\n\(indent)]"
        }
        if let i = try? f.int() { return String(i) }
        if let b = try? f.bool() { return b ? "true" : "false" }
        return quoted(try f.requiredString())
    }
    if documents.count == 1 { return try json(documents[0], indent: "") + "\n" }
    let items = try documents.map { try json($0, indent: "  ") }
    return "{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n  " + items.joined(separator: ",\n  ") + "\n  ],\n  \"kind\": \"List\"\n}\n"
}

func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
