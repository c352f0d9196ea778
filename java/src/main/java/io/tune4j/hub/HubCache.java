package io.tune4j.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The huggingface_hub cache layout for model repositories:
 * <pre>
 * {cacheDir}/models--{owner}--{name}/
 *     blobs/{etag}                      file contents, named by ETag (sha256 for LFS files)
 *     snapshots/{commit}/{filename}     relative symlinks into blobs/ (copies where links are not allowed)
 *     refs/{revision}                   the commit a branch or tag pointed to when last downloaded
 * {cacheDir}/.locks/models--{owner}--{name}/{etag}.lock
 * </pre>
 */
public final class HubCache {

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(RepoId repo) {
        return root.resolve("models--" + repo.owner() + "--" + repo.name());
    }

    public Path blob(RepoId repo, String etag) {
        return repoDir(repo).resolve("blobs").resolve(etag);
    }

    public Path incomplete(RepoId repo, String etag) {
        return repoDir(repo).resolve("blobs").resolve(etag + ".incomplete");
    }

    public Path lockFile(RepoId repo, String etag) {
        return root.resolve(".locks").resolve(repoDir(repo).getFileName().toString()).resolve(etag + ".lock");
    }

    public Path snapshotDir(RepoId repo, String commit) {
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    /** The snapshot path of one file; filename is checked by {@link FileSelection#checkFilename}. */
    public Path snapshotFile(RepoId repo, String commit, String filename) {
        return snapshotDir(repo, commit).resolve(filename);
    }

    /** The commit for repo's revision: the revision itself for a commit hash, else what refs/ says. */
    public Optional<String> commitFor(RepoId repo) {
        if (repo.isCommit()) {
            return Optional.of(repo.revision());
        }
        Path ref = repoDir(repo).resolve("refs").resolve(repo.revision());
        try {
            if (Files.isRegularFile(ref)) {
                String commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
                return commit.isEmpty() ? Optional.empty() : Optional.of(commit);
            }
        } catch (IOException e) {
            // An unreadable ref is treated as a cache miss.
        }
        return Optional.empty();
    }

    public void writeRef(RepoId repo, String commit) throws IOException {
        if (repo.isCommit()) {
            return;
        }
        Path ref = repoDir(repo).resolve("refs").resolve(repo.revision());
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling(ref.getFileName() + ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        moveAtomically(tmp, ref);
    }

    /** True when the snapshot entry exists and, for a link, the blob behind it exists too. */
    public boolean hasSnapshotFile(RepoId repo, String commit, String filename) {
        return Files.isRegularFile(snapshotFile(repo, commit, filename));
    }

    /** Makes snapshots/{commit}/{filename} point at the blob. */
    public Path link(RepoId repo, String commit, String filename, Path blob) throws IOException {
        Path target = snapshotFile(repo, commit, filename);
        Files.createDirectories(target.getParent());
        // A dangling link or an old copy from an interrupted run would make createSymbolicLink fail.
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(target);
        }
        try {
            // Relative, so the cache still works when the whole directory is moved or mounted elsewhere.
            Files.createSymbolicLink(target, target.getParent().relativize(blob));
        } catch (UnsupportedOperationException | FileSystemException e) {
            // Windows without developer mode, some network file systems: fall back to a copy.
            Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
            Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            moveAtomically(tmp, target);
        }
        return target;
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Makes a rename durable; not every platform can open a directory, so failures are ignored. */
    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            // best effort
        }
    }
}
