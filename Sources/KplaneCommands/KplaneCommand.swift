import ArgumentParser

/// `kplane`: Kubernetes Service networking and storage on one machine, with kubectl's habits.
public struct KplaneCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kplane",
        abstract: "Kubernetes Service networking and storage, as one binary.",
        discussion: """
            Objects live in a state directory (--state-dir, or KPLANE_STATE_DIR). `kplane up` runs the node;
            the other commands read and write the same store, like kubectl against an API server.
            """,
        version: KplaneVersion.string,
        subcommands: [
            UpCommand.self, ApplyCommand.self, GetCommand.self, DescribeCommand.self, DeleteCommand.self,
            CreateCommand.self, LogsCommand.self, ExecCommand.self, RolloutCommand.self, DNSCommand.self, IngressCommand.self, ProxyCommand.self, PolicyCommand.self, VersionCommand.self,
        ]
    )

    public init() {}
}

enum KplaneVersion {
    static let string = "0.1.0"
}

/// `kplane version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the kplane version.")

    func run() {
        print("kplane version \(KplaneVersion.string) (Kubernetes API: v1 core, apps/v1, networking.k8s.io/v1, discovery.k8s.io/v1, storage.k8s.io/v1)")
    }
}
