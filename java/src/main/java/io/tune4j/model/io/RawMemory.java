package io.tune4j.model.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/** Byte-level access to native memory by raw address (package-private helper). */
final class RawMemory {
    private RawMemory() {}

    /** A little-endian direct buffer over [address, address + bytes); bytes must fit an int. */
    static ByteBuffer buffer(long address, long bytes) {
        if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("buffer of " + bytes + " bytes");
        if (bytes == 0) return ByteBuffer.allocateDirect(0);
        return new BytePointer(new Raw(address)).capacity(bytes).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    static void copy(long dst, long src, long bytes) {
        if (bytes == 0) return;
        Pointer.memcpy(new Raw(dst), new Raw(src), bytes);
    }

    private static final class Raw extends Pointer {
        Raw(long address) {
            this.address = address;
        }
    }
}
