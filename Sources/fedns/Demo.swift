/// The embedded demo cluster (`fedns serve --demo`): the nginx federation example. One cluster in
/// zone us-central1-a of region us-central1, namespace `mynamespace`, federation `myfederation` →
/// `example.com`. `nginx` has ready endpoints (a healthy local shard); `api` has none ready (an
/// unhealthy shard, so its federated name is sent to public DNS). The public zone `example.com` is
/// served in-process so the CNAME chain resolves without the Internet.
enum Demo {
    static let config = """
    mode: node-local
    clusterDomain: cluster.local
    ttl: 5
    federations:
      myfederation: example.com
    zonalNameFormat: zone
    nodeName: demo-node-1
    pods: insecure
    zones:
      - origin: example.com
        file: PUBLIC_ZONE_FILE
    health: {listen: ""}
    ready: {listen: ""}
    metrics: {listen: "127.0.0.1:9153"}
    """

    static let cluster = """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: Node
      metadata:
        name: demo-node-1
        labels:
          kubernetes.io/hostname: demo-node-1
          topology.kubernetes.io/region: us-central1
          topology.kubernetes.io/zone: us-central1-a
    - apiVersion: v1
      kind: Namespace
      metadata: {name: mynamespace}
    - apiVersion: v1
      kind: Namespace
      metadata: {name: default}
    - apiVersion: v1
      kind: Service
      metadata: {name: kubernetes, namespace: default}
      spec:
        type: ClusterIP
        clusterIP: 10.96.0.1
        clusterIPs: [10.96.0.1]
        ipFamilies: [IPv4]
        ports: [{name: https, port: 443, protocol: TCP, targetPort: 6443}]
    - apiVersion: v1
      kind: Service
      metadata: {name: nginx, namespace: mynamespace}
      spec:
        type: ClusterIP
        clusterIP: 10.96.10.10
        clusterIPs: [10.96.10.10]
        ipFamilies: [IPv4]
        ports: [{name: http, port: 80, protocol: TCP, targetPort: 80}]
        selector: {app: nginx}
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: nginx-abc12
        namespace: mynamespace
        labels: {kubernetes.io/service-name: nginx}
      addressType: IPv4
      endpoints:
      - addresses: [10.244.1.5]
        conditions: {ready: true, serving: true, terminating: false}
        nodeName: demo-node-1
        targetRef: {kind: Pod, name: nginx-7c5ddbdf54-x2p9q, namespace: mynamespace}
      - addresses: [10.244.2.7]
        conditions: {ready: true, serving: true, terminating: false}
        nodeName: demo-node-2
        targetRef: {kind: Pod, name: nginx-7c5ddbdf54-r8kwd, namespace: mynamespace}
      ports: [{name: http, port: 80, protocol: TCP}]
    - apiVersion: v1
      kind: Service
      metadata: {name: api, namespace: mynamespace}
      spec:
        type: ClusterIP
        clusterIP: 10.96.10.20
        clusterIPs: [10.96.10.20]
        ipFamilies: [IPv4]
        ports: [{name: http, port: 8080, protocol: TCP, targetPort: 8080}]
        selector: {app: api}
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: api-def34
        namespace: mynamespace
        labels: {kubernetes.io/service-name: api}
      addressType: IPv4
      endpoints:
      - addresses: [10.244.1.9]
        conditions: {ready: false, serving: false, terminating: false}
        nodeName: demo-node-1
      ports: [{name: http, port: 8080, protocol: TCP}]
    - apiVersion: v1
      kind: Service
      metadata: {name: db, namespace: mynamespace}
      spec:
        clusterIP: None
        clusterIPs: [None]
        ports: [{name: postgres, port: 5432, protocol: TCP}]
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: db-x7k2p
        namespace: mynamespace
        labels: {kubernetes.io/service-name: db}
      addressType: IPv4
      endpoints:
      - addresses: [10.244.1.20]
        hostname: db-0
        conditions: {ready: true}
      - addresses: [10.244.2.21]
        hostname: db-1
        conditions: {ready: true}
      ports: [{name: postgres, port: 5432, protocol: TCP}]
    """

    static let publicZone = """
    $ORIGIN example.com.
    $TTL 300
    @ IN SOA ns1.example.com. hostmaster.example.com. 2026112801 3600 600 604800 60
    @ IN NS ns1.example.com.
    ns1 IN A 192.0.2.53
    ; Zonal, regional and global names of the federated services (what the federation controller publishes).
    nginx.mynamespace.myfederation.svc.us-central1-a IN A 203.0.113.10
    nginx.mynamespace.myfederation.svc.us-central1 IN A 203.0.113.10
    nginx.mynamespace.myfederation.svc IN A 203.0.113.10
    nginx.mynamespace.myfederation.svc IN A 198.51.100.10
    api.mynamespace.myfederation.svc.us-central1-a IN CNAME api.mynamespace.myfederation.svc.us-central1
    api.mynamespace.myfederation.svc.us-central1 IN A 203.0.113.20
    api.mynamespace.myfederation.svc.us-central1 IN A 203.0.113.21
    api.mynamespace.myfederation.svc IN A 203.0.113.20
    api.mynamespace.myfederation.svc IN A 198.51.100.20
    _http._tcp.api.mynamespace.myfederation.svc.us-central1-a IN SRV 0 100 8080 api.mynamespace.myfederation.svc.us-central1.example.com.
    """
}
