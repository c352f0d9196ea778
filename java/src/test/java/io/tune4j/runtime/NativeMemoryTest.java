package io.tune4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tune4j.model.io.SafetensorsFile;
import io.tune4j.tensor.Arena;
import io.tune4j.tensor.DType;
import io.tune4j.tensor.Device;
import io.tune4j.tensor.Tensor;
import io.tune4j.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The native memory counts: what is allocated or mapped shows, and closing takes it back exactly. */
class NativeMemoryTest {
    @Test
    void tensorsCountWhileOpenAndViewsNever() {
        long before = NativeMemory.allocatedBytes();
        Tensor a = Tensor.allocate(DType.F32, 10, 100);
        Tensor b = Tensor.zeros(7);
        assertEquals(before + 4000 + 28, NativeMemory.allocatedBytes());
        Tensor view = a.view(1000);
        Tensor.wrap(a.address(), DType.F32, Device.CPU, 10).close();
        view.close();
        assertEquals(before + 4028, NativeMemory.allocatedBytes(), "views and wrapped memory own nothing");
        a.close();
        a.close();
        assertEquals(before + 28, NativeMemory.allocatedBytes(), "a second close frees nothing");
        b.close();
        assertEquals(before, NativeMemory.allocatedBytes());
    }

    @Test
    void anArenaGivesBackEverything() {
        long before = NativeMemory.allocatedBytes();
        try (Arena arena = new Arena()) {
            arena.f32(64, 64);
            arena.i32(5);
            arena.zeros(3, 3);
            assertEquals(before + 64 * 64 * 4 + 20 + 36, NativeMemory.allocatedBytes());
        }
        assertEquals(before, NativeMemory.allocatedBytes());
    }

    @Test
    void concurrentAllocationsAndFreesBalance() throws Exception {
        long before = NativeMemory.allocatedBytes();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int size = 16 + t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 2000; i++) Tensor.allocate(DType.F32, size).close();
                }));
            }
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdown();
        }
        assertEquals(before, NativeMemory.allocatedBytes());
    }

    @Test
    void aMappedFileCountsItsSizeUntilClosed() throws Exception {
        Path file = Fixtures.require("models/stories260K-hf/model.safetensors");
        long before = NativeMemory.mappedBytes();
        long allocatedBefore = NativeMemory.allocatedBytes();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(before + Files.size(file), NativeMemory.mappedBytes());
            assertEquals(allocatedBefore, NativeMemory.allocatedBytes(), "mapping allocates nothing");
        }
        assertEquals(before, NativeMemory.mappedBytes());
    }
}
