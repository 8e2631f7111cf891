import Foundation
import KubeModel
import Logging
import ServiceLifecycle

/// What `kplane up -f PATH` does: applies the manifests at start, then watches them. An
/// edited file is re-applied; an object removed from a watched file is deleted. Each object
/// carries the file it came from in an annotation, which is how removals are found.
public final class ManifestWatcher: ServiceLifecycle.Service, Sendable {
    public static let sourceAnnotation = "kplane.dev/source"
    /// Objects read per page when looking for objects removed from the files.
    static let listPage = 500

    let store: any Store
    let paths: [String]
    let recursive: Bool
    let interval: Duration
    let logger: Logger

    public init(store: any Store, paths: [String], recursive: Bool, interval: Duration = .milliseconds(250), logger: Logger) {
        self.store = store
        self.paths = paths.map { ($0 as NSString).standardizingPath }.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
        self.recursive = recursive
        self.interval = interval
        self.logger = logger
    }

    /// Applies everything once; throws on invalid manifests (used at start, where failing loudly helps).
    @discardableResult
    public func syncOnce() async throws -> [ApplyResult] {
        let (results, _) = try await sync()
        return results
    }

    public func run() async throws {
        var last = fingerprint()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let current = fingerprint()
            guard current != last else { continue }
            last = current
            do {
                let (results, deleted) = try await sync()
                for r in results where r.action != .unchanged {
                    logger.info("manifest.applied", metadata: ["object": "\(r.key)", "action": "\(r.action.rawValue)"])
                }
                for key in deleted { logger.info("manifest.deleted", metadata: ["object": "\(key)"]) }
            } catch {
                logger.error("manifest.invalid", metadata: ["error": "\(error)"])
            }
        }
    }

    /// What a file looks like from outside: any edit, replacement (editors write a new file and
    /// rename it) or removal changes it. Reading the contents instead cost a copy of every
    /// manifest four times a second (7 MB for 10,000 Ingresses with their Services).
    struct FileStamp: Equatable {
        var inode: UInt64
        var size: Int64
        var modified: timespec
        var changed: timespec

        static func == (a: FileStamp, b: FileStamp) -> Bool {
            a.inode == b.inode && a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }

    /// File names with their stamps.
    func fingerprint() -> [String: FileStamp] {
        var result: [String: FileStamp] = [:]
        for path in paths {
            for file in (try? Manifest.files(at: path, recursive: recursive)) ?? [] {
                var st = stat()
                guard stat(file, &st) == 0 else { continue }
                result[file] = FileStamp(inode: UInt64(st.st_ino), size: Int64(st.st_size), modified: st.st_mtim, changed: st.st_ctim)
            }
        }
        return result
    }

    private func sync() async throws -> ([ApplyResult], [ObjectKey]) {
        // Validated as read and kept as text: the trees of every object at once were most of
        // `up -f`'s peak (10,000 Ingress rules: 30,000 objects). The store parses them back one
        // at a time. A file that does not parse wins over an invalid object, as when every
        // file was read before validating.
        var objects: [EncodedObject] = []
        var invalid: StoreError?
        for path in paths {
            try Manifest.read(path: path, recursive: recursive) { doc in
                guard invalid == nil else { return }
                let object = ManifestWatcher.prepared(doc)
                if case .failure(let failure) = Scheme.prepare(object, old: nil) {
                    invalid = StoreError.invalid(object, failure.errors)
                } else {
                    objects.append(EncodedObject(object))
                }
            }
        }
        if let invalid { throw invalid }
        let results = try await store.apply(objects)
        let wanted = Set(objects.map(\.key))
        var stale: [ObjectKey] = []
        for type in Scheme.types {
            // A page at a time: the whole store parsed at once was most of `up -f`'s peak
            // (10,000 Ingress rules: 30,000 objects).
            var after: ObjectKey?
            repeat {
                let page = try await store.list(type, namespace: nil, limit: ManifestWatcher.listPage, after: after)
                for object in page.items {
                    guard let source = object.annotations[ManifestWatcher.sourceAnnotation], !wanted.contains(object.key) else { continue }
                    let watched = paths.contains { source == $0 || source.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
                    if watched { stale.append(object.key) }
                }
                after = page.continueAfter
            } while after != nil
        }
        // Namespaced objects first, so a namespace goes last.
        stale.sort { ($0.type.namespaced ? 0 : 1, $0.name) < ($1.type.namespaced ? 0 : 1, $1.name) }
        let deleted = stale.isEmpty ? [] : try await store.delete(stale).map(\.key)
        return (results, deleted)
    }

    /// A manifest's object as it is applied: marked with its file, in `default` when it is
    /// namespaced and names no namespace.
    static func prepared(_ doc: ManifestDocument) -> Object {
        var object = doc.object
        object.setAnnotation(ManifestWatcher.sourceAnnotation, doc.source)
        if object.type.namespaced && object.namespace.isEmpty { object.setMeta("namespace", .string("default")) }
        return object
    }
}
