import DNSWire
import NameExpansion

/// Decides whether a datagram answers the query we sent (RFC 5452 §9.1): it must be a response
/// (QR=1) with our ID and exactly our question — name compared case-insensitively, type, class.
/// The source address and port are checked by the kernel: a try's UDP socket is connected to the
/// upstream, and a TCP connection has only one peer.
struct ReplyMatcher: Sendable {
    let id: UInt16
    let question: Question

    /// The decoded reply, or nil when `bytes` is junk or answers some other query.
    func accept(_ bytes: [UInt8]) -> Message? {
        // Cheap checks on the raw header first: junk must not cost a full parse.
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0 else { return nil }
        guard let message = try? WireCodec.decode(bytes) else { return nil }
        guard message.header.isResponse, message.header.id == id, message.questions.count == 1,
              let q = message.question, q.name == question.name, q.type == question.type, q.class == question.class
        else { return nil }
        return message
    }
}
