package io.tune4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tune4j.model.LoadedModel;
import io.tune4j.ops.cpu.CpuOps;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The job queue across restarts: a server stopped mid-job and a new one started on the same data
 * directory resumes the job from its checkpoint (not from step 0), keeps the queued job queued,
 * and registers the adapters of succeeded jobs again.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class JobsRestartTest {
    static final String ADMIN = "admin-key-123";

    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    /** A server over its own copy of the model (the caller owns the model; each server gets one). */
    InferenceServer start(Path dataDir, long stepPauseMillis) {
        Path modelDir = TestModel.require("models/" + JobsClient.BASE);
        LoadedModel m = LoadedModel.load(modelDir, null, CpuOps.INSTANCE);
        open.add(m);
        ServerOptions o = new ServerOptions();
        o.port = 0;
        o.keys = ApiKeys.of(Map.of(ADMIN, Set.of(ApiKeys.Scope.ADMIN)));
        o.dataDir = dataDir;
        o.jobStepPauseMillis = stepPauseMillis;
        InferenceServer s = InferenceServer.start(m, modelDir, o, new PrintStream(OutputStream.nullOutputStream()));
        open.add(s);
        return s;
    }

    @Test
    void aServerRestartedMidJobResumesFromTheCheckpointAndKeepsTheQueue() throws Exception {
        Path dataDir = Files.createTempDirectory("tune4j-jobs-restart");
        InferenceServer first = start(dataDir, 150);
        JobsClient c = new JobsClient(first.uri(), ADMIN);
        String file = c.uploadId(JobsClient.alpacaJsonl(40, 0));
        String running = c.create(JobsClient.loraJob(file, null, 12)).get("id").asText();
        String queued = c.create(JobsClient.loraJob(file, null, 2)).get("id").asText();
        long t0 = System.nanoTime();
        c.waitFor(running, j -> j.get("step").asInt() >= 3, Duration.ofSeconds(60)); // past the checkpoint at step 2
        assertTrue(c.events(running).stream().anyMatch(e -> e.get("message").asText().equals("Checkpoint written at step 2")));

        first.close(); // the running job checkpoints and stays running on disk
        JsonNode onDisk = JobsClient.JSON.readTree(dataDir.resolve("jobs").resolve(running).resolve("job.json").toFile());
        assertEquals("running", onDisk.get("status").asText());
        int stoppedAt = onDisk.get("step").asInt();
        assertTrue(stoppedAt >= 2 && stoppedAt < 12, onDisk.toString());

        InferenceServer second = start(dataDir, 150);
        c.uri = second.uri();
        assertEquals("queued", c.get("/v1/fine_tuning/jobs/" + queued).get("status").asText());
        JsonNode done = c.waitForStatus(running, "succeeded");
        System.err.println("JobsRestartTest: 12-step job across a restart took " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertEquals(12, done.get("step").asInt());

        // after the restart it went on from the checkpoint: no step at or before it was trained again
        List<JsonNode> events = c.events(running);
        int resumedAt = -1;
        List<Integer> stepsAfter = new ArrayList<>();
        for (JsonNode e : events) {
            String msg = e.get("message").asText();
            if (msg.startsWith("Resumed training from the checkpoint at step ")) resumedAt = e.get("data").get("step").asInt();
            else if (resumedAt >= 0 && e.get("type").asText().equals("metrics")) stepsAfter.add(e.get("data").get("step").asInt());
        }
        assertTrue(resumedAt >= 2, events.toString());
        assertEquals(resumedAt + 1, stepsAfter.get(0), events.toString());
        assertEquals(12, stepsAfter.get(stepsAfter.size() - 1));
        assertEquals(12 - resumedAt, stepsAfter.size());
        assertTrue(events.stream().anyMatch(e -> e.get("message").asText().startsWith("The server is stopping")));

        JsonNode second2 = c.waitForStatus(queued, "succeeded");
        String a = done.get("fine_tuned_model").asText();
        String b = second2.get("fine_tuned_model").asText();
        assertTrue(c.modelIds().containsAll(List.of(a, b)));

        // and a third server registers both adapters again
        second.close();
        InferenceServer third = start(dataDir, 0);
        c.uri = third.uri();
        assertTrue(c.modelIds().containsAll(List.of(a, b)), c.modelIds().toString());
        c.complete(a, "Once upon a time", 8);
        assertEquals("succeeded", c.get("/v1/fine_tuning/jobs/" + running).get("status").asText());
    }

    @Test
    void aSecondServerOnTheSameDataDirectoryIsRefused() throws Exception {
        Path dataDir = Files.createTempDirectory("tune4j-jobs-lock");
        start(dataDir, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> start(dataDir, 0));
        assertTrue(e.getMessage().contains("another server"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }

    @Test
    void aMissingDataDirectoryIsCreatedPrivate() throws Exception {
        Path parent = Files.createTempDirectory("tune4j-jobs-new");
        Path dataDir = parent.resolve("a").resolve("data");
        InferenceServer s = start(dataDir, 0);
        assertTrue(Files.isDirectory(dataDir));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir)));
        assertTrue(new JobsClient(s.uri(), ADMIN).modelIds().contains(JobsClient.BASE));
        Path file = Files.writeString(parent.resolve("file"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> start(file, 0));
        assertEquals("--data-dir " + file + ": exists but is not a directory", e.getMessage());
    }
}
