import Clocks
import ClusterState
import DNSWire
import Foundation
import Logging
import NameExpansion
import Resolver
import Server

/// A property of every cluster: the names fedns hands out resolve. Asked through the same gate and
/// engine the listeners use, for one cluster:
/// - every PTR answer's target, asked forward (A or AAAA by the address's family), gives that address;
/// - every published endpoint's name (`<hostname or dashed IP>.<svc>.<ns>.svc.<cd>`) resolves to its
///   address, and every address an endpoint name answers has a PTR naming it back;
/// - for each configured federation, a Service whose local shard is healthy answers its federated
///   names (`<svc>.<ns>.<fed>.svc.<cd>` and `<svc>.<ns>.<fed>`) with the addresses of its local name.
public enum NameConsistency {
    /// The violations, one line each; empty when every name resolves.
    /// - Parameter configYAML: fedns configuration keys (cluster domain, federations…); the defaults when empty.
    public static func violations(clusterYAML: String, configYAML: String = "") async throws -> [String] {
        try await violations(try ObjectLoader.load(yaml: clusterYAML), configYAML: configYAML)
    }

    public static func violations(_ objects: ClusterObjects, configYAML: String = "") async throws -> [String] {
        var config = try ConfigLoader.apply(yaml: configYAML, to: FednsConfig())
        config.clusterStateFile = nil
        // Nothing here is forwarded on purpose: an address no script answers fails at once.
        config.forward.upstreams = [try Upstream(host: "192.0.2.254")]
        config.forward.stubDomains = [:]
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        var logger = Logger(label: "fedns.names")
        logger.logLevel = .critical
        let clock = ManualClock()
        let stack = try ResolverStack.build(config: config, group: InProcessTarget.group, logger: logger, time: clock,
                                            transport: ScriptedTransport(script: UpstreamScript([]), clock: clock))
        let snapshot = stack.snapshots.install(objects)
        let asker = Asker(answerer: PacketAnswerer(engine: stack.engine, config: config))
        let cd = try DomainName(config.clusterZone.clusterDomain)
        var problems: [String] = []

        // PTR → forward
        for address in snapshot.reverseIndex.keys.sorted() {
            guard let reverse = ReverseName.name(for: address) else { continue }
            let targets = await asker.names(reverse, .ptr)
            if targets.isEmpty { problems.append("\(address): no PTR, though the cluster names it") }
            for target in targets {
                let answered = await asker.addresses(target, family: address)
                if !answered.contains(address) {
                    problems.append("PTR \(address) → \(target), but \(target) \(Asker.type(address)) answers \(answered)")
                }
            }
        }

        // endpoint name → address → PTR back
        for service in snapshot.services.values.sorted(by: { $0.key.description < $1.key.description }) {
            let serviceName = cd.prepending([service.key.name, service.key.namespace, "svc"])
            for endpoint in snapshot.readyAddresses(of: service) {
                guard let address = IPAddress.canonical(endpoint.address) else { continue }
                // Written out here rather than taken from the server's code: the property is checked, not assumed.
                let name = serviceName.prepending([endpoint.hostname ?? IPAddress.dashed(address)])
                let answered = await asker.addresses(name, family: address)
                if !answered.contains(address) {
                    problems.append("endpoint \(name) \(Asker.type(address)) does not answer \(address) (answered \(answered))")
                }
                for other in answered {
                    guard let reverse = ReverseName.name(for: other) else { continue }
                    if !(await asker.names(reverse, .ptr)).contains(name) {
                        problems.append("\(name) answers \(other), but the PTR of \(other) does not name it")
                    }
                }
            }
        }

        // federated names of healthy local shards → the local answer
        for federation in config.federation.federations.keys.sorted() {
            for service in snapshot.services.values.sorted(by: { $0.key.description < $1.key.description }) {
                guard snapshot.isHealthy(service) else { continue }
                if case .externalName = service.kind { continue }
                let key = service.key
                let local = cd.prepending([key.name, key.namespace, "svc"])
                var federated = [DomainName(labels: [key.name, key.namespace, federation])]
                // With a namespace named like the federation the cluster reading comes first (another name).
                if !snapshot.namespaces.contains(federation.lowercased()) {
                    federated.append(cd.prepending([key.name, key.namespace, federation, "svc"]))
                }
                for family in ["0.0.0.0", "::"] {
                    let want = Set(await asker.addresses(local, family: family))
                    for name in federated {
                        let got = Set(await asker.addresses(name, family: family))
                        if got != want {
                            problems.append("federated \(name) \(Asker.type(family)) answers \(got.sorted()), the local \(local) \(want.sorted())")
                        }
                    }
                }
            }
        }
        return problems
    }
}

/// Asks questions as bytes through a `PacketAnswerer` and reads the answers.
struct Asker {
    let answerer: PacketAnswerer

    static func type(_ address: String) -> RRType { address.contains(":") ? .aaaa : .a }

    func ask(_ name: DomainName, _ type: RRType) async -> [ResourceRecord] {
        let query = WireCodec.encode(.query(id: UInt16.random(in: 1 ... .max), name: name, type: type, edns: EDNS(udpPayloadSize: 1232)))
        guard let bytes = await answerer.answer(query, transport: .tcp, client: "127.0.0.1"),
              let reply = try? WireCodec.decode(bytes) else { return [] }
        return reply.answer.filter { $0.name == name && $0.type == type }
    }

    /// The A (or AAAA, by `family`'s address family) addresses at `name`, canonical.
    func addresses(_ name: DomainName, family: String) async -> [String] {
        await ask(name, Self.type(family)).compactMap { IPAddress.text($0.rdata) }
    }

    func names(_ name: DomainName, _ type: RRType) async -> [DomainName] {
        await ask(name, type).compactMap { RData.readName($0.rdata)?.0 }
    }
}
