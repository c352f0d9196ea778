package io.tune4j.tensor;

import io.tune4j.runtime.NativeLib;
import io.tune4j.runtime.NativeMemory;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense row-major tensor in native memory. Memory is released by {@link #close()} (directly or
 * through the owning {@link Arena}), never by the garbage collector. A view ({@link #view}) shares
 * its parent's memory and owns nothing.
 */
public final class Tensor implements AutoCloseable {
    private final long address;
    private final long[] shape;
    private final long numel; // asked for by every op's checks, so computed once
    private final DType dtype;
    private final Device device;
    private final Runnable release;
    private boolean closed;

    private Tensor(long address, DType dtype, Device device, long[] shape, Runnable release) {
        this.address = address;
        this.dtype = dtype;
        this.device = device;
        this.shape = shape;
        this.numel = numel(shape);
        this.release = release;
    }

    /** Allocates an uninitialised CPU tensor. */
    public static Tensor allocate(DType dtype, long... shape) {
        long bytes = numel(shape) * dtype.bytes();
        long addr = NativeMemory.allocate(bytes);
        if (addr == 0) {
            throw new OutOfMemoryError("native allocation of " + bytes + " bytes failed for tensor "
                    + Arrays.toString(shape));
        }
        return new Tensor(addr, dtype, Device.CPU, shape.clone(), () -> NativeMemory.free(addr, bytes));
    }

    /** Allocates a CPU F32 tensor filled with zeros. */
    public static Tensor zeros(long... shape) {
        Tensor t = allocate(DType.F32, shape);
        t.fill(0f);
        return t;
    }

    /** Wraps memory owned elsewhere (a memory-mapped file, another tensor); closing it does nothing. */
    public static Tensor wrap(long address, DType dtype, Device device, long... shape) {
        return new Tensor(address, dtype, device, shape.clone(), null);
    }

    /** Wraps memory and takes ownership: {@code release} runs once on close. */
    public static Tensor owning(long address, DType dtype, Device device, Runnable release, long... shape) {
        return new Tensor(address, dtype, device, shape.clone(), release);
    }

    public static Tensor of(float[] values, long... shape) {
        if (numel(shape) != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + values.length + " values");
        }
        Tensor t = allocate(DType.F32, shape);
        t.floats().put(values);
        return t;
    }

    public static Tensor ofInts(int[] values, long... shape) {
        if (numel(shape) != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + values.length + " values");
        }
        Tensor t = allocate(DType.I32, shape);
        t.ints().put(values);
        return t;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    public long address() {
        ensureOpen();
        return address;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return numel;
    }

    public long bytes() {
        return numel() * dtype.bytes();
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    /** A tensor over the same memory with another shape of equal size. */
    public Tensor view(long... newShape) {
        if (numel(newShape) != numel()) {
            throw new IllegalArgumentException("cannot view " + Arrays.toString(shape) + " as " + Arrays.toString(newShape));
        }
        return new Tensor(address(), dtype, device, newShape.clone(), null);
    }

    /** Rows [from, to) along the first dimension, sharing memory. */
    public Tensor slice(long from, long to) {
        if (from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + "," + to + ") of dimension " + shape[0]);
        }
        long[] s = shape.clone();
        s[0] = to - from;
        long rowBytes = numel() / Math.max(1, shape[0]) * dtype.bytes();
        return new Tensor(address() + from * rowBytes, dtype, device, s, null);
    }

    /**
     * The first n rows along the first dimension: this tensor where it has exactly n, else a view. Ops take
     * operands of exactly the rows they use, and callers with buffers sized for more pass this.
     */
    public Tensor rows(long n) {
        return shape[0] == n ? this : slice(0, n);
    }

    public void fill(float value) {
        requireCpu();
        requireDType(DType.F32);
        NativeLib.t4j_fill(address(), value, numel());
    }

    public void copyFrom(Tensor src) {
        requireCpu();
        if (src.bytes() != bytes()) {
            throw new IllegalArgumentException("copy of " + src.bytes() + " bytes into " + bytes());
        }
        Pointer.memcpy(pointer(), src.pointer(), bytes());
    }

    /** A direct buffer over this tensor's memory (CPU, F32, at most 2^31-1 elements). */
    public FloatBuffer floats() {
        requireCpu();
        requireDType(DType.F32);
        return pointer().capacity(bytes()).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    public IntBuffer ints() {
        requireCpu();
        requireDType(DType.I32);
        return pointer().capacity(bytes()).asByteBuffer().order(ByteOrder.nativeOrder()).asIntBuffer();
    }

    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        floats().get(out);
        return out;
    }

    public int[] toIntArray() {
        int[] out = new int[Math.toIntExact(numel())];
        ints().get(out);
        return out;
    }

    public float get(long i) {
        return floats().get(Math.toIntExact(i));
    }

    private BytePointer pointer() {
        return new BytePointer(new RawPointer(address()));
    }

    private void requireCpu() {
        if (device != Device.CPU) throw new IllegalStateException("tensor lives on " + device + ", not CPU");
    }

    private void requireDType(DType expected) {
        if (dtype != expected) throw new IllegalStateException("tensor holds " + dtype + ", expected " + expected);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("tensor " + Arrays.toString(shape) + " was closed");
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (release != null) release.run();
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + ":" + dtype + "@" + device;
    }

    /** Lets JavaCPP's buffer views see a raw address. */
    private static final class RawPointer extends Pointer {
        RawPointer(long address) {
            this.address = address;
        }
    }
}
