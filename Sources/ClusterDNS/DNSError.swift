/// The one error type of the ClusterDNS module: a code to switch on, a message for people,
/// and the underlying cause when there is one.
public struct DNSError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in broad classes. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The packet ended before a field it announced.
        public static let truncated = Code(name: "truncated")
        /// A label or name is malformed (bad length byte, reserved label type, too long).
        public static let badName = Code(name: "badName")
        /// A compression pointer points forward, at itself, or outside the packet.
        public static let badPointer = Code(name: "badPointer")
        /// Record data does not match its type's layout.
        public static let badRecordData = Code(name: "badRecordData")
        /// The message is well formed but not a query we can serve (counts, opcode, class).
        public static let badQuery = Code(name: "badQuery")
        /// A configuration value (listen address, upstream, CIDR) is invalid.
        public static let badConfiguration = Code(name: "badConfiguration")
        /// Talking to an upstream resolver failed or timed out.
        public static let upstream = Code(name: "upstream")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(code)): \(cause)" }
        return "\(message) (\(code))"
    }
}
