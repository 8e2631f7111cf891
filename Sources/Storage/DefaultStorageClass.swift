import KubeModel

/// Which StorageClass is the default, and the one kplane installs.
public enum DefaultStorageClass {
    /// kplane's own provisioner.
    public static let provisionerName = "kplane.dev/local-path"
    /// The class kplane installs when the cluster has no default.
    public static let localPathName = "local-path"

    /// The default class: annotated `is-default-class: "true"` (GA or beta annotation); when
    /// several are, the newest wins (then the first by name), as the API server's admission does.
    public static func find(in classes: [StorageClass]) -> StorageClass? {
        classes.filter(\.isDefault).max { a, b in
            let (ta, tb) = (a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? "")
            return ta != tb ? ta < tb : a.name > b.name
        }
    }

    /// `local-path`: kplane's provisioner, WaitForFirstConsumer, Delete, expandable, default.
    public static var localPath: StorageClass {
        var sc = StorageClass()
        sc.metadata.name = localPathName
        sc.metadata.annotations = [StorageClass.defaultAnnotation: "true"]
        sc.provisioner = provisionerName
        sc.reclaimPolicy = "Delete"
        sc.volumeBindingMode = "WaitForFirstConsumer"
        sc.allowVolumeExpansion = true
        return sc
    }

    /// The class to create at start, or nil when a default exists or `local-path` is there
    /// already (a user who took the default away from it keeps it that way).
    public static func toInstall(given classes: [StorageClass]) -> StorageClass? {
        if find(in: classes) != nil { return nil }
        if classes.contains(where: { $0.name == localPathName }) { return nil }
        return localPath
    }
}
