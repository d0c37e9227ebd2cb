import Logging
import NodeSetup
import ServiceLifecycle

/// Keeps node set-up in place while fedns runs: every `checkInterval` it puts back what someone removed,
/// and on shutdown it removes everything, unless told to keep it or a successor took over (the rules are
/// then the successor's), or this process never served (a successor that failed leaves its predecessor's rules).
struct NodeSetupService: ServiceLifecycle.Service {
    let setup: NodeSetup
    let handedOver: SetOnceFlag
    let serving: SetOnceFlag
    let logger: Logger

    /// The set-up at start: a failure stops fedns with a message that says how to turn it off.
    static func start(_ setup: NodeSetup, logger: Logger) throws {
        do {
            let done = try setup.ensure()
            logger.info("node set-up in place", metadata: [
                "node.interface": "\(setup.settings.interface)",
                "node.interface_addresses": "\(setup.interfaceAddresses.map(\.text).joined(separator: ","))",
                "node.rules": "\(setup.rules.count)", "node.rules_added": "\(done.rulesAdded.count)",
                "node.interface_kind": "\(done.interfaceKind ?? "existing")",
            ])
            if done.interfaceKind == "bridge" {
                logger.warning("node set-up: this kernel has no dummy interface driver; the addresses are on an empty bridge instead",
                               metadata: ["node.interface": "\(setup.settings.interface)"])
            }
        } catch {
            throw ServerError(message: "\(error). Node set-up needs CAP_NET_ADMIN and the iptables binary (nft backend); "
                + "to run without it (the listen addresses must then already be on the host), pass --node-setup=false "
                + "or set nodeSetup.enabled: false")
        }
    }

    func run() async throws {
        let interval = Duration.milliseconds(Int64(setup.settings.checkIntervalSeconds * 1000))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            do {
                let repairs = try setup.ensure()
                if !repairs.isEmpty {
                    logger.warning("node set-up: put back what was removed", metadata: [
                        "node.interface_created": "\(repairs.interfaceCreated)",
                        "node.addresses_added": "\(repairs.addressesAdded.map(\.text).joined(separator: ","))",
                        "node.rules_added": "\(repairs.rulesAdded.map(\.description).joined(separator: "; "))",
                    ])
                }
            } catch {
                logger.error("node set-up: cannot put it back", metadata: ["error": "\(error)"])
            }
        }
        if setup.settings.keepOnExit || handedOver.isSet || !serving.isSet {
            logger.info("node set-up left in place", metadata: [
                "node.reason": "\(handedOver.isSet ? "handed over" : setup.settings.keepOnExit ? "keepOnExit" : "never served")",
            ])
            return
        }
        do {
            try setup.remove()
            logger.info("node set-up removed")
        } catch {
            logger.error("node set-up: cannot remove it", metadata: ["error": "\(error)"])
        }
    }
}
