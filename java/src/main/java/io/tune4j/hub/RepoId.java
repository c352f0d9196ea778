package io.tune4j.hub;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Hugging Face model repository and the revision (branch, tag or commit) to use. */
public record RepoId(String owner, String name, String revision) {

    public static final String DEFAULT_REVISION = "main";

    // Stricter than the hub on purpose: both parts end up in cache directory names and URLs, and
    // "--" is the separator of the cache layout (models--owner--name), so the hub forbids it too.
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?");
    private static final Pattern SPEC = Pattern.compile("([^/@\\s]+)/([^/@\\s]+)(?:@(\\S+))?");
    // The revision becomes a path under refs/, so anything that could climb out of it is refused.
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._+-]+(?:/[A-Za-z0-9._+-]+)*");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public RepoId {
        if (!validPart(owner) || !validPart(name)) {
            throw new IllegalArgumentException("invalid repo id '" + owner + "/" + name + "'");
        }
        if (!validRevision(revision)) {
            throw new IllegalArgumentException("invalid revision '" + revision + "'");
        }
    }

    /** Parses {@code owner/name[@revision]}; empty when spec does not have that shape. */
    public static Optional<RepoId> parse(String spec) {
        if (spec == null) {
            return Optional.empty();
        }
        Matcher m = SPEC.matcher(spec.trim());
        if (!m.matches()) {
            return Optional.empty();
        }
        String revision = m.group(3) == null ? DEFAULT_REVISION : m.group(3);
        if (!validPart(m.group(1)) || !validPart(m.group(2)) || !validRevision(revision)) {
            return Optional.empty();
        }
        return Optional.of(new RepoId(m.group(1), m.group(2), revision));
    }

    /** "owner/name", as the hub spells it in URLs. */
    public String repo() {
        return owner + "/" + name;
    }

    /** True when the revision is a full commit hash, which never moves and needs no refs/ entry. */
    public boolean isCommit() {
        return COMMIT.matcher(revision).matches();
    }

    @Override
    public String toString() {
        return DEFAULT_REVISION.equals(revision) ? repo() : repo() + "@" + revision;
    }

    private static boolean validPart(String s) {
        return s != null && PART.matcher(s).matches() && !s.contains("--") && !s.contains("..");
    }

    private static boolean validRevision(String s) {
        if (s == null || !REVISION.matcher(s).matches()) {
            return false;
        }
        for (String seg : s.split("/")) {
            if (seg.equals(".") || seg.equals("..")) {
                return false;
            }
        }
        return true;
    }
}
