import CLDNS
import NameExpansion

/// Why bytes could not be read as a DNS message, or a record as text.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The ldns-backed codec: the only place that turns messages into bytes and back.
public enum WireCodec {
    /// Parses a whole message. The OPT record is lifted into `Message.edns`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Message {
        throw WireError("unimplemented")
    }

    /// Renders `message`. When the result would exceed `maxSize`, whole RRsets are dropped from the
    /// end (additional, then authority, then answer) and TC is set; the OPT record is always kept.
    public static func encode(_ message: Message, maxSize: Int = 65535) -> [UInt8] {
        []
    }
}

extension ResourceRecord {
    /// Parses one record in zone-file text (`name [ttl] [class] type rdata`), names relative to `origin`.
    public init(zoneText: String, origin: DomainName = .root, defaultTTL: UInt32 = 3600) throws(WireError) {
        throw WireError("unimplemented")
    }

    /// The record in zone-file text, as ldns prints it.
    public var zoneText: String { "" }
}
