/// What `kubectl get svc,endpointslices,nodes,namespaces,pods,endpoints -A -o yaml` prints for a small
/// dual-stack cluster (trimmed of managedFields, otherwise as the API returns it).
let kubectlList = #"""
apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    creationTimestamp: "2024-05-01T10:00:00Z"
    labels:
      app: nginx
    name: nginx
    namespace: mynamespace
    resourceVersion: "1201"
    uid: 5b0c7f8e-8f7d-4a43-9c44-0d9b1f0e4a01
  spec:
    clusterIP: 10.96.0.20
    clusterIPs:
    - 10.96.0.20
    - fd00:10:96::20
    internalTrafficPolicy: Cluster
    ipFamilies:
    - IPv4
    - IPv6
    ipFamilyPolicy: PreferDualStack
    ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: 8080
    - name: DNS
      port: 53
      protocol: UDP
      targetPort: 53
    selector:
      app: nginx
    sessionAffinity: None
    type: ClusterIP
  status:
    loadBalancer: {}
- apiVersion: v1
  kind: Service
  metadata:
    name: db
    namespace: MyNamespace
  spec:
    clusterIP: None
    clusterIPs:
    - None
    ports:
    - name: postgres
      port: 5432
      targetPort: 5432
    publishNotReadyAddresses: true
    selector:
      app: db
    type: ClusterIP
  status:
    loadBalancer: {}
- apiVersion: v1
  kind: Service
  metadata:
    name: search
    namespace: mynamespace
  spec:
    externalName: Search.Example.COM.
    sessionAffinity: None
    type: ExternalName
  status:
    loadBalancer: {}
- apiVersion: v1
  kind: Service
  metadata:
    name: web
    namespace: default
  spec:
    clusterIP: 10.96.5.5
    externalTrafficPolicy: Cluster
    ports:
    - nodePort: 30080
      port: 8080
      protocol: TCP
      targetPort: 8080
    type: NodePort
- apiVersion: v1
  kind: Service
  metadata:
    name: lb
    namespace: default
  spec:
    clusterIP: fd00:10:96:0:0:0:0:99
    clusterIPs:
    - fd00:10:96::99
    ipFamilies:
    - IPv6
    ports:
    - name: https
      port: 443
      protocol: TCP
    type: LoadBalancer
  status:
    loadBalancer:
      ingress:
      - ip: 203.0.113.7
- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
  - addresses:
    - 10.244.1.5
    conditions:
      ready: true
      serving: true
      terminating: false
    nodeName: node-a
    targetRef:
      kind: Pod
      name: nginx-7c5ddbdf54-2xkqz
      namespace: mynamespace
      uid: 0a1b2c3d-0000-4000-8000-000000000001
    zone: us-central1-a
  - addresses:
    - 10.244.2.6
    conditions:
      ready: false
      serving: false
      terminating: true
    nodeName: node-b
  - addresses:
    - 10.244.3.7
    conditions: {}
    hostname: Nginx-2
  kind: EndpointSlice
  metadata:
    generateName: nginx-
    labels:
      endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
      kubernetes.io/service-name: nginx
    name: nginx-x7k2p
    namespace: mynamespace
  ports:
  - name: http
    port: 8080
    protocol: TCP
  - name: DNS
    port: 53
    protocol: UDP
- addressType: IPv6
  apiVersion: discovery.k8s.io/v1
  endpoints:
  - addresses:
    - fd00:10:244:1:0:0:0:5
    conditions:
      ready: true
  kind: EndpointSlice
  metadata:
    labels:
      kubernetes.io/service-name: nginx
    name: nginx-v6abc
    namespace: mynamespace
  ports:
  - name: http
    port: 8080
- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints: null
  kind: EndpointSlice
  metadata:
    labels:
      kubernetes.io/service-name: web
    name: web-empty
    namespace: default
  ports: null
- apiVersion: v1
  kind: Node
  metadata:
    labels:
      kubernetes.io/hostname: node-a
      topology.kubernetes.io/region: US-Central1
      topology.kubernetes.io/zone: us-central1-a
      failure-domain.beta.kubernetes.io/zone: old-zone
    name: node-a
  spec:
    podCIDR: 10.244.1.0/24
  status:
    addresses:
    - address: 192.168.1.10
      type: InternalIP
- apiVersion: v1
  kind: Node
  metadata:
    labels:
      failure-domain.beta.kubernetes.io/region: europe-west1
      failure-domain.beta.kubernetes.io/zone: europe-west1-b
    name: node-b
- apiVersion: v1
  kind: Namespace
  metadata:
    name: default
  spec:
    finalizers:
    - kubernetes
  status:
    phase: Active
- apiVersion: v1
  kind: Namespace
  metadata:
    name: empty-ns
- apiVersion: v1
  kind: Pod
  metadata:
    name: nginx-7c5ddbdf54-2xkqz
    namespace: mynamespace
  spec:
    containers:
    - image: nginx
      name: nginx
  status:
    phase: Running
    podIP: 10.244.1.5
    podIPs:
    - ip: 10.244.1.5
    - ip: fd00:10:244:1::5
- apiVersion: v1
  kind: Pod
  metadata:
    name: kube-proxy-abcde
    namespace: kube-system
  spec:
    hostNetwork: true
  status:
    phase: Running
    podIP: 192.168.1.10
- apiVersion: v1
  kind: Pod
  metadata:
    name: job-xyz
    namespace: default
  status:
    phase: Succeeded
    podIP: 10.244.1.9
- apiVersion: v1
  kind: Endpoints
  metadata:
    name: nginx
    namespace: mynamespace
  subsets: []
kind: List
metadata:
  resourceVersion: ""
"""#

/// The nginx Service and its IPv4 EndpointSlice as separate documents, flow style, with a comment,
/// an empty document and an explicit document end.
let multiDocument = #"""
# cluster state
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: mynamespace
spec:
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20, "fd00:10:96::20"]
  ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: dns, port: 53, protocol: UDP}
---
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: nginx-x7k2p
  namespace: mynamespace
  labels: {kubernetes.io/service-name: nginx}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  conditions: {ready: true}
  nodeName: node-a
- addresses: [10.244.2.6]
  conditions: {ready: false}
  nodeName: node-b
- addresses: [10.244.3.7]
  hostname: nginx-2
ports:
- {name: http, port: 8080, protocol: TCP}
- {name: dns, port: 53, protocol: UDP}
...
"""#

/// `kubectl get --raw /api/v1/namespaces/mynamespace/services`: a typed list as JSON whose items
/// carry no kind or apiVersion.
let serviceListJSON = #"""
{
  "kind": "ServiceList",
  "apiVersion": "v1",
  "metadata": {"resourceVersion": "1300"},
  "items": [
    {
      "metadata": {"name": "nginx", "namespace": "mynamespace", "uid": "5b0c7f8e"},
      "spec": {
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        "clusterIP": "10.96.0.20",
        "clusterIPs": ["10.96.0.20"],
        "type": "ClusterIP",
        "ipFamilies": ["IPv4"]
      },
      "status": {"loadBalancer": {}}
    },
    {
      "metadata": {"name": "api", "namespace": "mynamespace"},
      "spec": {"ports": [{"port": 443}], "clusterIP": "None", "type": "ClusterIP"}
    }
  ]
}
"""#
