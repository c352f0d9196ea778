package io.tune4j.server;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** The server's data directory: created on first start, private to the server's user. */
final class DataDir {
    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> OWNER_ONLY =
            PosixFilePermissions.fromString("rwx------");

    private DataDir() {}

    /**
     * The real path of dir, creating it (and missing parents) first. Only the new directory gets
     * mode 0700: uploads and job outputs are the users' data, but parents may be shared on purpose.
     */
    static Path open(Path dir) {
        try {
            if (Files.notExists(dir)) {
                Path parent = dir.toAbsolutePath().getParent();
                if (parent != null) Files.createDirectories(parent);
                boolean created = true;
                try {
                    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                } catch (UnsupportedOperationException notPosix) {
                    Files.createDirectory(dir);
                    created = false;
                } catch (FileAlreadyExistsException raced) {
                    created = false; // another process made it between the check and here: use it as it is
                }
                // the umask cannot widen 0700, but set it exactly in case the file system ignored the attribute
                if (created) Files.setPosixFilePermissions(dir, OWNER_ONLY);
            }
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("--data-dir " + dir + ": exists but is not a directory");
            }
            return dir.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("--data-dir " + dir + ": cannot create the directory (" + e.getMessage() + ")");
        }
    }
}
