/// A failure of the proxy's I/O shell, with what was attempted.
public struct ProxyError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notRoot
        case missingTool
        case nftFailed
        case interfaceFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
