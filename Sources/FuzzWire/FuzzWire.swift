// Fuzz target for what fedns reads from the network: the gate and the query it builds (client
// packets), and the ldns codec (upstream replies, which a hostile upstream controls).
//
// Fuzz:   swift build -c release --product FuzzWire -Xswiftc -sanitize=fuzzer,address \
//             -Xswiftc -DFUZZING --scratch-path .build-fuzz
//         .build-fuzz/release/FuzzWire -max_total_time=300 CORPUS_DIR
// Replay: swift run FuzzWire FILE…   (without the flags: runs each file through the same checks)
import DNSWire
#if canImport(Glibc)
import Glibc
#endif

/// One input through every reader: nothing may crash, and what the gate passes must be a query
/// the codec reads and can answer.
func exercise(_ bytes: [UInt8]) {
    switch Gate.inspect(bytes, identityNames: true) {
    case .pass(let view):
        let query = bytes.withUnsafeBytes { Message(gatedQuery: $0, view: view) }
        let response = Message.response(to: query, rcode: .nxDomain)
        let wire = WireCodec.encode(response, maxSize: view.udpLimit)
        precondition(wire.count <= max(view.udpLimit, 12 + query.questions[0].name.wireLength + 4 + 11 + 64))
        precondition((try? WireCodec.decode(wire)) != nil, "fedns must be able to read its own answer")
    case .reply(let reply, _):
        precondition(reply.count >= 12)
    case .drop:
        break
    }
    // As an upstream reply: decode, and if it decodes, it must re-encode and decode again.
    if let message = try? WireCodec.decode(bytes) {
        let again = WireCodec.encode(message)
        _ = try? WireCodec.decode(again)
        _ = message.description
    }
}

#if FUZZING
/// libFuzzer's driver; SwiftPM names the executable's entry point itself, so this `main` hands
/// control to libFuzzer instead of linking libFuzzer's own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main
struct Fuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            exercise(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }
}
#else
/// Replays input files through the same checks (a crash found by the fuzzer, or a corpus).
@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let file = fopen(path, "rb") else { continue }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = fread(&buffer, 1, buffer.count, file)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            fclose(file)
            exercise(bytes)
        }
    }
}
#endif
