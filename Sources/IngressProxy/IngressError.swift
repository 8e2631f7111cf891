/// The one error type of the IngressProxy module: a code, a message and an optional cause.
public struct IngressError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public static let io = Code(name: "io")
        public static let configuration = Code(name: "configuration")
        public static let tls = Code(name: "tls")
        public static let upstream = Code(name: "upstream")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        cause.map { "\(message): \($0)" } ?? message
    }
}
