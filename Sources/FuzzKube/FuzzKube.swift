// Fuzz target for what fedns reads from the Kubernetes API: list bodies and watch streams, split
// into two chunks at a point the input chooses, through the streaming decoders of every kind.
//
// Fuzz:   scripts/fuzz.sh SECONDS CORPUS FuzzKube
// Replay: swift run FuzzKube FILE…
import ClusterState
import FuzzDriver

/// One input: its first byte picks the kind and the split point, the rest is the body. Nothing may
/// crash; the same bytes in one chunk and in two must decode to the same items and events; buffering
/// stays bounded.
func exercise(_ input: [UInt8]) {
    guard let head = input.first else { return }
    let body = Array(input.dropFirst())
    let kind = ObjectKind.allCases[Int(head) % ObjectKind.allCases.count]
    let cut = body.isEmpty ? 0 : (Int(head) * 7919) % (body.count + 1)
    let parts = [Array(body[..<cut]), Array(body[cut...])]
    let maxBytes = 4096

    func list(_ chunks: [[UInt8]]) -> ([DecodedItem], String) {
        var decoder = ListDecoder(kind: kind, interner: Interner(), maxItemBytes: maxBytes)
        var items: [DecodedItem] = []
        do {
            for chunk in chunks {
                items += try chunk.withUnsafeBytes { b in Result { () throws(KubeDecodeError) in try decoder.feed(b) } }.get()
                precondition(decoder.bufferedBytes <= maxBytes + chunk.count)
            }
            return (items, "\(try decoder.finish())")
        } catch {
            // Items of the chunk that failed are not returned, so after an error only the error compares.
            return ([], "error: \(error)")
        }
    }
    let (whole, end) = list([body])
    let (split, splitEnd) = list(parts)
    precondition(whole == split && end == splitEnd, "a list reads differently when split")

    func watch(_ chunks: [[UInt8]]) -> [WatchEvent] {
        var decoder = WatchEventDecoder(kind: kind, interner: Interner(), maxEventBytes: maxBytes)
        var events: [WatchEvent] = []
        for chunk in chunks {
            events += chunk.withUnsafeBytes { decoder.feed($0) }
            precondition(decoder.bufferedBytes <= maxBytes + chunk.count)
        }
        return events
    }
    precondition(watch([body]) == watch(parts), "a watch stream reads differently when split")
    _ = try? ObjectLoader.read(bytes: body)
}

@main
struct Fuzz {
    static func main() { FuzzDriver.run(exercise) }
}
