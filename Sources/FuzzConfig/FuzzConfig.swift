// Fuzz target for the configuration file: the YAML reader and every owner's section. Any text must
// give a configuration or a ConfigError that names the file and a key — never a crash.
//
// Fuzz:   scripts/fuzz.sh SECONDS CORPUS FuzzConfig   (seeds: fuzz/corpus/FuzzConfig)
// Replay: swift run FuzzConfig FILE…
import FuzzDriver
import Server
import YAMLReader

/// One input as a config file: read, routed to the owners, checked section by section.
func exercise(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let config = try ConfigLoader.apply(yaml: text, file: "fuzz.yaml", to: FednsConfig())
        // What the server derives from a configuration it accepted must not trap either.
        _ = config.effectiveListen
        _ = config.effectiveHealth
        _ = config.effectiveMetrics
        _ = try? config.clusterZone.settings()
    } catch {
        precondition(error.file == "fuzz.yaml", "a config error must name the file: \(error)")
        precondition(!error.field.isEmpty, "a config error must name the key: \(error)")
        precondition(error.line.map { $0 >= 1 } ?? true, "lines count from 1: \(error)")
        _ = error.description
    }
}

@main
struct Fuzz {
    static func main() { FuzzDriver.run(exercise) }
}
