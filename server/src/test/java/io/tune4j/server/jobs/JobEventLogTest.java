package io.tune4j.server.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The event log on disk: replay then follow, and what a crash mid-append leaves behind. */
class JobEventLogTest {
    @Test
    void aTornLastLineIsSkippedAndCutAwayByTheNextAppend() throws Exception {
        Path file = Files.createTempDirectory("tune4j-events").resolve("events.jsonl");
        JobEventLog log = new JobEventLog(file);
        log.append("info", "message", "created", null);
        log.append("info", "metrics", "step 1", Map.of("step", 1));
        log.close();
        Files.writeString(file, "{\"seq\":3,\"createdAt\":1,\"lev", StandardCharsets.UTF_8, StandardOpenOption.APPEND);

        JobEventLog reopened = new JobEventLog(file);
        assertEquals(2, reopened.all().size());
        JobEvent third = reopened.append("info", "metrics", "step 2", Map.of("step", 2));
        assertEquals(3, third.seq());
        reopened.close();
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size(), lines.toString());
        assertTrue(lines.get(2).contains("\"step 2\""), lines.toString());
        assertEquals(3, new JobEventLog(file).all().size());
    }

    @Test
    void watchersReplayThenFollowAndHearTheEndOnce() throws Exception {
        JobEventLog log = new JobEventLog(Files.createTempDirectory("tune4j-events").resolve("events.jsonl"));
        log.append("info", "message", "one", null);
        log.append("info", "message", "two", null);
        List<Long> seen = new ArrayList<>();
        List<String> ends = new ArrayList<>();
        JobEventListener l = new JobEventListener() {
            @Override
            public void onEvent(JobEvent e) {
                seen.add(e.seq());
            }

            @Override
            public void onEnd(JobInfo job) {
                ends.add(job.status());
            }
        };
        log.watch(1, l);
        log.append("info", "message", "three", null);
        JobInfo done = new JobInfo("ftjob-x", "m", "succeeded", 1, 2L, "file-x", null, "lora", "ft:m:x", 0, 1, 1, null);
        log.end(done);
        assertNull(log.append("info", "message", "after the end", null));
        assertEquals(List.of(2L, 3L), seen);
        assertEquals(List.of("succeeded"), ends);
        log.watch(0, l); // a job that ended: the whole replay, then the end at once
        assertEquals(List.of(2L, 3L, 1L, 2L, 3L), seen);
        assertEquals(List.of("succeeded", "succeeded"), ends);
    }
}
