package io.tune4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class RepoIdTest {

    @Test
    void parsesOwnerNameAndRevision() {
        assertEquals(new RepoId("TinyLlama", "TinyLlama-1.1B-Chat-v1.0", "main"),
                RepoId.parse("TinyLlama/TinyLlama-1.1B-Chat-v1.0").orElseThrow());
        RepoId r = RepoId.parse("meta-llama/Llama-3.2-1B@refs/pr/12").orElseThrow();
        assertEquals("refs/pr/12", r.revision());
        assertEquals("meta-llama/Llama-3.2-1B@refs/pr/12", r.toString());
        assertFalse(r.isCommit());
        assertTrue(RepoId.parse("a/b@0123456789abcdef0123456789abcdef01234567").orElseThrow().isCommit());
    }

    @Test
    void rejectsWhatIsNotARepoId() {
        for (String s : List.of("", "name", "/abs/path", "a/b/c", "./a", "a/b@", "a/b@x y", "a/b@../x", "a/b@x/../y",
                "a--b/c", "a/.hidden", "a/b.", "-a/b", "a/b@/x", "C:\\models\\x")) {
            assertTrue(RepoId.parse(s).isEmpty(), s);
        }
    }
}
