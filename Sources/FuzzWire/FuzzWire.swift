// Fuzz target for what fedns reads from the network: the gate and the query it builds (client
// packets), and the ldns codec (upstream replies, which a hostile upstream controls).
//
// Fuzz:   scripts/fuzz.sh SECONDS CORPUS FuzzWire
// Replay: swift run FuzzWire FILE…
import DNSWire
import FuzzDriver

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

@main
struct Fuzz {
    static func main() { FuzzDriver.run(exercise) }
}
