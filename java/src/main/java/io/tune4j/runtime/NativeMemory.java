package io.tune4j.runtime;

import java.util.concurrent.atomic.LongAdder;

/**
 * The one way to native host memory: every allocation ({@code t4j_alloc}) and file mapping
 * ({@code t4j_mmap}) goes through here and is counted, so that a process can report how much it
 * holds (the server's {@code /metrics}). The heap cannot show this: tensors live outside it.
 *
 * <p>Counts are the bytes asked for: the allocator's rounding and the pages of a mapping that were
 * never touched are included or left out as the caller sees them, not as the kernel does.
 */
public final class NativeMemory {
    private static final LongAdder ALLOCATED = new LongAdder();
    private static final LongAdder MAPPED = new LongAdder();
    private static final LongAdder ALLOCATIONS = new LongAdder();

    private NativeMemory() {}

    /** Allocates bytes (64-byte aligned); 0 when the allocation failed. */
    public static long allocate(long bytes) {
        long address = NativeLib.t4j_alloc(bytes);
        if (address != 0) {
            ALLOCATED.add(bytes);
            ALLOCATIONS.increment();
        }
        return address;
    }

    /** Frees what {@link #allocate} returned for the same byte count. */
    public static void free(long address, long bytes) {
        NativeLib.t4j_free(address);
        ALLOCATED.add(-bytes);
    }

    /** Maps a whole file copy-on-write; its size goes into sizeOut[0]. 0 when it cannot be mapped. */
    public static long map(String path, long[] sizeOut) {
        long address = NativeLib.t4j_mmap(path, sizeOut);
        if (address != 0) MAPPED.add(sizeOut[0]);
        return address;
    }

    /** Unmaps what {@link #map} returned, with the size it reported. */
    public static void unmap(long address, long bytes) {
        NativeLib.t4j_munmap(address, bytes);
        MAPPED.add(-bytes);
    }

    /** Bytes allocated and not yet freed. */
    public static long allocatedBytes() {
        return ALLOCATED.sum();
    }

    /** How many host allocations succeeded since the process started: a training or decoding step adds none. */
    public static long allocations() {
        return ALLOCATIONS.sum();
    }

    /** Bytes of files mapped and not yet unmapped. */
    public static long mappedBytes() {
        return MAPPED.sum();
    }
}
