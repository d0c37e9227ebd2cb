import ArgumentParser
import Foundation
import Publisher
import YAMLReader

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep a federation's public records (zonal, regional, global) in the zone's primary.",
        discussion: """
        Watches every member cluster and sends RFC 2136 UPDATEs signed with TSIG to the zone's primary, one per \
        service change, with prerequisites and minimal diffs; names without fedns's ownership record are never \
        touched. The config file and the records: docs/publishing.md.
        """
    )

    @Option(name: .long, help: "The publisher's YAML config (federation, domain, clusters, dns).")
    var config: String

    @Flag(name: .long, help: "Reconcile once and exit: 0 when the zone matches the clusters, 1 with the reason otherwise.")
    var once = false

    @Flag(name: .long, help: "Print the plan as zone text (deletions and additions) and change nothing.")
    var dryRun = false

    func run() async throws {
        let parsed: PublisherConfig
        do { parsed = try PublisherConfig.load(path: config) } catch {
            print("\(error)")
            throw ExitCode(2)
        }
        let result = try await PublisherApp.run(config: parsed, once: once, dryRun: dryRun)
        if !result.output.isEmpty {
            if result.status == 0 {
                print(result.output, terminator: result.output.hasSuffix("\n") ? "" : "\n")
            } else {
                FileHandle.standardError.write(Data("fedns publish: \(result.output)\n".utf8))
            }
        }
        if result.status != 0 { throw ExitCode(result.status) }
    }
}
